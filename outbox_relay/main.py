"""Composition root of the relay process: wakes on NOTIFY, falls back to polling, reconnects."""

from __future__ import annotations

import asyncio
import logging
import signal

import asyncpg

from contracts.errors import BrokerUnavailable
from ledger_common import amqp, metrics, outbox, probes
from ledger_common.amqp import connect
from ledger_common.db import create_pool, retrying
from ledger_common.probes import Progress
from ledger_common.recon import queries as recon_queries
from ledger_common.settings import Settings
from outbox_relay.relay import Relay

log = logging.getLogger("outbox_relay")

#: application_name of the LISTEN connection (ops and ``ledger chaos --cluster`` find it in pg_stat_activity).
LISTENER_NAME = "ledger-relay-listener"


async def run_relay(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    dsn = settings.database_url.get_secret_value()
    pool = await create_pool(dsn, size=2)
    listener = _Listener(dsn)
    state = _State()
    server, gauges = await _observe(settings, pool, state, stop)
    from outbox_relay import log as event_log  # it imports this module's listener

    log_task = event_log.start(settings, pool, stop)  # positions and the event log stream (outbox_relay/log.py)
    try:
        while not stop.is_set():
            connection = await connect(settings, "relay")
            state.connections += 1
            if state.connections > 1:
                metrics.RECONNECTS.inc()
            state.connection = connection
            try:
                await _serve(settings, pool, connection, listener, stop, state.progress)
            except Exception as exc:
                if not amqp.lost_with(connection, exc):
                    raise  # a Bug (database faults are retried inside): crash loudly, the supervisor restarts us
                log.warning("broker connection lost (%s); reconnecting", type(exc).__name__)
            finally:
                await _quietly(connection.close())
    finally:
        stop.set()
        await log_task
        if gauges is not None:
            await gauges
        if server is not None:
            await server.close()
        await listener.close()
        await pool.close()
        log.info("relay stopped")


class _State:
    """What the probes look at: the broker connection and the claims in flight."""

    def __init__(self) -> None:
        self.connection: object = None
        self.connections = 0
        self.progress = Progress()

    @property
    def connected(self) -> bool:
        return self.connection is not None and not self.connection.is_closed  # type: ignore[attr-defined]


async def _observe(
    settings: Settings, pool: asyncpg.Pool, state: _State, stop: asyncio.Event
) -> tuple[probes.ProbeServer | None, asyncio.Task[None] | None]:
    """Metrics and their refresh task (``METRICS_ENABLED``), the probe port (``METRICS_PORT``)."""
    metrics.configure(settings.metrics_enabled)
    metrics.watch_pool(pool)
    dead = metrics.DEAD_LETTERS.labels("events")

    async def refresh() -> None:
        # One scan of a table the size of the backlog, every METRICS_REFRESH_SECONDS, never per scrape.
        row = await pool.fetchrow(outbox.STATE, timeout=10)
        metrics.OUTBOX_BACKLOG.set(row["backlog"])
        metrics.OUTBOX_OLDEST.set(row["oldest"] or 0)  # nothing waits: no age
        dead.set(row["dead"])
        # Reconciliation breaks still open, by age: an index scan of the open ones, never of history.
        counts = await recon_queries.open_by_age(pool)
        metrics.RECON_OPEN_BREAKS.clear()
        for source, reason, age, n in counts:
            metrics.RECON_OPEN_BREAKS.labels(source, reason, age).set(n)

    async def live() -> tuple[bool, dict[str, object]]:
        busiest = state.progress.longest()
        return busiest < settings.liveness_stall_seconds, {"longest_claim_seconds": busiest}

    async def ready() -> tuple[bool, dict[str, object]]:
        database, broker = await probes.database_ok(pool), state.connected
        return database and broker, {"database": database, "broker": broker}

    every = settings.metrics_refresh_seconds
    gauges = asyncio.create_task(probes.every(every, refresh, stop)) if settings.metrics_enabled else None
    server = await probes.serve(settings.metrics_host, settings.metrics_port, live=live, ready=ready)
    return server, gauges


async def _serve(
    settings: Settings,
    pool: asyncpg.Pool,
    connection: object,
    listener: _Listener,
    stop: asyncio.Event,
    progress: Progress,
) -> None:
    channel = await connection.channel(publisher_confirms=True)  # type: ignore[attr-defined]
    await settings.topology.declare_events(channel)
    relay = Relay(
        pool,
        channel,
        exchange=settings.topology.events_exchange,
        batch_size=settings.relay_batch_size,
        max_attempts=settings.relay_max_attempts,
        signing_keys=settings.signing_keys,
        backoff_seconds=settings.relay_backoff_seconds,
        backoff_max_seconds=settings.relay_backoff_max_seconds,
        publish=settings.event_delivery != "stream",
    )
    log.info("relay publishing to %s", settings.topology.events_exchange)
    lost = amqp.connection_lost(connection)  # type: ignore[arg-type]
    while not stop.is_set():
        if lost.done():  # noticed even while idle, so /readyz tells and the next event waits for no reconnect
            raise BrokerUnavailable("broker connection lost")
        # A batch runs to its commit even when SIGTERM arrives, so nothing is left half-marked.
        claimed = await _pump(relay, progress)
        if claimed < settings.relay_batch_size:
            await listener.wait(stop, timeout=settings.relay_poll_seconds)


async def _pump(relay: Relay, progress: Progress) -> int:
    """One batch, retrying database faults; broker faults propagate so the caller reconnects.

    Each attempt is one unit of work for ``/livez``; the waits between attempts are not.
    """
    async for attempt in retrying(first_wait=0.1, max_wait=5.0):
        with attempt, progress.working():
            return await relay.pump_once()
    return 0


class _Listener:
    """LISTEN ledger_outbox (or ``channels``) on a dedicated connection; re-made after it drops (polling covers
    the gap)."""

    def __init__(self, dsn: str, channels: tuple[str, ...] = ("ledger_outbox",)) -> None:
        self._dsn, self._channels = dsn, channels
        self._conn: asyncpg.Connection | None = None
        self._wake = asyncio.Event()

    async def wait(self, stop: asyncio.Event, *, timeout: float) -> None:
        if self._conn is None or self._conn.is_closed():
            await self._connect()
        waiters = [asyncio.create_task(self._wake.wait()), asyncio.create_task(stop.wait())]
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        for w in waiters:
            w.cancel()
        self._wake.clear()

    async def _connect(self) -> None:
        try:
            self._conn = await asyncpg.connect(self._dsn, server_settings={"application_name": LISTENER_NAME})
            for channel in self._channels:
                await self._conn.add_listener(channel, lambda *_: self._wake.set())
        except Exception as exc:
            log.warning("LISTEN unavailable (%s); polling", type(exc).__name__)
            self._conn = None

    async def close(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            await _quietly(self._conn.close())


async def _quietly(aw: object) -> None:
    try:
        await aw  # type: ignore[misc]
    except Exception:  # closing something already broken
        log.debug("close failed", exc_info=True)
