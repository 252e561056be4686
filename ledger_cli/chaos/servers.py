"""``ledger chaos --cluster``: the run on a local cluster (``ledger cluster``), and the faults of its servers.

Each fault is injected, then measured until the system is whole again, in two figures:

- **clients back**: for a broker node, until the run's processes hold as many broker connections as
  before, none on the lost node (counted at the processes' per-node proxies: each process of the lost
  node has moved to a surviving one; the load's publishers have proxies of their own);
  for the PostgreSQL primary, until the formation's URL takes a write again (a new primary), and then
  until the gateway's key cache and every relay have their LISTEN connections on it;
- **redundancy back**: the server restarted and back in its cluster (a RabbitMQ node booted and
  rejoined; a data node back as the synchronous standby; the monitor back with both nodes in sync).

The 503s and connection errors the HTTP clients saw from the fault until its clients were back (plus
two seconds) are counted with it. Nothing outside the run's cluster is touched.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import asyncpg

from ledger_cli.chaos.load import Tally
from ledger_cli.chaos.proxy import ProxyGroup
from ledger_cli.chaos.schedule import Fault
from ledger_cli.cluster import STATE, Cluster
from ledger_cli.cluster.pgaf import PgNode
from ledger_cli.cluster.rabbit import RabbitNode

log = logging.getLogger("ledger.chaos")

#: How long a fault's clients may take to be back before the figure says "not back" (a busy CI box
#: running the suite beside the run took over 30 s once; the node stays down that long too).
CLIENTS_TIMEOUT = 60.0
WHOLE_TIMEOUT = 180.0
#: A write that only a primary takes (it assigns a transaction id).
_WRITE_PROBE = "SELECT txid_current()"
_LISTENERS = (
    "SELECT application_name, count(*) AS n FROM pg_stat_activity"
    " WHERE datname = current_database() AND application_name = ANY($1::text[]) GROUP BY application_name"
)


async def start_cluster(base: Path | None = None) -> Cluster:
    """A cluster of the run's own (in ``base``, or a new temp dir), stopped again if it does not come up."""
    if base is not None and (base / STATE).exists():
        raise RuntimeError(f"a cluster is already in {base}")
    cluster = Cluster.plan(base)
    try:
        await asyncio.to_thread(cluster.up)
    except BaseException:
        await asyncio.to_thread(cluster.down)
        raise
    return cluster


class ServerFaults:
    """Injects the :data:`ledger_cli.chaos.schedule.CLUSTER_KINDS` faults into ``cluster``."""

    def __init__(
        self,
        cluster: Cluster,
        proxy: ProxyGroup,
        dsn: str,
        tally: Tally,
        command_queue: str,
        listeners: dict[str, int],
    ) -> None:
        self._cluster = cluster
        #: application_name -> how many LISTEN connections of that name must be on the primary
        self._listeners = listeners
        #: per PostgreSQL failover: seconds until every LISTEN connection was back (None: not within the timeout)
        self.listeners_back: list[float | None] = []
        self._proxy = proxy
        self._dsn = dsn
        self._tally = tally
        self._queue = command_queue
        #: kind -> [(clients back s, redundancy back s, 503s and connection errors)]
        self.figures: dict[str, list[tuple[float | None, float, int]]] = defaultdict(list)

    async def members(self, queues: list[str]) -> dict[str, int]:
        """How many nodes hold a member of each of ``queues`` (quorum queues: 3 on a 3-node cluster)."""
        listed = await asyncio.to_thread(self._cluster.rabbit.quorum_queues)
        found = {q["name"]: len(q.get("members") or []) for q in listed}
        return {name: found.get(name, 0) for name in queues}

    async def inject(self, fault: Fault) -> str:
        started = time.monotonic()
        if fault.kind.endswith("broker_node"):
            what, back = await self._broker_node(fault)
        elif fault.kind.endswith("primary"):
            what, back = await self._primary(fault)
        else:  # kill_monitor: nothing fails over, nothing should notice
            await asyncio.to_thread(self._cluster.pg.kill, self._cluster.pg.monitor)
            what, back = "monitor killed", None
            await asyncio.sleep(fault.pause)
            await asyncio.to_thread(self._cluster.pg.start, self._cluster.pg.monitor)
            await asyncio.to_thread(self._cluster.pg.wait_healthy, WHOLE_TIMEOUT)
        whole = time.monotonic() - started
        until = started + (back if back is not None else whole) + 2.0
        errors = sum(1 for t in self._tally.unavailable_at if started <= t <= until)
        self.figures[fault.kind].append((back, whole, errors))
        clients = f"clients back in {back:.1f} s, " if back is not None else ""
        return f"{what}; {clients}whole again in {whole:.1f} s; {errors} HTTP 503s/connection errors"

    async def _broker_node(self, fault: Fault) -> tuple[str, float | None]:
        rabbit = self._cluster.rabbit
        node: RabbitNode | None = None
        if fault.target == "leader":
            node = await asyncio.to_thread(rabbit.leader_of, self._queue)
        node = node or rabbit.node(fault.target.removeprefix("rabbit"))
        # The proxies are in the order of the nodes (AMQP_URL's): the lost node's has its clients.
        lost = self._proxy.proxies[rabbit.nodes.index(node)]
        on_it = lost.live
        connected = self._proxy.live  # the processes' own proxies: the load's publishers are not counted
        started = time.monotonic()
        kill = fault.kind.startswith("kill")
        await asyncio.to_thread(rabbit.kill if kill else rabbit.stop, node)
        back = await self._until(lambda: lost.live == 0 and self._proxy.live >= connected, started)
        if back is None:
            per_node = [p.live for p in self._proxy.proxies]
            log.warning(
                "%s: clients not back: %d of %d connected (per node %s), %d on the lost node",
                node.name,
                sum(per_node),
                connected,
                per_node,
                lost.live,
            )
        await asyncio.sleep(max(0.0, fault.pause - (time.monotonic() - started)))
        await asyncio.to_thread(rabbit.start_node, node)
        role = " (the command queue's leader)" if fault.target == "leader" else ""
        return f"{node.name}{role} {'killed' if kill else 'stopped'} with {on_it} process connections", back

    async def _primary(self, fault: Fault) -> tuple[str, float | None]:
        pg = self._cluster.pg
        primary: PgNode | None = await asyncio.to_thread(pg.primary)
        if primary is None:
            raise RuntimeError(f"no primary to {fault.kind}: {await asyncio.to_thread(pg.states)}")
        started = time.monotonic()
        kill = fault.kind.startswith("kill")
        await asyncio.to_thread(pg.kill if kill else pg.stop, primary)
        back = await self._until_async(self._writable, started)
        listening = await self._until_async(self._listening, started)
        await asyncio.sleep(max(0.0, fault.pause - (time.monotonic() - started)))
        await asyncio.to_thread(pg.start, primary)
        await asyncio.to_thread(pg.wait_healthy, WHOLE_TIMEOUT)
        new = await asyncio.to_thread(pg.primary)
        listeners = f"LISTEN connections back in {listening:.1f} s" if listening is not None else "LISTEN NOT BACK"
        self.listeners_back.append(listening)
        what = f"primary {primary.name} {'killed' if kill else 'stopped'}, {new.name if new else '?'} promoted"
        return f"{what}; {listeners}", back

    async def _listening(self) -> bool:
        """The key cache's and every relay's LISTEN connection are on the (new) primary."""
        try:
            conn = await asyncpg.connect(self._dsn, timeout=1)
        except Exception:  # mid-failover: no primary yet
            return False
        try:
            rows = await conn.fetch(_LISTENERS, list(self._listeners), timeout=1)
        except Exception:
            return False
        finally:
            conn.terminate()
        found = {r["application_name"]: r["n"] for r in rows}
        return all(found.get(name, 0) >= n for name, n in self._listeners.items())

    async def _writable(self) -> bool:
        try:
            conn = await asyncpg.connect(self._dsn, timeout=1)
        except Exception:  # mid-failover: no primary yet
            return False
        try:
            await conn.fetchval(_WRITE_PROBE, timeout=1)
            return True
        except Exception:
            return False
        finally:
            conn.terminate()

    async def _until(self, condition: Any, started: float) -> float | None:
        async def check() -> bool:
            return bool(condition())

        return await self._until_async(check, started)

    @staticmethod
    async def _until_async(check: Any, started: float) -> float | None:
        """Seconds from ``started`` until ``check()`` is true (polled every 50 ms); None past the timeout."""
        while time.monotonic() - started < CLIENTS_TIMEOUT:
            if await check():
                return time.monotonic() - started
            await asyncio.sleep(0.05)
        return None

    def summary(self) -> list[str]:
        """One line per kind: how often, clients back (max), whole again (max), 503s in all."""
        lines = []
        for kind, rows in sorted(self.figures.items()):
            backs = [b for b, _, _ in rows if b is not None]
            clients = f"clients back ≤ {max(backs):.1f} s, " if backs else ""
            whole = max(w for _, w, _ in rows)
            errors = sum(e for _, _, e in rows)
            lines.append(f"recovery {kind} x{len(rows)}: {clients}whole again ≤ {whole:.1f} s, {errors} 503s/errors")
        return lines

    def as_dict(self) -> dict[str, list[dict[str, float | int | None]]]:
        figures = {
            kind: [{"clients_back_s": b, "whole_again_s": round(w, 2), "http_unavailable": e} for b, w, e in rows]
            for kind, rows in self.figures.items()
        }
        return {**figures, "listeners_back_s": [{"seconds": s} for s in self.listeners_back]}
