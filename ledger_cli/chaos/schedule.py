"""The seeded fault schedule: which fault, against which process, at which point of the main load.

A fault fires when the load reaches its position in the plan (``at``, an index into the main phase), so
a seed replays the same faults at the same points of the same load; wall-clock interleavings differ
from run to run, as they would in production. Kinds are drawn round-robin from a shuffled list, so a
run with at least as many faults as kinds injects every kind.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

#: kind -> what it does (the report lists injected faults by these names)
KINDS: dict[str, str] = {
    "kill_worker": "SIGKILL a worker, restart it after a pause",
    "term_worker": "SIGTERM a worker (graceful drain), restart it",
    "kill_relay": "SIGKILL a relay, restart it after a pause",
    "term_relay": "SIGTERM a relay (finishes its batch), restart it",
    "kill_gateway": "SIGKILL the gateway, restart it after a pause",
    "term_gateway": "SIGTERM the gateway (graceful), restart it",
    "cut_database": "pg_terminate_backend every application connection to the run's database",
    "cut_broker": "the proxy drops every broker connection of the run's processes and publishers",
    "stall_broker": "the proxy stops forwarding broker traffic for a pause, then resumes",
    "restart_broker": "rabbitmqctl stop_app, pause, start_app (only with --broker-restart)",
}


@dataclass(frozen=True)
class Fault:
    at: int
    kind: str
    target: str
    pause: float

    def describe(self) -> str:
        on = f" {self.target}" if self.target else ""
        return f"@{self.at} {self.kind}{on} ({self.pause:.1f} s)"


def _target(rng: random.Random, kind: str, workers: int, relays: int) -> str:
    role = kind.split("_", 1)[1]
    if role == "worker":
        return f"worker-{rng.randint(1, workers)}"
    if role == "relay":
        return f"relay-{rng.randint(1, relays)}"
    return "gateway" if role == "gateway" else ""


def build(
    seed: int, *, faults: int, main_items: int, workers: int, relays: int, broker_restart: bool
) -> tuple[Fault, ...]:
    """``faults`` faults at sorted random points of the first 90% of the main phase."""
    rng = random.Random(f"chaos-faults:{seed}")
    kinds = [k for k in KINDS if broker_restart or k != "restart_broker"]
    rng.shuffle(kinds)
    points = sorted(rng.randrange(max(1, main_items * 9 // 10)) for _ in range(faults))
    out = []
    for n, at in enumerate(points):
        kind = kinds[n % len(kinds)]
        pause = round(rng.uniform(0.5, 8.0) if kind == "stall_broker" else rng.uniform(0.2, 2.0), 2)
        out.append(Fault(at, kind, _target(rng, kind, workers, relays), pause))
    return tuple(out)
