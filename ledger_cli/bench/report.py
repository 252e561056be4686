"""The bench's report: the command, the settings, the pgbench ceiling, then one table of figures per
scenario and two of what each process spent (CPU seconds, memory); or all of it as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from ledger_cli.bench.ceiling import Ceiling
from ledger_cli.bench.measure import Tally
from ledger_cli.bench.monitor import Window
from ledger_cli.bench.options import CEILING_KIND, GOALS, Options


@dataclass
class ScenarioResult:
    """One scenario's tally, what the monitor saw meanwhile, and the ceiling it is compared with."""

    name: str
    tally: Tally
    window: Window
    ceiling_tps: float | None

    @property
    def ratio(self) -> float | None:
        if not self.ceiling_tps:
            return None
        return round(self.tally.per_second / self.ceiling_tps, 3)

    def goal(self) -> tuple[str, bool | None]:
        """The issue's goal for this scenario (``ratio >= 0.6``) and whether it was met (None: no goal)."""
        if self.name not in GOALS:
            return "", None
        figure, limit, minimum = GOALS[self.name]
        value = self.ratio if figure == "ratio" else self.tally.percentiles_ms()[figure]
        if value is None:
            return f"{figure} {'>=' if minimum else '<='} {limit:g}", False
        return f"{figure} {'>=' if minimum else '<='} {limit:g}", value >= limit if minimum else value <= limit

    def as_dict(self) -> dict[str, Any]:
        t = self.tally
        goal, met = self.goal()
        return {
            "scenario": self.name,
            "completed": t.completed,
            "seconds": round(t.seconds, 2),
            "per_second": round(t.per_second, 1),
            **t.percentiles_ms(),
            "refused": t.refused,
            "failed": t.failed,
            "statuses": dict(sorted(t.statuses.items())),
            "outbox_backlog_max": self.window.backlog_max,
            "outbox_backlog_end": self.window.backlog_end,
            "ceiling": CEILING_KIND.get(self.name),
            "ceiling_tps": self.ceiling_tps,
            "ratio_to_ceiling": self.ratio,
            "cpu_ms_per_command": {k: round(v, 4) for k, v in per_command_ms(self).items()},
            "goal": goal or None,
            "goal_met": met,
            "schedule_lag_ms": round(t.schedule_lag * 1000, 1) if self.name == "latency" else None,
            "processes": {name: asdict(u) for name, u in self.window.usage.items()},
        }


@dataclass
class Report:
    command: str
    options: Options
    target: dict[str, Any]  # mode, database, namespace, gateway
    settings: dict[str, Any]  # the processes' settings (nothing secret)
    ceiling: Ceiling | None
    scenarios: list[ScenarioResult] = field(default_factory=list)
    unexpected_exits: dict[str, int] = field(default_factory=dict)
    audit_findings: list[str] | None = None
    #: CPUs and the 1-minute load average at the start and end: figures from a busy machine say so.
    machine: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """No failed command, no process died, and the audit (if run) is clean."""
        failed = sum(s.tally.failed for s in self.scenarios)
        return failed == 0 and not self.unexpected_exits and not self.audit_findings

    def as_dict(self) -> dict[str, Any]:
        ceiling = None if self.ceiling is None else asdict(self.ceiling)
        return {
            "ok": self.ok,
            "command": self.command,
            "options": self.options.as_dict(),
            "target": self.target,
            "machine": self.machine,
            "settings": self.settings,
            "ceiling": ceiling,
            "scenarios": [s.as_dict() for s in self.scenarios],
            "unexpected_exits": self.unexpected_exits,
            "audit_findings": self.audit_findings,
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)

    def to_text(self) -> str:
        lines = [self.command, *_header(self), "", *_figures(self.scenarios)]
        seen = self.scenarios[0].window.usage if self.scenarios else {}
        names = sorted((n for n in seen if _has_cpu(self, n)), key=_column_order)
        if names:
            lines += ["", "CPU seconds over the scenario (% of one core)", *_cpu(self.scenarios, names)]
            lines.append("(postgres: the backends serving the run's database; rabbitmq-server: the whole broker)")
            lines += ["", "CPU ms per completed command; ours = gateway + workers + relays, servers = postgres +"]
            lines += [" rabbitmq-server (issue 12's goal: ours/servers <= 0.6 over AMQP, <= 1.0 over HTTP)"]
            lines += _per_command(self.scenarios, names)
            mem = [n for n in names if self.scenarios[0].window.usage[n].rss_end_mb is not None]
            lines += ["", "resident MiB: scenario start -> end (peak since the process started)"]
            lines += _memory(self.scenarios, mem)
        if self.unexpected_exits:
            lines.append(f"UNEXPECTED EXITS: {self.unexpected_exits}")
        if self.audit_findings is not None:
            audit = "clean" if not self.audit_findings else f"{len(self.audit_findings)} finding(s)"
            lines.append(f"ledger audit after the run: {audit} {self.audit_findings[:5] or ''}".rstrip())
        return "\n".join(lines)


def _header(r: Report) -> list[str]:
    o = r.options
    target = ", ".join(f"{k} {v}" for k, v in r.target.items() if k != "mode")
    settings = " ".join(f"{k.upper()}={v}" for k, v in r.settings.items()) or "those of the running system"
    m = r.machine
    rate = f"{o.rate:g}/s" if o.rate else f"{r.target.get('latency rate', 'half of amqp-uniform')}/s (auto)"
    lines = [
        f"target: {r.target.get('mode')}: {target}",
        f"machine: {m.get('cpus')} CPUs, load average (1 min) {m.get('load_start')} at the start,"
        f" {m.get('load_end')} at the end",
        f"options: {o.seconds:g} s per scenario, {o.accounts} accounts, concurrency {o.concurrency} (HTTP"
        f" {o.http_concurrency}), latency rate {rate}, idle commands {o.idle_commands}, seed {o.seed}",
        f"settings: {settings}",
    ]
    c = r.ceiling
    if c is None:
        lines.append("pgbench ceiling: not measured (--no-pgbench)")
    elif c.skipped:
        lines.append(f"pgbench ceiling: skipped, {c.skipped}; no ratios")
    else:
        tps = ", ".join(f"{kind} {v:.0f} tps" for kind, v in c.tps.items())
        lines.append(f"pgbench ceiling ({c.clients} clients, {c.seconds:g} s each): {tps}")
    return lines


def _fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def _figures(results: list[ScenarioResult]) -> list[str]:
    w = _width(results)
    head = (
        f"{'scenario':<{w}} {'completed':>9} {'secs':>6} {'per s':>7} {'ceiling':>9} {'ratio':>6} {'p50 ms':>7}"
        f" {'p95 ms':>7} {'p99 ms':>7} {'max ms':>8} {'refused':>7} {'failed':>6} {'outbox max/end':>14} {'goal':>17}"
    )
    rows = [head]
    for s in results:
        t, p = s.tally, s.tally.percentiles_ms()
        kind = CEILING_KIND.get(s.name, "")
        backlog = f"{_fmt(s.window.backlog_max, 'd')}/{_fmt(s.window.backlog_end, 'd')}"
        row = (
            f"{s.name:<{w}} {t.completed:>9} {t.seconds:>6.1f} {t.per_second:>7.0f} {kind:>9} {_fmt(s.ratio, '.2f'):>6}"
            f" {_fmt(p['p50_ms']):>7} {_fmt(p['p95_ms']):>7} {_fmt(p['p99_ms']):>7} {_fmt(p['max_ms']):>8}"
            f" {t.refused:>7} {t.failed:>6} {backlog:>14} {_goal(s):>17}"
        )
        if t.failed or s.name == "http":
            row += f"  {dict(sorted(t.statuses.items()))}"
        if s.name == "latency":
            row += f"  (schedule lag max {t.schedule_lag * 1000:.1f} ms)"
        rows.append(row.rstrip())
    return rows


def _goal(s: ScenarioResult) -> str:
    """``ratio>=0.6 no``, ``p99<=100ms ok``; empty without a goal."""
    if s.name not in GOALS:
        return ""
    figure, limit, minimum = GOALS[s.name]
    text = f"ratio>={limit:g}" if figure == "ratio" else f"{figure[:3]}{'>=' if minimum else '<='}{limit:g}ms"
    return f"{text} {'ok' if s.goal()[1] else 'no'}"


_COLUMNS = ("gateway", "worker", "relay", "floor", "bench", "postgres", "rabbitmq")


def _column_order(name: str) -> tuple[int, str]:
    """The run's processes in pipeline order, then the bench, then the servers."""
    rank = next((i for i, prefix in enumerate(_COLUMNS) if name.startswith(prefix)), len(_COLUMNS))
    return rank, name


def _has_cpu(r: Report, name: str) -> bool:
    return any(s.window.usage.get(name) and s.window.usage[name].cpu_seconds is not None for s in r.scenarios)


def _cpu(results: list[ScenarioResult], names: list[str]) -> list[str]:
    w = _width(results)
    rows = [f"{'scenario':<{w}}" + "".join(f" {n:>15}" for n in names)]
    for s in results:
        cells = []
        for n in names:
            cpu = s.window.usage[n].cpu_seconds if n in s.window.usage else None
            share = f"{cpu:.1f} ({100 * cpu / s.tally.seconds:.0f}%)" if cpu is not None and s.tally.seconds else "-"
            cells.append(f" {share:>15}")
        rows.append(f"{s.name:<{w}}" + "".join(cells))
    return rows


def per_command_ms(s: ScenarioResult) -> dict[str, float]:
    """CPU milliseconds per completed command of each measured process, and ``ours``, ``servers``, ``ratio``."""
    done = s.tally.completed
    ms = {n: 1000 * u.cpu_seconds / done for n, u in s.window.usage.items() if u.cpu_seconds is not None and done}
    ours = sum(v for n, v in ms.items() if n.startswith(("gateway", "worker", "relay")))
    servers = sum(v for n, v in ms.items() if n.startswith(("postgres", "rabbitmq")))
    if ms:
        ms.update(ours=ours, servers=servers, ratio=ours / servers if servers else 0.0)
    return ms


def _per_command(results: list[ScenarioResult], names: list[str]) -> list[str]:
    cols = [*names, "ours", "servers", "ratio"]
    w = _width(results)
    rows = [f"{'scenario':<{w}}" + "".join(f" {n:>15}" for n in cols)]
    for s in results:
        ms = per_command_ms(s)
        cells = (f" {_fmt(ms.get(n), '.2f' if n == 'ratio' else '.3f'):>15}" for n in cols)
        rows.append(f"{s.name:<{w}}" + "".join(cells))
    return rows


def _width(results: list[ScenarioResult]) -> int:
    return max([13, *(len(s.name) for s in results)])


def _memory(results: list[ScenarioResult], names: list[str]) -> list[str]:
    w = _width(results)
    rows = [f"{'scenario':<{w}}" + "".join(f" {n:>20}" for n in names)]
    for s in results:
        cells = []
        for n in names:
            u = s.window.usage.get(n)
            text = (
                "-"
                if u is None
                else f"{_fmt(u.rss_start_mb, '.0f')} -> {_fmt(u.rss_end_mb, '.0f')} ({_fmt(u.peak_rss_mb, '.0f')})"
            )
            cells.append(f" {text:>20}")
        rows.append(f"{s.name:<{w}}" + "".join(cells))
    return rows
