"""The server's databases: create and drop them (on the ``postgres`` database), migrate their schema.

Migrations run through alembic, from the packaged migrations directory.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from alembic import command
from alembic.config import Config

from ledger_common.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def with_database(dsn: str, name: str) -> str:
    """``dsn`` pointing at database ``name`` instead."""
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


def database_name(dsn: str) -> str:
    return urlsplit(dsn).path.lstrip("/")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _admin(dsn: str, sql: str) -> None:
    """Run ``sql`` (CREATE/DROP DATABASE) on the ``postgres`` database of ``dsn``'s server."""
    conn = await asyncpg.connect(with_database(dsn, "postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def create_database(dsn: str, name: str) -> str:
    """Create the empty database ``name`` on ``dsn``'s server; returns its URL."""
    await _admin(dsn, f"CREATE DATABASE {_quoted(name)}")
    return with_database(dsn, name)


async def drop_database(dsn: str) -> None:
    """Drop the database ``dsn`` names, whoever is still connected to it."""
    await _admin(dsn, f"DROP DATABASE IF EXISTS {_quoted(database_name(dsn))} WITH (FORCE)")


async def _ensure_database(url: str) -> None:
    """Create the database named in ``url`` if it does not exist (first ``make run`` on a machine)."""
    try:
        conn = await asyncpg.connect(url)
    except asyncpg.InvalidCatalogNameError:
        await create_database(url, database_name(url))
    else:
        await conn.close()


def migrate(settings: Settings, revision: str = "head") -> None:
    """Create the database if needed and upgrade its schema to ``revision``."""
    asyncio.run(_ensure_database(settings.database_url.get_secret_value()))
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = settings.database_url.get_secret_value()
    command.upgrade(config, revision)
