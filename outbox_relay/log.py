"""The relay's event log task: number new events, publish the log to the stream, keep the log's gauges.

It runs beside the outbox relay in every relay process, on a broker connection of its own. Sequencing
(``ledger_common.event_log``) and publishing (``outbox_relay.stream``) each take a lock or a lease, so any
number of relays can run: one at a time does each. It wakes on the outbox's NOTIFY (new events) and on
the log's (another relay numbered some), and falls back to polling every ``RELAY_POLL_SECONDS``.
``EVENT_DELIVERY=exchange`` numbers events (``GET /v1/events`` needs positions) and publishes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket

import asyncpg

from contracts.errors import BrokerUnavailable
from ledger_common import amqp, event_log, metrics, probes
from ledger_common.db import retrying
from ledger_common.settings import Settings
from outbox_relay.main import _Listener, _quietly
from outbox_relay.stream import StreamPublisher

log = logging.getLogger("outbox_relay")

#: Events published to the stream per batch (one transaction, one pipelined burst, one wait for the confirms):
#: the stream has one publisher at a time, so its batches are larger than the outbox's per-partition ones.
STREAM_BATCH = 1000


def start(settings: Settings, pool: asyncpg.Pool, stop: asyncio.Event) -> asyncio.Task[None]:
    """Run the task; if it fails (a bug: broker and database faults are retried inside) the relay stops."""
    task = asyncio.create_task(run(settings, pool, stop))

    def failed(done: asyncio.Task[None]) -> None:
        if not done.cancelled() and done.exception() is not None:
            log.error("event log task failed", exc_info=done.exception())
            stop.set()

    task.add_done_callback(failed)
    return task


async def run(settings: Settings, pool: asyncpg.Pool, stop: asyncio.Event) -> None:
    listener = _Listener(settings.database_url.get_secret_value(), channels=("ledger_outbox", event_log.CHANNEL))
    streaming = settings.event_delivery != "exchange"
    publisher = StreamPublisher(
        pool,
        settings.topology,
        signing_keys=settings.signing_keys,
        batch_size=STREAM_BATCH,
        owner=f"{socket.gethostname()}:{os.getpid()}",
    )
    gauges = asyncio.create_task(_gauges(settings, pool, stop, streaming)) if settings.metrics_enabled else None
    try:
        while not stop.is_set():
            if not streaming:
                await _loop(settings, pool, None, listener, stop)
                continue
            connection = await amqp.connect(settings, "relay-log")
            try:
                channel = await connection.channel(publisher_confirms=True)
                await settings.topology.declare_log(channel)
                publisher.attach(connection, channel)
                log.info("relay logging events to %s", settings.topology.log_stream)
                await _loop(settings, pool, publisher, listener, stop, amqp.connection_lost(connection))
            except Exception as exc:
                if not amqp.lost_with(connection, exc):
                    raise
                log.warning("event log: broker connection lost (%s); reconnecting", type(exc).__name__)
                await asyncio.sleep(0.5)
            finally:
                await _quietly(connection.close())
    finally:
        if gauges is not None:
            gauges.cancel()
        await listener.close()


async def _loop(
    settings: Settings,
    pool: asyncpg.Pool,
    publisher: StreamPublisher | None,
    listener: _Listener,
    stop: asyncio.Event,
    lost: asyncio.Future[None] | None = None,
) -> None:
    while not stop.is_set():
        # Noticed even while no event comes: an idle relay would otherwise stay off the broker (a cluster's
        # clients not back after a node loss, ledger chaos --cluster) until the next event fails to publish.
        if lost is not None and lost.done():
            raise BrokerUnavailable("broker connection lost")
        numbered = await _retried(lambda: _sequence(pool))
        published = await _retried(publisher.publish_once) if publisher is not None else 0
        if numbered == 0 and published < STREAM_BATCH:
            await listener.wait(stop, timeout=settings.relay_poll_seconds)


async def _sequence(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        return (await event_log.sequence(conn)).numbered


async def _retried(step: object) -> int:
    """``step()``, retrying database faults; broker faults propagate (the caller reconnects)."""
    async for attempt in retrying(first_wait=0.1, max_wait=5.0):
        with attempt:
            return await step()  # type: ignore[operator, no-any-return]
    return 0


async def _gauges(settings: Settings, pool: asyncpg.Pool, stop: asyncio.Event, streaming: bool) -> None:
    metrics.STREAM_RETENTION.set(settings.topology.retention.max_age_seconds)

    async def refresh() -> None:
        state = await pool.fetchrow(event_log.STATE, timeout=10)
        metrics.LOG_HEAD.set(state["head"])
        metrics.STREAM_BEHIND.set(state["behind"] if streaming else 0)
        readers = await pool.fetch(event_log.READERS, timeout=10)
        metrics.READER_LAG_EVENTS.clear()
        metrics.READER_LAG_SECONDS.clear()
        for r in readers:
            metrics.READER_LAG_EVENTS.labels(r["name"], r["transport"]).set(r["behind_events"])
            metrics.READER_LAG_SECONDS.labels(r["name"], r["transport"]).set(r["behind_seconds"])

    await probes.every(settings.metrics_refresh_seconds, refresh, stop)
