"""Composition root of the worker process."""

from __future__ import annotations

import asyncio
import logging
import signal

import aio_pika

from ledger_common.db import create_pool
from ledger_common.settings import Settings
from ledger_worker.consumer import Worker

log = logging.getLogger("ledger_worker")


async def run_worker(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    pool = await create_pool(settings.database_url.get_secret_value(), size=settings.db_pool_size)
    connection = await aio_pika.connect_robust(settings.amqp_url.get_secret_value())
    worker = Worker(settings, pool, connection)
    try:
        await worker.start()
        await stop.wait()
        log.info("worker stopping: draining in-flight commands")
        await worker.stop()
    finally:
        await connection.close()
        await pool.close()
        log.info("worker stopped")
