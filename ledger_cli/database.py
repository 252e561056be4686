"""Schema migration through alembic, from the packaged migrations directory."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config

from ledger_common.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


async def _ensure_database(url: str) -> None:
    """Create the database named in ``url`` if it does not exist (first ``make run`` on a machine)."""
    try:
        conn = await asyncpg.connect(url)
    except asyncpg.InvalidCatalogNameError:
        base, _, name = url.rpartition("/")
        name = name.split("?")[0]
        admin = await asyncpg.connect(f"{base}/postgres")
        try:
            quoted = await admin.fetchval("SELECT quote_ident($1)", name)
            await admin.execute(f"CREATE DATABASE {quoted}")
        finally:
            await admin.close()
    else:
        await conn.close()


def migrate(settings: Settings, revision: str = "head") -> None:
    """Create the database if needed and upgrade its schema to ``revision``."""
    asyncio.run(_ensure_database(settings.database_url.get_secret_value()))
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = settings.database_url.get_secret_value()
    command.upgrade(config, revision)
