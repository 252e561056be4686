"""Fixtures: a fresh database and a unique AMQP namespace per test session (xdist worker)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from ledger_cli.database import migrate
from ledger_common.db import create_pool
from ledger_common.settings import Settings

ADMIN_URL = os.environ.get("TEST_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def _db_url(name: str) -> str:
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base}/{name}"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    import asyncio

    name = f"ledger_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = _db_url(name)
    migrate(Settings(database_url=url))
    yield url
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def drop_namespace(settings: Settings) -> None:
    """Delete the namespace's queues and exchanges: left behind, quorum queues pile up on the broker."""
    import aio_pika

    t = settings.topology
    try:
        connection = await aio_pika.connect(settings.amqp_url.get_secret_value(), timeout=10)
    except Exception:  # the broker is gone: nothing to tidy
        return
    async with connection:
        for name in (t.commands_queue, t.commands_dead_queue):
            channel = await connection.channel()
            await channel.queue_delete(name)
        for name in (t.commands_exchange, t.commands_dlx, t.events_exchange):
            channel = await connection.channel()
            await channel.exchange_delete(name)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Iterator[Settings]:
    s = Settings(
        environment="test",
        database_url=database_url,
        amqp_url=AMQP_URL,
        ledger_namespace=f"t{uuid.uuid4().hex[:10]}.",
        service_api_key="test-key-" + uuid.uuid4().hex,
        api_key_pepper="test-pepper-" + uuid.uuid4().hex,
        event_signing_keys=f"t1:test-signing-{uuid.uuid4().hex}",
    )
    yield s
    asyncio.run(drop_namespace(s))


@pytest.fixture(scope="session")
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(settings.database_url.get_secret_value(), size=25)
    yield p
    await p.close()
