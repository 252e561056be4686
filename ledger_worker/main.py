"""Composition root of the worker process."""

from __future__ import annotations

import asyncio
import logging
import signal

import asyncpg

from ledger_common import metrics, probes
from ledger_common.amqp import connect, connection_lost, wait_first
from ledger_common.db import create_pool
from ledger_common.settings import Settings
from ledger_worker.consumer import Worker
from ledger_worker.sweeper import run_sweeper

log = logging.getLogger("ledger_worker")


async def run_worker(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    pool = await create_pool(settings.database_url.get_secret_value(), size=settings.db_pool_size)
    worker = Worker(settings, pool)
    sweeper = asyncio.create_task(run_sweeper(pool, worker.applier, every=settings.sweep_seconds, stop=stop))
    server, gauges = await _observe(settings, pool, worker, stop)
    connections = 0
    try:
        while not stop.is_set():
            connection = await connect(settings, "worker")
            connections += 1
            if connections > 1:
                metrics.RECONNECTS.inc()
            try:
                await worker.start(connection)
                await wait_first(stop.wait(), connection_lost(connection))
                if stop.is_set():
                    log.info("worker stopping: draining in-flight commands")
                    await worker.stop()
                else:  # unacked commands go back to the queue; idempotency makes the replay harmless
                    log.warning("broker connection lost; reconnecting")
            finally:
                await _close(connection)
    finally:
        stop.set()
        await sweeper
        if gauges is not None:
            await gauges
        if server is not None:
            await server.close()
        await pool.close()
        log.info("worker stopped")


async def _observe(
    settings: Settings, pool: asyncpg.Pool, worker: Worker, stop: asyncio.Event
) -> tuple[probes.ProbeServer | None, asyncio.Task[None] | None]:
    """Metrics and their refresh task (``METRICS_ENABLED``), the probe port (``METRICS_PORT``)."""
    metrics.configure(settings.metrics_enabled)
    metrics.watch_pool(pool)
    waiting = metrics.DEAD_LETTERS.labels("commands")

    async def refresh() -> None:
        waiting.set(await worker.dead_letters_waiting())

    async def live() -> tuple[bool, dict[str, object]]:
        busiest = worker.progress.longest()
        return worker.lanes_alive and busiest < settings.liveness_stall_seconds, {"longest_batch_seconds": busiest}

    async def ready() -> tuple[bool, dict[str, object]]:
        database, consuming = await probes.database_ok(pool), worker.consuming
        return database and consuming, {"database": database, "consuming": consuming}

    every = settings.metrics_refresh_seconds
    gauges = asyncio.create_task(probes.every(every, refresh, stop)) if settings.metrics_enabled else None
    server = await probes.serve(settings.metrics_host, settings.metrics_port, live=live, ready=ready)
    return server, gauges


async def _close(connection: object) -> None:
    try:
        await connection.close()  # type: ignore[attr-defined]
    except Exception:  # already closed by the broker
        log.debug("close after loss failed", exc_info=True)
