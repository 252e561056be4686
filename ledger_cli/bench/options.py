"""The ``ledger bench`` command line, and the options a run uses (echoed at the top of its report)."""

from __future__ import annotations

import argparse
import random
import shlex
import sys
from dataclasses import asdict, dataclass
from typing import Any

from ledger_common.settings import ENV_NAMES

SCENARIOS = ("amqp-uniform", "amqp-hot", "http", "http-floor", "mixed", "latency", "idle")
#: Closed-loop scenarios: their throughput is compared with the pgbench ceiling of this kind.
CEILING_KIND = {"amqp-uniform": "uniform", "amqp-hot": "hot", "http": "uniform", "mixed": "uniform"}
#: The cost-per-transfer issue's goals (12; for the defaults: 60 s, 100,000 accounts): scenario -> (figure, limit,
#: is a minimum). Throughput is a ratio to the pgbench ceiling of the same run, since this machine drifts by 2x.
GOALS: dict[str, tuple[str, float, bool]] = {
    "amqp-uniform": ("ratio", 0.6, True),
    "amqp-hot": ("ratio", 0.7, True),
    "http": ("ratio", 0.35, True),
    "latency": ("p99_ms", 100, False),  # at half the sustainable rate (amqp-uniform's, measured in the run)
    "idle": ("p99_ms", 20, False),
}
AMQP_CONCURRENCY = 512
HTTP_CONCURRENCY = 64


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register ``ledger bench``'s options on its subparser."""
    parser.add_argument(
        "--scenario",
        action="append",
        choices=SCENARIOS,
        help="run only these (repeatable; default all, in the order listed)",
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="duration of each timed scenario")
    parser.add_argument("--accounts", type=int, default=100_000, help="accounts created for the run")
    parser.add_argument(
        "--concurrency", type=int, default=None, help=f"commands in flight (default {AMQP_CONCURRENCY}; HTTP: 64)"
    )
    parser.add_argument(
        "--http-concurrency", type=int, default=None, help=f"HTTP requests in flight (default {HTTP_CONCURRENCY})"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="transfers per second of the latency scenario (default: half of amqp-uniform's in this run, else 500)",
    )
    parser.add_argument("--idle-commands", type=int, default=200, help="commands of the idle scenario")
    parser.add_argument("--workers", type=int, default=1, help="`ledger worker` processes of the own system")
    parser.add_argument("--relays", type=int, default=1, help="`ledger relay` processes of the own system")
    parser.add_argument(
        "--partitions",
        type=int,
        default=None,
        help="command queue partitions (COMMAND_PARTITIONS), dealt round-robin to the workers (default: --workers)",
    )
    parser.add_argument(
        "--url", default=None, help="bench the running system whose gateway is here (implies --external)"
    )
    parser.add_argument(
        "--external",
        action="store_true",
        help="bench the running system named by DATABASE_URL, AMQP_URL, LEDGER_NAMESPACE (no CPU or RSS figures)",
    )
    parser.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="VAR=VALUE[,VAR=VALUE]",
        help="after the scenarios, restart the processes with these settings and run them again"
        " (a lever off, e.g. GATEWAY_KEY_CACHE=false; repeatable); own system only",
    )
    parser.add_argument(
        "--profile",
        default=None,
        metavar="DIR",
        help="record a py-spy profile of each own process during each scenario into DIR (folded stacks and"
        " a Markdown summary per scenario)",
    )
    parser.add_argument(
        "--log",
        action="store_true",
        help="instead of the scenarios: the event log's costs, stream against exchange (ledger_cli/bench/log.py)",
    )
    parser.add_argument("--events", type=int, default=20_000, help="with --log: events to publish and read")
    parser.add_argument(
        "--recon",
        action="store_true",
        help="instead of the scenarios: import and match statement lines (ledger_cli/bench/recon.py)",
    )
    parser.add_argument("--recon-lines", type=int, default=1_000_000, help="with --recon: statement lines")
    parser.add_argument(
        "--shared-broker", action="store_true", help="with --log: use AMQP_URL's broker, not a node of its own"
    )
    parser.add_argument("--no-pgbench", action="store_true", help="skip the pgbench ceiling")
    parser.add_argument("--pgbench-seconds", type=float, default=10.0, help="duration of each pgbench run")
    parser.add_argument("--seed", type=int, default=None, help="seed of the account choices (default: random)")
    parser.add_argument("--keep", action="store_true", help="keep the own system's database and logs")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


@dataclass(frozen=True)
class Options:
    """Everything a run was asked to do; printed at the top of the report."""

    scenarios: tuple[str, ...]
    seconds: float
    accounts: int
    concurrency: int
    http_concurrency: int
    rate: float | None
    idle_commands: int
    workers: int
    relays: int
    partitions: int
    url: str | None
    external: bool
    pgbench: bool
    pgbench_seconds: float
    seed: int
    compare: tuple[str, ...]
    profile: str | None
    keep: bool
    json: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Options:
        if args.accounts < 20:
            raise SystemExit("ledger bench: --accounts must be at least 20 (10 of them are the hot accounts)")
        if args.seconds <= 0 or (args.rate is not None and args.rate <= 0):
            raise SystemExit("ledger bench: --seconds and --rate must be positive")
        chosen = set(args.scenario or SCENARIOS)
        return cls(
            scenarios=tuple(s for s in SCENARIOS if s in chosen),
            seconds=args.seconds,
            accounts=args.accounts,
            concurrency=max(1, args.concurrency or AMQP_CONCURRENCY),
            http_concurrency=max(1, args.http_concurrency or args.concurrency or HTTP_CONCURRENCY),
            rate=args.rate,
            idle_commands=max(1, args.idle_commands),
            workers=max(1, args.workers),
            relays=max(1, args.relays),
            partitions=max(1, args.partitions or args.workers),
            url=args.url,
            external=args.external or args.url is not None,
            pgbench=not args.no_pgbench,
            pgbench_seconds=max(1.0, args.pgbench_seconds),
            seed=args.seed if args.seed is not None else random.SystemRandom().randrange(2**31),
            compare=tuple(_checked_variant(v) for v in args.compare),
            profile=args.profile,
            keep=args.keep,
            json=args.json,
        )

    @staticmethod
    def variant_env(variant: str) -> dict[str, str]:
        """``A=1,B=2`` as variables."""
        pairs = (item.strip().partition("=") for item in variant.split(",") if item.strip())
        return {name.strip().upper(): value.strip() for name, _, value in pairs}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _checked_variant(variant: str) -> str:
    """A ``--compare`` value whose every item is ``SETTING=value`` of a process setting."""

    for item in variant.split(","):
        name, eq, _ = item.strip().partition("=")
        if not eq or name.upper() not in ENV_NAMES:
            raise SystemExit(f"ledger bench: --compare {variant!r}: {name or item!r} is not SETTING=value of a setting")
    return variant


def command_line() -> str:
    """The command as it was typed (as ``ledger …``), quoted so it can be pasted again."""
    return shlex.join(["ledger", *sys.argv[1:]])
