"""One chaos run: sandbox, real processes, load with seeded faults, drain, checks, report.

Phases: open the accounts (and wait until every opening is recorded: the ledger applies commands
concurrently, so a deposit must not race its account's opening); then the main load while the fault
schedule fires; then the drain (load stopped, every acknowledged command recorded, command queue and
outbox empty, every event received, all stable for a moment); then the checks on the quiet system.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from http_gateway.keycache import LISTENER_NAME as KEY_CACHE_NAME
from ledger_cli.audit import run_audit
from ledger_cli.chaos import log_reader, schedule
from ledger_cli.chaos import plan as plans
from ledger_cli.chaos.broker import BrokerProbe
from ledger_cli.chaos.checks import Inputs, check, snapshot
from ledger_cli.chaos.collector import Collector
from ledger_cli.chaos.driver import Driver
from ledger_cli.chaos.faults import FaultRunner, Injector
from ledger_cli.chaos.load import HttpClient, Publisher, Tally
from ledger_cli.chaos.report import Report
from ledger_cli.chaos.sandbox import Sandbox
from ledger_cli.chaos.servers import ServerFaults, start_cluster
from ledger_cli.cluster import Cluster
from ledger_cli.processes import Supervisor
from ledger_common.settings import Settings
from outbox_relay.main import LISTENER_NAME

log = logging.getLogger("ledger.chaos")

PUBLISHERS = 3
HTTP_CLIENTS = 4
WINDOW = 16  # messages in flight
OPEN_TIMEOUT = 120.0
DRAIN_TIMEOUT = 180.0
DRAIN_STABLE_POLLS = 3


@dataclass(frozen=True)
class Options:
    commands: int
    faults: int
    seed: int
    workers: int
    relays: int
    partitions: int
    duration_cap: float
    keep: bool
    broker_restart: bool
    json: bool
    cluster: bool = False

    def replay(self) -> str:
        flags = (" --broker-restart" if self.broker_restart else "") + (" --cluster" if self.cluster else "")
        return (
            f"ledger chaos --commands {self.commands} --faults {self.faults} --seed {self.seed}"
            f" --workers {self.workers} --relays {self.relays} --partitions {self.partitions}{flags}"
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--commands", type=int, default=1500, help="distinct valid commands to send")
    parser.add_argument("--faults", type=int, default=8, help="faults to inject during the load")
    parser.add_argument("--seed", type=int, default=None, help="replay a run (default: random, printed)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--relays", type=int, default=2)
    parser.add_argument("--partitions", type=int, default=None, help="command queue partitions (default --workers)")
    parser.add_argument("--duration-cap", type=float, default=900.0, help="seconds after which the load stops")
    parser.add_argument("--keep", action="store_true", help="keep the run's database (and logs) for inspection")
    parser.add_argument(
        "--broker-restart",
        action="store_true",
        help="also restart RabbitMQ (stop_app/start_app); not on a shared one",
    )
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="run on a local 3-node RabbitMQ cluster and pg_auto_failover formation of its own (ledger cluster),"
        " and kill and stop their nodes too (as root)",
    )
    parser.add_argument(
        "--cluster-dir", type=Path, default=None, help="the cluster's directory (default: a new temp dir)"
    )
    parser.add_argument("--json", action="store_true")


async def chaos(settings: Settings, args: argparse.Namespace) -> int:
    """Run the whole system under seeded faults and check every guarantee; 1 on any violation."""
    opts = Options(
        commands=args.commands,
        faults=args.faults,
        seed=args.seed if args.seed is not None else random.SystemRandom().randrange(2**31),
        workers=max(1, args.workers),
        relays=max(1, args.relays),
        partitions=max(1, args.partitions or args.workers),
        duration_cap=args.duration_cap,
        keep=args.keep,
        broker_restart=args.broker_restart,
        json=args.json,
        cluster=args.cluster,
    )
    # One line per request, and a traceback per connection the run itself cuts, would drown the run's log.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("aiormq").setLevel(logging.CRITICAL)
    print(f"chaos: seed {opts.seed} (replay: {opts.replay()})", file=sys.stderr, flush=True)
    cluster = await start_cluster(args.cluster_dir) if opts.cluster else None
    if cluster is not None:
        print(f"chaos: cluster up in {cluster.base}", file=sys.stderr, flush=True)
        settings = cluster.settings(settings)
    ok = False
    try:
        sandbox = await Sandbox.create(settings.model_copy(update={"command_partitions": opts.partitions}))
        try:
            report = await _run(sandbox, opts, cluster)
            ok = report.ok
        finally:
            await sandbox.destroy(keep=opts.keep, keep_logs=opts.keep or not ok)
    finally:
        if cluster is not None:  # its servers' logs are kept with the run's when it failed
            await asyncio.to_thread(cluster.down, remove=ok and not opts.keep)
    print(report.to_json() if opts.json else report.to_text())
    if opts.keep or not ok:
        print(f"chaos: database {sandbox.database}, logs in {sandbox.logdir}", file=sys.stderr)
    return 0 if ok else 1


async def _run(sb: Sandbox, opts: Options, cluster: Cluster | None = None) -> Report:
    started = time.monotonic()
    plan = plans.build(opts.seed, opts.commands)
    faults = schedule.build(
        opts.seed,
        faults=opts.faults,
        main_items=len(plan.main),
        workers=opts.workers,
        relays=opts.relays,
        broker_restart=opts.broker_restart,
        cluster=cluster is not None,
    )
    tally = Tally()
    collector = Collector(sb.direct)
    processes = sb.processes()
    processes.own_partitions([f"worker-{n}" for n in range(1, opts.workers + 1)])
    supervisor = Supervisor(processes)
    servers: ServerFaults | None = None
    members: dict[str, int] = {}
    if cluster is not None:
        queue = sb.direct.topology.commands_queue
        listeners = {KEY_CACHE_NAME: 1, LISTENER_NAME: opts.relays}
        servers = ServerFaults(cluster, sb.process_proxy, sb.dsn, tally, queue, listeners)
    injector = Injector(supervisor, sb.proxy, sb.dsn, servers)
    probe = BrokerProbe(sb.direct)
    pool = await sb.checker_pool()
    token = sb.direct.service_api_key.get_secret_value()
    publishers = [Publisher(sb.load, f"chaos-publisher-{n}", tally) for n in range(PUBLISHERS)]
    clients = [HttpClient(supervisor.base_url, token, tally) for _ in range(HTTP_CLIENTS)]
    driver = Driver(
        world=plan.world,
        publishers=publishers,
        clients=clients,
        tally=tally,
        window=WINDOW,
        partitions=opts.partitions,
    )
    late = log_reader.LateReader(sb.proxied)  # joins the event log mid-run, through the proxy
    joining: asyncio.Task[None] | None = None
    try:
        await collector.start()
        await _start(supervisor, opts)
        if servers is not None:  # the queues were declared on the formed cluster: a member on every node
            t = sb.direct.topology
            members = await servers.members([*t.command_queues, t.commands_dead_queue, collector.queue_name])
        await driver.run(plan.opens)
        await _wait_recorded(pool, [i.command_id for i in plan.opens])
        runner = FaultRunner(injector, faults)
        fault_task = asyncio.create_task(runner.run())
        joining = asyncio.create_task(late.join_when(tally.attempted, len(plan.opens) + len(plan.main) // 2))
        completed = await driver.run(plan.main, gate=runner.gate, deadline=started + opts.duration_cap)
        await runner.halt()
        await fault_task
        await joining  # a load cut short by the deadline may not have reached half: it joins now
        drained = await _drain(pool, probe, collector, supervisor, tally, lambda: late.caught_up(pool))
        await supervisor.stop_all()
        await late.close()
        dead = await probe.drain_dead_letters()
        async with pool.acquire() as conn:
            findings = await run_audit(conn, outbox_max_age=60.0)
            snap = await snapshot(conn)
            logged = [(r["position"], r["event_id"]) for r in await conn.fetch(log_reader.LOGGED)]
    finally:
        if joining is not None:
            joining.cancel()
        await late.close()
        await supervisor.stop_all()
        await asyncio.gather(*(p.close() for p in publishers), *(c.close() for c in clients), return_exceptions=True)
        await collector.close()
        await probe.close()
        await pool.close()
    inputs = Inputs(
        commands={cid: spec for cid, spec in plan.commands.items() if cid in tally.attempted},
        opens={i.command_id for i in plan.opens},
        tally=tally,
        events=collector.first,
        deliveries=collector.deliveries,
        event_conflicts=collector.conflicts,
        dead_letters=dead,
        audit_findings=[f"{f.check}:{f.subject}" for f in findings],
        unexpected_exits=sum(supervisor.unexpected_exits.values()),
    )
    verdict = check(inputs, snap)
    log_reader.check(verdict, late.read, logged, events=snap.outbox_rows, failure=late.failure)
    verdict.rule("drain_timeouts", [] if drained else ["drain"], f"the system did not drain in {DRAIN_TIMEOUT:.0f} s")
    return Report(
        seed=opts.seed,
        argv=opts.replay(),
        tally=tally,
        verdict=verdict,
        faults=injector.injected,
        fault_log=injector.log,
        seconds=time.monotonic() - started,
        completed=completed,
        extra={
            "restarts": dict(supervisor.starts),
            "collector_reconnects": collector.reconnects,
            "log_reader_reconnects": late.reader.reconnects,
            **(_cluster_figures(servers, members) if servers else {}),
        },
    )


def _cluster_figures(servers: ServerFaults, members: dict[str, int]) -> dict[str, object]:
    held = ", ".join(f"{name} {n}" for name, n in members.items())
    return {
        "recovery": servers.as_dict(),
        "quorum_members": members,
        "recovery_summary": [*servers.summary(), f"quorum queue members (nodes): {held}"],
    }


async def _start(supervisor: Supervisor, opts: Options) -> None:
    names = [f"worker-{n}" for n in range(1, opts.workers + 1)] + [f"relay-{n}" for n in range(1, opts.relays + 1)]
    await asyncio.gather(*(supervisor.start(name) for name in names))
    await supervisor.start("gateway")


async def _recorded(pool: asyncpg.Pool, ids: list[str]) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM commands WHERE command_id = ANY($1::text[])", ids))


async def _wait_recorded(pool: asyncpg.Pool, ids: list[str]) -> None:
    deadline = time.monotonic() + OPEN_TIMEOUT
    while await _recorded(pool, ids) < len(ids):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the accounts were not all opened within {OPEN_TIMEOUT:.0f} s")
        await asyncio.sleep(0.2)


async def _drain(
    pool: asyncpg.Pool,
    probe: BrokerProbe,
    collector: Collector,
    supervisor: Supervisor,
    tally: Tally,
    log_read: Callable[[], Awaitable[bool]],
) -> bool:
    """Wait until the system is quiet and complete; False if it did not get there in time."""
    acked = sorted((tally.confirmed | set(tally.answers)) & tally.attempted)
    deadline = time.monotonic() + DRAIN_TIMEOUT
    stable = 0
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        try:
            recorded = await _recorded(pool, acked)
            outbox = await pool.fetchrow(
                "SELECT (SELECT count(*) FROM events) AS n,"
                " (SELECT count(*) FROM outbox WHERE dead_at IS NULL) AS unsent"
            )
            queued = await probe.commands_waiting()
            log_done = await log_read()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:  # a failover under the checker
            log.warning("drain: probe failed (%s)", type(exc).__name__)
            stable = 0
            continue
        quiet = (
            supervisor.all_running()
            and recorded == len(acked)
            and queued == 0
            and outbox["unsent"] == 0
            and len(collector.first) >= outbox["n"]
            and log_done
        )
        stable = stable + 1 if quiet else 0
        if stable >= DRAIN_STABLE_POLLS:
            return True
    return False
