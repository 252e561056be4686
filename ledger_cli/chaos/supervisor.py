"""A small supervisor for the run's real processes: gateway, workers and relays (``ledger <role>``).

Processes are named ``gateway``, ``worker-1``…, ``relay-1``…; each logs to ``<logdir>/<name>.log``
(appended across restarts). A process that exits without being told to is an *unexpected exit*: it is
counted (the report shows it; it must be 0) and restarted, so one crash does not hide every later check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

log = logging.getLogger("ledger.chaos")

STOP_TIMEOUT = 30.0
READY_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Supervisor:
    def __init__(self, env: dict[str, str], logdir: Path, gateway_url: str) -> None:
        self._env = env
        self.logdir = logdir
        self._gateway_url = gateway_url
        self._procs: dict[str, asyncio.subprocess.Process] = {}
        self._stopping: set[str] = set()
        self._watcher: asyncio.Task[None] | None = None
        self.unexpected_exits: Counter[str] = Counter()
        self.starts: Counter[str] = Counter()

    @property
    def names(self) -> list[str]:
        return list(self._procs)

    async def start(self, name: str) -> None:
        """Start ``name`` (its role is the part before ``-``); for the gateway, wait until it is ready."""
        role = name.split("-")[0]
        out = await asyncio.to_thread((self.logdir / f"{name}.log").open, "ab")
        try:
            self._procs[name] = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "ledger_cli.main", role, env=self._env, stdout=out, stderr=out
            )
        finally:
            out.close()
        self._stopping.discard(name)
        self.starts[name] += 1
        if role == "gateway":
            await self.wait_ready()
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._watch())

    async def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        async with httpx.AsyncClient(timeout=2) as http:
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{self._gateway_url}/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"gateway not ready after {READY_TIMEOUT:.0f} s; see {self.logdir / 'gateway.log'}")

    async def stop(self, name: str, sig: int = signal.SIGTERM) -> int | None:
        """Send ``sig`` and wait for the exit (SIGKILL after ``STOP_TIMEOUT``); returns the exit code."""
        proc = self._procs.get(name)
        if proc is None:
            return None
        self._stopping.add(name)
        if proc.returncode is None:
            proc.send_signal(sig)
            try:
                await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
            except TimeoutError:
                log.warning("%s did not stop within %.0f s; killing it", name, STOP_TIMEOUT)
                proc.kill()
                await proc.wait()
        return proc.returncode

    async def restart(self, name: str, sig: int, pause: float) -> int | None:
        """Stop ``name`` with ``sig``, wait ``pause`` seconds, start it again; returns the exit code."""
        code = await self.stop(name, sig)
        await asyncio.sleep(pause)
        await self.start(name)
        return code

    async def stop_all(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None
        await asyncio.gather(*(self.stop(n) for n in list(self._procs)))

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            for name, proc in list(self._procs.items()):
                if proc.returncode is not None and name not in self._stopping:
                    log.error("%s exited unexpectedly (%s); restarting it", name, proc.returncode)
                    self.unexpected_exits[name] += 1
                    self._stopping.add(name)
                    await self.start(name)

    def all_running(self) -> bool:
        return all(p.returncode is None for p in self._procs.values())
