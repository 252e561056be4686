"""Composition root of the worker process."""

from __future__ import annotations

import asyncio
import logging
import signal

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
    try:
        while not stop.is_set():
            connection = await connect(settings, "worker")
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
        await pool.close()
        log.info("worker stopped")


async def _close(connection: object) -> None:
    try:
        await connection.close()  # type: ignore[attr-defined]
    except Exception:  # already closed by the broker
        log.debug("close after loss failed", exc_info=True)
