"""``ledger bench``: a short run of its own system reports every figure and no failure; the pieces it
stands on (account pairs, percentiles, the pgbench ceiling) do what the report says. No timing is
asserted: the figures depend on the machine."""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import uuid

import asyncpg
import pytest

from ledger_cli.bench.accounts import HOT, Accounts
from ledger_cli.bench.ceiling import measure
from ledger_cli.bench.measure import Tally
from ledger_cli.database import create_database, drop_database
from ledger_cli.processes import run_ledger
from tests.conftest import ADMIN_URL, AMQP_URL

pytestmark = pytest.mark.e2e

FIGURES = ("completed", "per_second", "p50_ms", "p95_ms", "p99_ms", "max_ms")


def test_bench_runs_its_own_system_and_reports_every_figure() -> None:
    env = dict(os.environ, ENVIRONMENT="test", DATABASE_URL=ADMIN_URL, AMQP_URL=AMQP_URL, LOG_LEVEL="WARNING")
    argv = ["bench", "--seconds", "2", "--accounts", "2000", "--scenario", "amqp-uniform", "--scenario", "http"]
    argv += ["--scenario", "http-floor"]
    done = run_ledger(*argv, "--no-pgbench", "--concurrency", "64", "--json", env=env, timeout=150, check=False)
    assert done.stdout, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["ok"], done.stderr[-3000:]
    assert report["command"].startswith("ledger bench --seconds 2")
    assert report["target"]["mode"] == "own system" and report["settings"]["log_level"] == "WARNING"
    assert report["ceiling"] is None  # --no-pgbench
    assert report["machine"]["cpus"] >= 1 and report["machine"]["load_start"] >= 0
    assert [s["scenario"] for s in report["scenarios"]] == ["amqp-uniform", "http", "http-floor"]
    floor = report["scenarios"][2]  # the bare FastAPI POST: its own process, measured like the gateway
    assert floor["completed"] > 0 and floor["failed"] == 0 and set(floor["statuses"]) == {"201"}
    assert floor["cpu_ms_per_command"]["floor"] > 0
    for s in report["scenarios"][:2]:
        assert all(s[name] is not None and s[name] > 0 for name in FIGURES), s
        assert s["failed"] == 0 and s["refused"] == 0, s
        assert s["outbox_backlog_max"] >= s["outbox_backlog_end"] >= 0
        assert s["ratio_to_ceiling"] is None
        for name in ("gateway", "worker-1", "relay-1", "bench"):
            usage = s["processes"][name]
            assert usage["cpu_seconds"] is not None and usage["peak_rss_mb"] > 0, (name, usage)
    http = report["scenarios"][1]
    assert set(http["statuses"]) == {"200"} and http["statuses"]["200"] == http["completed"]
    assert report["unexpected_exits"] == {} and report["audit_findings"] == []


def test_account_pairs_are_distinct_and_hot_pairs_touch_one_hot_account() -> None:
    accounts = Accounts([str(n) for n in range(40)])
    rng = random.Random(7)
    hot = set(accounts.ids[:HOT])
    for _ in range(2000):
        debit, credit = accounts.uniform_pair(rng)
        assert debit != credit
        pair = accounts.hot_pair(rng)
        assert len(hot & set(pair)) == 1
    sides = [accounts.hot_pair(rng)[0] in hot for _ in range(2000)]
    assert 0 < sum(sides) < len(sides)  # hot accounts are debited and credited


def test_percentiles_are_nearest_rank_in_milliseconds() -> None:
    tally = Tally(latencies=[n / 1000 for n in range(1, 101)], seconds=2.0)
    assert tally.percentiles_ms() == {"p50_ms": 50.0, "p95_ms": 95.0, "p99_ms": 99.0, "max_ms": 100.0}
    assert tally.per_second == 50.0
    assert Tally().percentiles_ms()["p99_ms"] is None


@pytest.mark.skipif(shutil.which("pgbench") is None, reason="pgbench is not installed")
def test_pgbench_ceiling_runs_both_kinds_in_a_scratch_schema() -> None:
    dsn = asyncio.run(create_database(ADMIN_URL, f"ledger_benchtest_{uuid.uuid4().hex[:10]}"))
    try:
        ceiling = asyncio.run(measure(dsn, schema="scratch", accounts=500, seconds=1))
        assert ceiling.skipped is None and set(ceiling.tps) == {"uniform", "hot"}
        assert all(tps > 0 for tps in ceiling.tps.values())
        assert asyncio.run(_schema_exists(dsn, "scratch")) is False  # dropped again
    finally:
        asyncio.run(drop_database(dsn))


async def _schema_exists(dsn: str, schema: str) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        return bool(await conn.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema))
    finally:
        await conn.close()
