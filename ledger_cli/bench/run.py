"""One bench run: the system (its own, or a running one), accounts, pgbench ceiling, scenarios, report.

Own system: create and migrate its database, create the accounts, measure the pgbench ceiling while
nothing else runs there, start the processes (``LOG_LEVEL=WARNING``, every other setting as the
environment gives it), warm up, run each scenario (letting the outbox drain in between), stop the
processes, run ``ledger audit`` and drop the database. Progress goes to stderr, the report to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from contracts.keys import KeySpec, RateLimit, Scope
from ledger_cli.audit import run_audit
from ledger_cli.bench import profile
from ledger_cli.bench.accounts import Accounts, create_accounts
from ledger_cli.bench.bus import Bus
from ledger_cli.bench.ceiling import Ceiling, measure
from ledger_cli.bench.floor import FloorServer
from ledger_cli.bench.measure import Tally
from ledger_cli.bench.monitor import Monitor
from ledger_cli.bench.options import CEILING_KIND, Options, command_line
from ledger_cli.bench.report import Report, ScenarioResult
from ledger_cli.bench.scenarios import RUNNERS, Context, warm_up
from ledger_cli.processes import Supervisor
from ledger_cli.system import OwnSystem
from ledger_common import keystore
from ledger_common.db import connect
from ledger_common.settings import Settings, settings_env

WARM_UP = 256
DRAIN_TIMEOUT = 60.0
#: Settings reported in the table's target line instead (or meaningless for the processes).
_NOT_SETTINGS = {"ledger_namespace", "http_host", "http_port"}


def _say(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


async def bench(settings: Settings, args: argparse.Namespace) -> int:
    """Run the chosen scenarios and print the report; 1 if a command failed or a process died."""
    if args.recon:
        from ledger_cli.bench.recon import recon_bench

        return await recon_bench(settings, args.recon_lines, keep=args.keep, as_json=args.json)
    if args.log:
        from ledger_cli.bench.log import log_bench

        return await log_bench(settings, args.events, own_broker=not args.shared_broker, as_json=args.json)
    opts = Options.from_args(args)
    for noisy in ("httpx", "alembic"):  # a line per request, a line per migration
        logging.getLogger(noisy).setLevel(logging.WARNING)
    load_start = os.getloadavg()[0]
    report = await (_external(settings, opts) if opts.external else _own(settings, opts))
    load_end = os.getloadavg()[0]
    report.machine = {"cpus": os.cpu_count(), "load_start": round(load_start, 2), "load_end": round(load_end, 2)}
    print(report.to_json() if opts.json else report.to_text(), flush=True)
    return 0 if report.ok else 1


def process_settings(settings: Settings) -> dict[str, Any]:
    """The processes' settings worth reporting: everything but secrets, addresses and names."""
    values = {name: getattr(settings, name) for name in type(settings).model_fields if name not in _NOT_SETTINGS}
    return {name: v for name, v in values.items() if not isinstance(v, SecretStr)}


async def _own(settings: Settings, opts: Options) -> Report:
    own = await OwnSystem.create(settings, prefix="bench")
    direct = own.direct.model_copy(update={"command_partitions": opts.partitions})
    run_settings = direct.model_copy(update={"log_level": "WARNING"})
    processes = own.processes(run_settings)
    processes.own_partitions([f"worker-{n}" for n in range(1, opts.workers + 1)])
    supervisor = Supervisor(processes)
    ok = False
    try:
        _say(f"database {own.database}: creating {opts.accounts} accounts")
        accounts = await create_accounts(own.dsn, count=opts.accounts, owner=f"bench-{own.run_id}")
        ceiling = await _ceiling(own.dsn, opts, own.run_id)
        names = [f"worker-{n}" for n in range(1, opts.workers + 1)] + [f"relay-{n}" for n in range(1, opts.relays + 1)]

        async def start(env: dict[str, str]) -> None:
            await supervisor.stop_all()
            for name in [*names, "gateway"]:
                processes.overrides.setdefault(name, {}).update(env)
            await asyncio.gather(*(supervisor.start(name) for name in names))
            await supervisor.start("gateway")

        await start({})
        target = {
            "mode": "own system",
            "database": own.database,
            "namespace": own.direct.ledger_namespace,
            "gateway": supervisor.base_url,
            "workers": opts.workers,
            "relays": opts.relays,
            "partitions": opts.partitions,
        }
        proc_settings = process_settings(run_settings)
        report = Report(command_line(), opts, target, proc_settings, ceiling)

        def pids() -> dict[str, int]:
            return {name: pid for name in supervisor.names if (pid := supervisor.pid(name)) is not None}

        await _scenarios(report, direct, supervisor.base_url, accounts, own.run_id, pids)
        baseline, touched = settings_env(run_settings), set[str]()
        # The same scenarios with each lever off, then as at first again: the machine drifts (and a first
        # pass runs on colder caches), so a difference smaller than the two baseline passes' is noise.
        passes = [*opts.compare, "baseline again"] if opts.compare else []
        for n, variant in enumerate(passes, start=1):
            _say(f"again: {variant}")
            env = opts.variant_env(variant) if variant in opts.compare else {}
            touched |= set(env)
            await start({**{k: baseline[k] for k in touched}, **env})
            # A run id of its own: the first pass's command ids would only be replayed.
            await _scenarios(report, direct, supervisor.base_url, accounts, f"{own.run_id}v{n}", pids, variant=variant)
        report.unexpected_exits = dict(supervisor.unexpected_exits)
        await supervisor.stop_all()
        report.audit_findings = await _audit(own.dsn)
        ok = report.ok
        return report
    finally:
        await supervisor.stop_all()
        await own.destroy(keep=opts.keep, keep_logs=opts.keep or not ok, queues=direct.topology.command_queues)
        if opts.keep or not ok:
            _say(f"database {own.database}{' (dropped)' if not opts.keep else ''}, logs in {own.logdir}")


async def _external(settings: Settings, opts: Options) -> Report:
    run_id = uuid.uuid4().hex[:10]
    dsn = settings.database_url.get_secret_value()
    url = opts.url or f"http://{settings.http_host}:{settings.http_port}"
    database = urlsplit(dsn).path.lstrip("/")
    _say(f"database {database}: creating {opts.accounts} accounts (owner bench-{run_id})")
    accounts = await create_accounts(dsn, count=opts.accounts, owner=f"bench-{run_id}")
    ceiling = await _ceiling(dsn, opts, run_id)
    target = {"mode": "external", "database": database, "namespace": settings.ledger_namespace, "gateway": url}
    report = Report(command_line(), opts, target, {}, ceiling)
    await _scenarios(report, settings, url, accounts, run_id, dict)
    return report


async def _ceiling(dsn: str, opts: Options, run_id: str) -> Ceiling | None:
    if not opts.pgbench:
        return None
    _say(f"pgbench ceiling: 2 x {opts.pgbench_seconds:g} s")
    return await measure(dsn, schema=f"bench_ceiling_{run_id}", accounts=opts.accounts, seconds=opts.pgbench_seconds)


async def _scenarios(
    report: Report,
    settings: Settings,
    http_url: str,
    accounts: Accounts,
    run_id: str,
    processes: Callable[[], dict[str, int]],
    *,
    variant: str = "",
) -> None:
    """Warm up, then run each scenario inside a monitor window and add its result to ``report``
    (named ``<scenario> [<variant>]`` for a ``--compare`` pass)."""
    opts = report.options
    floor = await FloorServer.start() if "http-floor" in opts.scenarios else None
    bus = await Bus.open(settings, f"bench-{run_id}")

    def measured() -> dict[str, int]:
        return {**processes(), **({"floor": floor.pid} if floor else {})}

    monitor = Monitor(settings.database_url.get_secret_value(), measured)
    token = await http_key(settings, run_id)
    ctx = Context(bus, accounts, opts, run_id, http_url, token, random.Random(opts.seed), rate=opts.rate or 500.0)
    ctx.floor_url = floor.url if floor else None
    try:
        await monitor.start()
        warm = await warm_up(ctx, WARM_UP)
        if warm.failed:
            raise SystemExit(f"ledger bench: warm-up got no event for {warm.failed} of {WARM_UP} transfers")
        for name in opts.scenarios:
            await _drain(monitor)
            _say(f"{name}: running")
            label = f"{name} [{variant}]" if variant else name
            recordings = (
                await profile.record(Path(opts.profile), label, measured(), opts.seconds) if opts.profile else []
            )
            window = await monitor.open()
            tally = await RUNNERS[name](ctx)
            window = await monitor.close(window)
            if opts.profile and (summary := await profile.finish(recordings, label, Path(opts.profile))):
                _say(f"{name}: profile in {summary}")
            ceiling = report.ceiling.tps.get(CEILING_KIND.get(name, "")) if report.ceiling else None
            report.scenarios.append(ScenarioResult(label, tally, window, ceiling))
            if name == "amqp-uniform" and opts.rate is None and tally.per_second > 0 and not variant:
                ctx.rate = tally.per_second / 2  # "half the sustainable rate"
                report.target["latency rate"] = round(ctx.rate)
            _say(_summary(name, tally))
        await _drain(monitor)
    finally:
        await monitor.stop()
        await bus.close()
        if floor is not None:
            await floor.stop()


async def http_key(settings: Settings, run_id: str) -> str:
    """The HTTP scenarios' bearer token: a ``transfer`` key with a rate limit it never reaches, so each
    request pays what a real caller's does (key lookup, rate-limit bucket), not the bootstrap key's nothing."""
    spec = KeySpec(
        name=f"bench-{run_id}",
        scopes=(Scope.TRANSFER,),
        rate_limit=RateLimit(per_second=100_000, burst=100_000),
    )
    conn = await connect(settings.database_url.get_secret_value())
    try:
        key = await keystore.create_key(
            conn,
            spec,
            principal="bench",
            pepper=settings.api_key_pepper.get_secret_value().encode(),
            environment=settings.environment,
        )
    finally:
        await conn.close()
    return key.secret


def _summary(name: str, t: Tally) -> str:
    return f"{name}: {t.completed} in {t.seconds:.1f} s ({t.per_second:.0f}/s), {t.refused} refused, {t.failed} failed"


async def _drain(monitor: Monitor) -> None:
    """Wait (up to a minute) until the outbox backlog is 0, so one scenario's tail is not the next one's load."""
    deadline = time.monotonic() + DRAIN_TIMEOUT
    await monitor.sample()
    while monitor.backlog[-1] > 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        await monitor.sample()


async def _audit(dsn: str) -> list[str]:
    """``ledger audit``'s findings on the run's database (after the processes stopped)."""
    conn = await connect(dsn)
    try:
        return [f"{f.check}:{f.subject}" for f in await run_audit(conn, outbox_max_age=60.0)]
    finally:
        await conn.close()
