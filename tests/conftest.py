"""Fixtures: a fresh database and a unique AMQP namespace per test session (xdist worker).

Both are a :class:`ledger_cli.system.OwnSystem`, the same own system ``ledger chaos`` and ``ledger
bench`` run in; e2e tests run its processes with :class:`ledger_cli.processes.Processes`.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from ledger_cli.system import OwnSystem
from ledger_common.db import create_pool
from ledger_common.settings import Settings

ADMIN_URL = os.environ.get("TEST_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def base_settings() -> Settings:
    """What every test system shares: test secrets, and schedules short enough that no test waits on them."""
    return Settings(
        environment="test",
        database_url=ADMIN_URL,
        amqp_url=AMQP_URL,
        api_key_pepper="test-pepper-" + uuid.uuid4().hex,
        event_signing_keys=f"t1:test-signing-{uuid.uuid4().hex}",
        relay_poll_seconds=0.5,
        sweep_seconds=0.2,
    )


def own_system(settings: Settings) -> Iterator[OwnSystem]:
    """A migrated database and namespace of their own, with ``settings``' secrets; dropped afterwards."""
    own = asyncio.run(OwnSystem.create(settings, prefix="test"))
    yield own
    asyncio.run(own.destroy(keep=False, keep_logs=False))


@pytest.fixture(scope="session")
def session_system() -> Iterator[OwnSystem]:
    yield from own_system(base_settings())


@pytest.fixture(scope="session")
def settings(session_system: OwnSystem) -> Settings:
    return session_system.direct


@pytest.fixture(scope="session")
def database_url(settings: Settings) -> str:
    return settings.database_url.get_secret_value()


@pytest.fixture(scope="session")
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(settings.database_url.get_secret_value(), size=25)
    yield p
    await p.close()
