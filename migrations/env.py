"""Alembic environment: runs migrations over asyncpg using DATABASE_URL from settings."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from contracts.nodes import hosts_in_query
from ledger_common.settings import get_settings


def _async_url(url: str) -> str:
    # Operators write plain postgresql:// URLs; SQLAlchemy needs the driver named, and a formation's
    # hosts as host= parameters.
    url = hosts_in_query(url)
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()


async def _main() -> None:
    url = context.config.attributes.get("database_url") or get_settings().database_url.get_secret_value()
    engine = create_async_engine(_async_url(url))
    async with engine.connect() as conn:
        await conn.run_sync(_run)
    await engine.dispose()


asyncio.run(_main())
