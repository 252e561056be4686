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
#: With ``--cluster`` (ledger_cli/chaos/servers.py): faults of the servers themselves, on top of the above
#: (but ``restart_broker``).
CLUSTER_KINDS: dict[str, str] = {
    "kill_broker_node": "SIGKILL a RabbitMQ node (the first one the command queue's leader), restart it after a pause",
    "kill_primary": "SIGKILL the PostgreSQL primary (pg_autoctl and postgres): failover; it rejoins as the standby",
    "stop_broker_node": "stop a RabbitMQ node gracefully, start it again after a pause",
    "stop_primary": "stop the PostgreSQL primary gracefully: failover; it rejoins as the standby",
    "kill_monitor": "SIGKILL the pg_auto_failover monitor, restart it after a pause",
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
    if kind in CLUSTER_KINDS:
        return _server_target(rng, kind)
    role = kind.split("_", 1)[1]
    if role == "worker":
        return f"worker-{rng.randint(1, workers)}"
    if role == "relay":
        return f"relay-{rng.randint(1, relays)}"
    return "gateway" if role == "gateway" else ""


def _server_target(rng: random.Random, kind: str) -> str:
    if kind.endswith("broker_node"):
        return "leader" if kind == "kill_broker_node" and rng.random() < 0.5 else f"rabbit{rng.randint(1, 3)}"
    return "monitor" if kind == "kill_monitor" else "primary"


def build(
    seed: int,
    *,
    faults: int,
    main_items: int,
    workers: int,
    relays: int,
    broker_restart: bool,
    cluster: bool = False,
) -> tuple[Fault, ...]:
    """``faults`` faults at sorted random points of the first 90% of the main phase.

    ``cluster``: the server faults too. :data:`CLUSTER_KINDS` come first in the draw (a run of two
    faults or more kills a broker node, the first such kill the command queue's leader, and fails
    PostgreSQL over; one of five or more has every server fault), then every other kind; the drawn
    kinds are spread over the run in a shuffled order.
    """
    rng = random.Random(f"chaos-faults:{seed}")
    kinds = [k for k in KINDS if broker_restart or k != "restart_broker"]
    rng.shuffle(kinds)
    if cluster:
        servers, rest = list(CLUSTER_KINDS), [k for k in kinds if k != "restart_broker"]
        tail = servers[2:]
        rng.shuffle(tail)
        kinds = servers[:2] + tail + rest
    points = sorted(rng.randrange(max(1, main_items * 9 // 10)) for _ in range(faults))
    drawn = [kinds[n % len(kinds)] for n in range(faults)]
    if cluster:
        rng.shuffle(drawn)
    out: list[Fault] = []
    for at, kind in zip(points, drawn, strict=True):
        pause = round(_pause(rng, kind), 2)
        target = _target(rng, kind, workers, relays)
        if kind == "kill_broker_node" and all(f.kind != kind for f in out):
            target = "leader"  # the hard case, in every run: a leader election with commands in flight
        out.append(Fault(at, kind, target, pause))
    return tuple(out)


def _pause(rng: random.Random, kind: str) -> float:
    if kind == "stall_broker":
        return rng.uniform(0.5, 8.0)
    if kind in CLUSTER_KINDS:  # how long the server stays down (the rest run without it)
        return rng.uniform(1.0, 5.0)
    return rng.uniform(0.2, 2.0)
