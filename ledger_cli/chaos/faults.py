"""Fault injectors, one per kind in :data:`ledger_cli.chaos.schedule.KINDS`, and the loop that fires them.

Every injector touches only what the run owns: its own processes, the backends connected to its own
database (never the checker's connections, which carry :data:`CHECKER_APP_NAME`), and the proxied
broker connections. Only ``restart_broker`` touches a shared server, and only with ``--broker-restart``;
with ``--cluster`` the server faults hit the run's own cluster (``servers.py``).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections import Counter

import asyncpg

from ledger_cli.chaos.proxy import ProxyGroup
from ledger_cli.chaos.schedule import CLUSTER_KINDS, Fault
from ledger_cli.chaos.servers import ServerFaults
from ledger_cli.processes import Supervisor

log = logging.getLogger("ledger.chaos")

#: application_name of the chaos tool's own database connections: cut_database spares them.
CHECKER_APP_NAME = "ledger-chaos"

_TERMINATE = (
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    " AND coalesce(application_name, '') <> $1"
)


class Injector:
    def __init__(
        self, supervisor: Supervisor, proxy: ProxyGroup, dsn: str, servers: ServerFaults | None = None
    ) -> None:
        self._supervisor = supervisor
        self._proxy = proxy
        self._dsn = dsn
        self._servers = servers
        self.injected: Counter[str] = Counter()
        self.log: list[str] = []

    async def inject(self, fault: Fault) -> None:
        """Inject ``fault`` and wait until the system is whole again (the process restarted...)."""
        started = time.monotonic()
        kind, target = fault.kind, fault.target
        if kind in CLUSTER_KINDS:
            if self._servers is None:
                raise ValueError(f"{kind} needs --cluster")
            detail = await self._servers.inject(fault)
        elif kind.startswith(("kill_", "term_")):
            sig = signal.SIGKILL if kind.startswith("kill_") else signal.SIGTERM
            code = await self._supervisor.restart(target, sig, fault.pause)
            detail = f"exit {code}"
        elif kind == "cut_database":
            detail = f"{await self._cut_database()} backends terminated"
        elif kind == "cut_broker":
            detail = f"{self._proxy.cut()} connections cut"
        elif kind == "stall_broker":
            await self._proxy.stall(fault.pause)
            detail = "stalled"
        elif kind == "restart_broker":
            await _rabbitmqctl("stop_app")
            await asyncio.sleep(fault.pause)
            await _rabbitmqctl("start_app")
            detail = "restarted"
        else:
            raise ValueError(f"unknown fault kind {kind!r}")
        self.injected[kind] += 1
        self.log.append(f"{fault.describe()}: {detail}, recovered in {time.monotonic() - started:.1f} s")
        log.info("fault %s", self.log[-1])

    async def _cut_database(self) -> int:
        conn = await asyncpg.connect(self._dsn, server_settings={"application_name": CHECKER_APP_NAME})
        try:
            return int(await conn.fetchval(_TERMINATE, CHECKER_APP_NAME))
        finally:
            await conn.close()


async def _rabbitmqctl(action: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        "rabbitmqctl", action, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {action} failed: {err.decode(errors='replace')[:300]}")


class FaultRunner:
    """Fires the schedule as the load reaches each fault's position; the load waits for due faults.

    Faults run one after the other (each until its recovery), so the schedule is the same on replay.
    """

    def __init__(self, injector: Injector, faults: tuple[Fault, ...]) -> None:
        self._injector = injector
        self._faults = faults
        self._progress = -1
        self._fired = 0
        self._stopped = False
        self._changed = asyncio.Condition()

    async def run(self) -> None:
        for fault in self._faults:
            async with self._changed:
                await self._changed.wait_for(lambda: self._progress >= fault.at or self._stopped)  # noqa: B023
                if self._stopped:  # the load ended early (--duration-cap): no new faults, drain instead
                    return
                self._fired += 1
                self._changed.notify_all()
            await self._injector.inject(fault)

    async def gate(self, position: int) -> None:
        """The load reached ``position``: wait until every fault scheduled up to there has fired."""
        due = sum(1 for f in self._faults if f.at <= position)
        async with self._changed:
            self._progress = max(self._progress, position)
            self._changed.notify_all()
            await self._changed.wait_for(lambda: self._fired >= due or self._stopped)

    async def halt(self) -> None:
        """Fire no more faults (the one being injected completes its recovery)."""
        async with self._changed:
            self._stopped = True
            self._changed.notify_all()
