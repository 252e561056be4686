"""A whole ledger of its own: a fresh migrated database and an AMQP namespace nothing else uses.

Used by ``ledger chaos``, ``ledger bench`` and the tests. :class:`OwnSystem` creates the database
and names the namespace; its processes are a :class:`ledger_cli.processes.Processes` (sync) or a
:class:`ledger_cli.processes.Supervisor` (async) over it. Nothing outside the run is touched: the
database is created (and dropped unless kept) by the run, and every exchange and queue carries the
run's ``LEDGER_NAMESPACE`` prefix and is deleted at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from contracts.keys import ALL_SCOPES
from ledger_cli.database import create_database, drop_database, migrate
from ledger_cli.processes import Processes
from ledger_common import publishers
from ledger_common.amqp import connect_url
from ledger_common.db import connect
from ledger_common.settings import Settings


async def delete_namespace(settings: Settings, extra_queues: tuple[str, ...] = ()) -> None:
    """Delete the ledger's exchanges and queues in ``settings.ledger_namespace``, and ``extra_queues``.

    Left behind, quorum queues pile up on the broker. A broker that does not answer has nothing to tidy.
    """
    t = settings.topology
    try:
        connection = await connect_url(settings.amqp_url.get_secret_value(), "ledger-cleanup", retry=False)
    except Exception:  # the broker is gone
        return
    async with connection:
        for queue in (*t.command_queues, t.commands_dead_queue, t.log_stream, *extra_queues):
            async with connection.channel() as channel:
                await channel.queue_delete(queue)
        for exchange in (t.commands_exchange, t.commands_dlx, t.events_exchange, t.log_exchange):
            async with connection.channel() as channel:
                await channel.exchange_delete(exchange)


async def _own_publisher(settings: Settings) -> None:
    """The run's broker user may publish every command (as a development system's would, once granted):
    the tests, the chaos load and the bench publish straight onto the command exchange."""
    conn = await connect(settings.database_url.get_secret_value())
    try:
        await publishers.grant(conn, settings.amqp_user, ALL_SCOPES, wallet_id=None)
    finally:
        await conn.close()


@dataclass
class OwnSystem:
    """The run's database, namespace, service key and log directory."""

    run_id: str
    database: str
    dsn: str
    direct: Settings  # the run's settings: its database, namespace and service key
    logdir: Path

    @classmethod
    async def create(cls, settings: Settings, *, prefix: str) -> OwnSystem:
        """Create and migrate ``ledger_<prefix>_<id>`` on ``settings``' server; the namespace is ``<prefix><id>.``.

        Every other setting (secrets, broker, tuning) is ``settings``'.
        """
        run_id = uuid.uuid4().hex[:10]
        database = f"ledger_{prefix}_{run_id}"
        dsn = await create_database(settings.database_url.get_secret_value(), database)
        direct = settings.model_copy(
            update={
                "database_url": SecretStr(dsn),
                "ledger_namespace": f"{prefix}{run_id}.",
                "service_api_key": SecretStr(secrets.token_urlsafe(32)),
            }
        )
        try:
            await asyncio.to_thread(migrate, direct)
            await _own_publisher(direct)
        except BaseException:
            await drop_database(dsn)
            raise
        logdir = Path(tempfile.mkdtemp(prefix=f"ledger-{prefix}-{run_id}-"))
        return cls(run_id, database, dsn, direct, logdir)

    def processes(self, settings: Settings | None = None) -> Processes:
        """The run's processes (none started yet), run with ``settings`` (default: the run's), logging here."""
        return Processes(settings or self.direct, logdir=self.logdir)

    async def destroy(self, *, keep: bool, keep_logs: bool, queues: tuple[str, ...] = ()) -> None:
        """Delete the namespace's exchanges and queues (and ``queues``), drop the database unless ``keep``."""
        with contextlib.suppress(Exception):
            await delete_namespace(self.direct, queues)
        if not keep:
            await drop_database(self.dsn)
        if not keep_logs:
            shutil.rmtree(self.logdir, ignore_errors=True)
