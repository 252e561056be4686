"""The bench's goal column: issue 12's goals, throughput as a ratio to the pgbench ceiling of the same run."""

from ledger_cli.bench.measure import Tally
from ledger_cli.bench.monitor import Window
from ledger_cli.bench.options import CEILING_KIND, GOALS, SCENARIOS
from ledger_cli.bench.report import ScenarioResult, _goal


def _result(name: str, *, per_second: float, ceiling: float | None, latency_ms: float = 10.0) -> ScenarioResult:
    tally = Tally(latencies=[latency_ms / 1000] * int(per_second), seconds=1.0)
    return ScenarioResult(name, tally, Window(first_sample=0, cpu_start={}, rss_start={}), ceiling)


def test_throughput_goals_are_ratios_to_a_ceiling() -> None:
    assert set(GOALS) <= set(SCENARIOS)
    for name, (figure, _, minimum) in GOALS.items():
        if figure == "ratio":
            assert minimum and name in CEILING_KIND


def test_a_ratio_goal_is_met_or_not_by_the_ratio() -> None:
    assert _result("amqp-uniform", per_second=600, ceiling=1000).goal() == ("ratio >= 0.6", True)
    assert _result("amqp-uniform", per_second=599, ceiling=1000).goal() == ("ratio >= 0.6", False)
    assert _goal(_result("http", per_second=400, ceiling=1000)) == "ratio>=0.35 ok"


def test_without_a_ceiling_a_ratio_goal_is_not_met() -> None:
    assert _result("amqp-hot", per_second=5000, ceiling=None).goal() == ("ratio >= 0.7", False)


def test_latency_goals_read_the_p99() -> None:
    assert _result("idle", per_second=200, ceiling=None, latency_ms=19).goal() == ("p99_ms <= 20", True)
    assert _goal(_result("latency", per_second=200, ceiling=None, latency_ms=150)) == "p99<=100ms no"
