"""``ledger <subcommand>``: run a process, migrate, seed, benchmark, audit, dead letters, keys, broker."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import subprocess
import sys
from collections.abc import Callable

from ledger_cli.dlq import add_parser as add_dlq_parser
from ledger_common.logs import setup_logging
from ledger_common.runtime import tune_gc
from ledger_common.settings import Settings, get_settings

log = logging.getLogger("ledger")


def _gateway(settings: Settings, _: argparse.Namespace) -> int:
    import uvicorn

    from http_gateway.app import create_app
    from http_gateway.edge import BoundedHttpTools

    app = create_app(settings)
    tune_gc(settings.gc_threshold)
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level.lower(),
        log_config=None,  # keep our root handler, whose formatter redacts secrets
        timeout_keep_alive=75,  # longer than client/LB idle timeouts, so the client closes first
        access_log=False,
        http=BoundedHttpTools,  # httptools with a bound on the request head (contracts.bounds)
        # Nothing the gateway does reads the client's address or scheme (answers carry relative URLs, keys
        # are not tied to addresses), so X-Forwarded-* is not parsed on every request (1 % of its CPU).
        proxy_headers=False,
    )
    return 0


def _worker(settings: Settings, _: argparse.Namespace) -> int:
    import uvloop

    from ledger_worker.main import run_worker

    tune_gc(settings.gc_threshold)
    uvloop.run(run_worker(settings))  # libuv's loop: less CPU per message than asyncio's
    return 0


def _relay(settings: Settings, _: argparse.Namespace) -> int:
    import uvloop

    from outbox_relay.main import run_relay

    tune_gc(settings.gc_threshold)
    uvloop.run(run_relay(settings))
    return 0


def _migrate(settings: Settings, _: argparse.Namespace) -> int:
    from ledger_cli.database import migrate

    migrate(settings)
    return 0


def _spawn(name: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "ledger_cli.main", name])  # noqa: S603 - our own module


def _run(settings: Settings, _: argparse.Namespace) -> int:
    """Migrate, then run gateway, worker and relay until Ctrl-C."""
    _migrate(settings, _)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop the children on SIGTERM too
    procs = [_spawn(name) for name in ("worker", "relay", "gateway")]
    print(f"Ledger API on http://{settings.http_host}:{settings.http_port} (docs at /docs)")
    if settings.environment == "development":
        print(f"Bearer token (development): {settings.service_api_key.get_secret_value()}")
    try:
        while all(p.poll() is None for p in procs):
            try:
                procs[0].wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
    except KeyboardInterrupt:
        pass
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
    return max((p.returncode or 0) for p in procs)


def _seed(settings: Settings, args: argparse.Namespace) -> int:
    from ledger_cli.seed import seed

    return asyncio.run(seed(settings))


def _bench(settings: Settings, args: argparse.Namespace) -> int:
    import uvloop

    from ledger_cli.bench.run import bench

    return uvloop.run(bench(settings, args))  # the bench shares the cores it measures: keep it light


def _audit(settings: Settings, args: argparse.Namespace) -> int:
    from ledger_cli.audit import audit

    return asyncio.run(audit(settings, args))


def _dlq(settings: Settings, args: argparse.Namespace) -> int:
    from ledger_cli.dlq import dlq

    return asyncio.run(dlq(settings, args))


def _outbox(settings: Settings, args: argparse.Namespace) -> int:
    from ledger_cli.dlq import outbox_alias

    return asyncio.run(outbox_alias(settings, args))


def _keys(settings: Settings, args: argparse.Namespace) -> int:
    from ledger_cli.keys import keys

    return asyncio.run(keys(settings, args))


def _publishers(settings: Settings, args: argparse.Namespace) -> int:
    from ledger_cli.publishers import run

    return asyncio.run(run(settings, args))


def _chaos(settings: Settings, args: argparse.Namespace) -> int:
    from ledger_cli.chaos.run import chaos

    return asyncio.run(chaos(settings, args))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ledger", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    handlers: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
        "gateway": _gateway,
        "worker": _worker,
        "relay": _relay,
        "migrate": _migrate,
        "run": _run,
        "seed": _seed,
    }
    for name, fn in handlers.items():
        sub.add_parser(name, help=(fn.__doc__ or name).splitlines()[0])
    from ledger_cli.bench.options import add_arguments as bench_arguments

    bench_arguments(sub.add_parser("bench", help="throughput and latency of the whole system, against pgbench"))
    handlers["bench"] = _bench
    a = sub.add_parser("audit", help="check the ledger's invariants; exit 1 with a report if any is broken")
    a.add_argument("--json", action="store_true")
    a.add_argument("--outbox-max-age", type=float, default=60.0, help="seconds an event may stay unsent")
    handlers["audit"] = _audit
    add_dlq_parser(sub)
    handlers["dlq"] = _dlq
    o = sub.add_parser("outbox", help="alias of `ledger dlq list|replay --source events`")
    o.add_argument("action", choices=["dead", "replay"])
    o.add_argument("ids", nargs="*", type=int)
    handlers["outbox"] = _outbox
    from ledger_cli import broker, keys, publishers

    keys.add_parser(sub)
    handlers["keys"] = _keys
    publishers.add_parser(sub)
    handlers["publishers"] = _publishers
    broker.add_parser(sub)
    handlers["broker-setup"] = broker.broker_setup
    from ledger_cli import cluster, recon

    recon.add_parser(sub)
    handlers["recon"] = recon.recon

    cluster.add_parser(sub)
    handlers["cluster"] = cluster.cluster
    from ledger_cli.chaos.run import add_arguments as chaos_arguments

    chaos_arguments(sub.add_parser("chaos", help="seeded fault-injection run of the whole system; 1 on a violation"))
    handlers["chaos"] = _chaos
    args = parser.parse_args(argv)
    settings = get_settings()
    setup_logging(settings.log_level, settings.log_format, process=args.command)
    if args.command in ("gateway", "worker", "relay"):
        from ledger_common import tracing

        tracing.configure(args.command)  # only if OTEL_TRACES_EXPORTER asks (ledger_common/tracing.py)
    return handlers[args.command](settings, args)


if __name__ == "__main__":
    sys.exit(main())
