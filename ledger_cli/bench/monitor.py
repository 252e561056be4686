"""What the system costs while a scenario runs: outbox backlog, CPU seconds and memory of each process.

Every second the monitor counts the outbox rows still to publish (the relay deletes the rows the
broker confirmed, so those not dead-lettered) and reads each process's resident memory.
CPU time comes from ``/proc/<pid>/stat`` (user + system) at the start and end of a scenario; memory
from ``/proc/<pid>/status``: ``VmRSS`` now and ``VmHWM``, the peak since the process started.
Processes are the run's own (gateway, workers, relays), the bench itself, ``postgres``: the server
backends connected to the run's database (summed), and ``rabbitmq-server``: the whole broker, shared
with anyone else using it (CPU only), when their ``/proc`` entries are readable (a local server).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from ledger_common.db import connect

log = logging.getLogger("ledger.bench")

#: The relay deletes what the broker confirmed: what is left and not dead is the backlog.
BACKLOG = "SELECT count(*) FROM outbox WHERE dead_at IS NULL"
BACKENDS = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
_TICKS = os.sysconf("SC_CLK_TCK")
PG = "postgres"
BROKER = "rabbitmq-server"
#: Shared or summed: no single process's memory to report.
_NO_MEMORY = {PG, BROKER}


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` so far; None if it is gone or not ours to read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # the command name may hold spaces; fields after it do not
    return (int(fields[11]) + int(fields[12])) / _TICKS


def broker_pid() -> int | None:
    """The local RabbitMQ server (Erlang VM ``beam.smp``), if there is one we can see."""
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "beam.smp":
                return int(comm.parent.name)
        except OSError:
            continue
    return None


def memory_mb(pid: int) -> tuple[float, float] | None:
    """(resident now, peak resident) of ``pid`` in MiB; None if it is gone or not ours to read."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    kib = {k: int(v.split()[0]) for k, _, v in (line.partition(":") for line in lines) if k in ("VmRSS", "VmHWM")}
    if "VmRSS" not in kib:
        return None
    return kib["VmRSS"] / 1024, kib.get("VmHWM", kib["VmRSS"]) / 1024


@dataclass
class Usage:
    """One process over one scenario."""

    cpu_seconds: float | None = None
    rss_start_mb: float | None = None
    rss_end_mb: float | None = None
    peak_rss_mb: float | None = None  # since the process started (VmHWM)


@dataclass
class Window:
    """What the monitor saw between :meth:`Monitor.open` and :meth:`Monitor.close`."""

    first_sample: int
    cpu_start: dict[str, dict[int, float]]
    rss_start: dict[str, float]
    backlog_max: int | None = None
    backlog_end: int | None = None
    usage: dict[str, Usage] = field(default_factory=dict)


class Monitor:
    """Samples the outbox backlog and memory each second; measures CPU over windows (scenarios).

    ``processes`` returns the processes to watch now, by name (``worker-1`` → pid).
    """

    def __init__(self, dsn: str, processes: Callable[[], dict[str, int]]) -> None:
        self._dsn = dsn
        self._processes = processes
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._backends: list[int] = []
        self._broker = broker_pid()
        self._lock = asyncio.Lock()  # one query at a time on the connection: the loop and the windows share it
        self.backlog: list[int] = []

    async def start(self) -> None:
        self._conn = await connect(self._dsn)
        await self.sample()
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._conn is not None:
            await self._conn.close()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                await self.sample()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("monitor: sample failed (%s)", type(exc).__name__)

    async def sample(self) -> None:
        """One sample: the backlog, and which backends serve the database now."""
        assert self._conn is not None
        async with self._lock:
            self.backlog.append(int(await self._conn.fetchval(BACKLOG)))
            self._backends = [int(r["pid"]) for r in await self._conn.fetch(BACKENDS)]

    def _pids(self) -> dict[str, list[int]]:
        pids = {name: [pid] for name, pid in self._processes().items()}
        pids["bench"] = [os.getpid()]
        pids[PG] = self._backends
        if self._broker is not None:
            pids[BROKER] = [self._broker]
        return pids

    def _cpu(self) -> dict[str, dict[int, float]]:
        return {
            name: {pid: cpu for pid in pids if (cpu := cpu_seconds(pid)) is not None}
            for name, pids in self._pids().items()
        }

    def _rss(self) -> dict[str, tuple[float, float]]:
        """(resident, peak) of each of the run's own processes and the bench."""
        return {
            name: mem
            for name, pids in self._pids().items()
            if name not in _NO_MEMORY and (mem := memory_mb(pids[0])) is not None
        }

    async def open(self) -> Window:
        """Start a window now."""
        await self.sample()
        rss = {name: now for name, (now, _) in self._rss().items()}
        return Window(first_sample=len(self.backlog) - 1, cpu_start=self._cpu(), rss_start=rss)

    async def close(self, window: Window) -> Window:
        """End ``window`` now: its backlog figures and each process's usage."""
        await self.sample()
        seen = self.backlog[window.first_sample :]
        window.backlog_max, window.backlog_end = max(seen), seen[-1]
        end_cpu, end_rss = self._cpu(), self._rss()
        for name, by_pid in end_cpu.items():
            before = window.cpu_start.get(name, {})
            usage = Usage()
            if by_pid:  # a pid new in the window counts from 0: a backend connected (or a process restarted)
                usage.cpu_seconds = round(sum(cpu - before.get(pid, 0.0) for pid, cpu in by_pid.items()), 2)
            if name in end_rss:
                usage.rss_start_mb = window.rss_start.get(name)
                usage.rss_end_mb, usage.peak_rss_mb = end_rss[name]
            window.usage[name] = usage
        return window
