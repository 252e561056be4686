"""The run's own world: a fresh migrated database, an AMQP namespace, the proxy, the processes' environment.

Nothing outside it is touched: the database is created (and dropped unless ``--keep``) by the run, every
exchange and queue carries the run's ``LEDGER_NAMESPACE`` prefix and is deleted at the end, and the
processes reach RabbitMQ only through the run's proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from pydantic import SecretStr

from contracts.topology import Topology
from ledger_cli.chaos.faults import CHECKER_APP_NAME
from ledger_cli.chaos.proxy import Proxy
from ledger_cli.chaos.supervisor import free_port
from ledger_cli.database import migrate
from ledger_common.amqp import connect
from ledger_common.settings import Settings

log = logging.getLogger("ledger.chaos")


def _with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _with_address(url: str, host: str, port: int) -> str:
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}:{port}" if userinfo else f"{host}:{port}"))


@dataclass
class Sandbox:
    run_id: str
    database: str
    dsn: str
    direct: Settings  # the run's settings, broker reached directly (checker, collector, clean-up)
    proxied: Settings  # the same through the proxy (processes, publishers)
    proxy: Proxy
    http_port: int
    logdir: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @classmethod
    async def create(cls, settings: Settings) -> Sandbox:
        run_id = uuid.uuid4().hex[:10]
        database = f"ledger_chaos_{run_id}"
        base = settings.database_url.get_secret_value()
        await _admin(base, f'CREATE DATABASE "{database}"')
        dsn = _with_database(base, database)
        direct = settings.model_copy(
            update={
                "database_url": SecretStr(dsn),
                "ledger_namespace": f"chaos{run_id}.",
                "service_api_key": SecretStr(secrets.token_urlsafe(32)),
            }
        )
        try:
            await asyncio.to_thread(migrate, direct)
        except BaseException:
            await _admin(base, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            raise
        amqp = urlsplit(settings.amqp_url.get_secret_value())
        proxy = Proxy(amqp.hostname or "127.0.0.1", amqp.port or 5672)
        await proxy.start()
        proxied_url = _with_address(settings.amqp_url.get_secret_value(), "127.0.0.1", proxy.port)
        proxied = direct.model_copy(update={"amqp_url": SecretStr(proxied_url)})
        logdir = Path(tempfile.mkdtemp(prefix=f"ledger-chaos-{run_id}-"))
        return cls(run_id, database, dsn, direct, proxied, proxy, free_port(), logdir)

    def env(self) -> dict[str, str]:
        """Environment of the run's processes."""
        s = self.proxied
        env = {k: v for k, v in os.environ.items() if k != "LEDGER_CRASH_AT"}
        env.update(
            ENVIRONMENT=s.environment,
            DATABASE_URL=self.dsn,
            AMQP_URL=s.amqp_url.get_secret_value(),
            SERVICE_API_KEY=s.service_api_key.get_secret_value(),
            LEDGER_NAMESPACE=s.ledger_namespace,
            HTTP_HOST="127.0.0.1",
            HTTP_PORT=str(self.http_port),
            RELAY_POLL_SECONDS="0.5",
            DB_POOL_SIZE="5",  # the server is shared: a run's processes use about 30 connections in all
            LOG_LEVEL="INFO",
        )
        return env

    async def checker_pool(self) -> asyncpg.Pool:
        pool = await asyncpg.create_pool(
            self.dsn, min_size=1, max_size=3, server_settings={"application_name": CHECKER_APP_NAME}
        )
        assert pool is not None
        return pool

    async def destroy(self, *, keep: bool, keep_logs: bool) -> None:
        """Close the proxy, delete the namespace's exchanges and queues, drop the database unless ``keep``."""
        await self.proxy.close()
        with contextlib.suppress(Exception):
            await _delete_namespace(self.direct)
        if not keep:
            await _admin(self.dsn, f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        if not keep_logs:
            shutil.rmtree(self.logdir, ignore_errors=True)


async def _admin(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(_with_database(dsn, "postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _delete_namespace(settings: Settings) -> None:
    t = Topology(settings.ledger_namespace)
    connection = await connect(settings, "chaos-cleanup")
    try:
        channel = await connection.channel()
        for queue in (t.commands_queue, t.commands_dead_queue, f"{t.namespace}chaos.events"):
            await channel.queue_delete(queue)
        for exchange in (t.commands_exchange, t.commands_dlx, t.events_exchange):
            await channel.exchange_delete(exchange)
    finally:
        await connection.close()
