"""Composition root of the relay process: wakes on NOTIFY, falls back to polling."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

import aio_pika
import asyncpg
from tenacity import AsyncRetrying, retry_if_exception, wait_exponential_jitter

from ledger_common.db import create_pool, is_transient
from ledger_common.settings import Settings
from outbox_relay.relay import Relay

log = logging.getLogger("outbox_relay")


def _retryable(exc: BaseException) -> bool:
    return is_transient(exc) or isinstance(exc, aio_pika.exceptions.AMQPError)


async def run_relay(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    dsn = settings.database_url.get_secret_value()
    pool = await create_pool(dsn, size=2)
    connection = await aio_pika.connect_robust(settings.amqp_url.get_secret_value())
    wake = asyncio.Event()
    listener = await _listen(dsn, wake)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await settings.topology.declare_events(channel)
        relay = Relay(pool, exchange, batch_size=settings.relay_batch_size, max_attempts=settings.relay_max_attempts)
        log.info("relay publishing to %s", settings.topology.events_exchange)
        while not stop.is_set():
            # A batch runs to its commit even when SIGTERM arrives: nothing is published twice.
            claimed = await _pump_with_retry(relay, stop)
            if claimed < settings.relay_batch_size:
                listener = await _ensure_listener(listener, dsn, wake)
                await _wait_any(wake, stop, timeout=settings.relay_poll_seconds)
                wake.clear()
    finally:
        await _close_quietly(listener)
        await connection.close()
        await pool.close()
        log.info("relay stopped")


async def _pump_with_retry(relay: Relay, stop: asyncio.Event) -> int:
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(_retryable),
        wait=wait_exponential_jitter(initial=0.1, max=5.0),
        before_sleep=lambda s: log.warning("relay retrying after %r", s.outcome and s.outcome.exception()),
    ):
        with attempt:
            if stop.is_set():
                return 0
            return await relay.pump_once()
    return 0


async def _listen(dsn: str, wake: asyncio.Event) -> asyncpg.Connection | None:
    try:
        conn = await asyncpg.connect(dsn)
        await conn.add_listener("ledger_outbox", lambda *_: wake.set())
        return conn
    except Exception:  # polling still delivers; the listener is re-made on the next idle turn
        log.warning("LISTEN unavailable, polling", exc_info=True)
        return None


async def _ensure_listener(conn: asyncpg.Connection | None, dsn: str, wake: asyncio.Event) -> Any:
    if conn is not None and not conn.is_closed():
        return conn
    return await _listen(dsn, wake)


async def _wait_any(wake: asyncio.Event, stop: asyncio.Event, *, timeout: float) -> None:
    waiters = [asyncio.create_task(wake.wait()), asyncio.create_task(stop.wait())]
    await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    for w in waiters:
        w.cancel()


async def _close_quietly(conn: asyncpg.Connection | None) -> None:
    if conn is not None and not conn.is_closed():
        await conn.close()
