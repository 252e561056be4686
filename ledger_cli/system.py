"""A whole ledger of its own, run as real processes: used by ``ledger chaos`` and ``ledger bench``.

:class:`OwnSystem` is a fresh migrated database and an AMQP namespace that nothing else uses, with the
environment its processes run in; :class:`Supervisor` starts and stops those processes (``ledger
gateway``, ``ledger worker``, ``ledger relay``). Nothing outside the run is touched: the database is
created (and dropped unless kept) by the run, and every exchange and queue carries the run's
``LEDGER_NAMESPACE`` prefix and is deleted at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
from pydantic import SecretStr

from contracts.topology import Topology
from ledger_cli.database import migrate
from ledger_common.amqp import connect
from ledger_common.settings import Settings

log = logging.getLogger("ledger.system")

STOP_TIMEOUT = 30.0
READY_TIMEOUT = 60.0


def free_port() -> int:
    """A TCP port nothing listens on right now (for the run's gateway)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def with_database(dsn: str, name: str) -> str:
    """``dsn`` pointing at database ``name`` instead."""
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


async def admin(dsn: str, sql: str) -> None:
    """Run ``sql`` (CREATE/DROP DATABASE) on the server's ``postgres`` database."""
    conn = await asyncpg.connect(with_database(dsn, "postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@dataclass
class OwnSystem:
    """The run's database, namespace, service key, gateway port and log directory."""

    run_id: str
    database: str
    dsn: str
    direct: Settings  # the run's settings: its database, namespace and service key
    http_port: int
    logdir: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @classmethod
    async def create(cls, settings: Settings, *, prefix: str) -> OwnSystem:
        """Create and migrate ``ledger_<prefix>_<id>``; the namespace is ``<prefix><id>.``."""
        run_id = uuid.uuid4().hex[:10]
        database = f"ledger_{prefix}_{run_id}"
        base = settings.database_url.get_secret_value()
        await admin(base, f'CREATE DATABASE "{database}"')
        dsn = with_database(base, database)
        direct = settings.model_copy(
            update={
                "database_url": SecretStr(dsn),
                "ledger_namespace": f"{prefix}{run_id}.",
                "service_api_key": SecretStr(secrets.token_urlsafe(32)),
            }
        )
        try:
            await asyncio.to_thread(migrate, direct)
        except BaseException:
            await admin(base, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            raise
        logdir = Path(tempfile.mkdtemp(prefix=f"ledger-{prefix}-{run_id}-"))
        return cls(run_id, database, dsn, direct, free_port(), logdir)

    def process_env(self, settings: Settings | None = None, **overrides: str) -> dict[str, str]:
        """Environment of the run's processes: ours, pointed at the run (``settings``: e.g. via a proxy)."""
        s = settings or self.direct
        env = {k: v for k, v in os.environ.items() if k != "LEDGER_CRASH_AT"}
        env.update(
            ENVIRONMENT=s.environment,
            DATABASE_URL=self.dsn,
            AMQP_URL=s.amqp_url.get_secret_value(),
            SERVICE_API_KEY=s.service_api_key.get_secret_value(),
            LEDGER_NAMESPACE=s.ledger_namespace,
            HTTP_HOST="127.0.0.1",
            HTTP_PORT=str(self.http_port),
        )
        env.update(overrides)
        return env

    async def destroy(self, *, keep: bool, keep_logs: bool, queues: tuple[str, ...] = ()) -> None:
        """Delete the namespace's exchanges and queues (and ``queues``), drop the database unless ``keep``."""
        with contextlib.suppress(Exception):
            await delete_namespace(self.direct, queues)
        if not keep:
            await admin(self.dsn, f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        if not keep_logs:
            shutil.rmtree(self.logdir, ignore_errors=True)


async def delete_namespace(settings: Settings, extra_queues: tuple[str, ...] = ()) -> None:
    """Delete the ledger's exchanges and queues in ``settings.ledger_namespace``, and ``extra_queues``."""
    t = Topology(settings.ledger_namespace)
    connection = await connect(settings, "cleanup")
    try:
        channel = await connection.channel()
        for queue in (t.commands_queue, t.commands_dead_queue, *extra_queues):
            await channel.queue_delete(queue)
        for exchange in (t.commands_exchange, t.commands_dlx, t.events_exchange):
            await channel.exchange_delete(exchange)
    finally:
        await connection.close()


class Supervisor:
    """Starts, stops and watches the run's processes: ``gateway``, ``worker-1``…, ``relay-1``….

    Each logs to ``<logdir>/<name>.log`` (appended across restarts). A process that exits without
    being told to is an *unexpected exit*: it is counted and restarted, so one crash does not hide
    every later check.
    """

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

    def pid(self, name: str) -> int | None:
        """The process id of ``name`` while it runs."""
        proc = self._procs.get(name)
        return proc.pid if proc is not None and proc.returncode is None else None

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
