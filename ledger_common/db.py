"""asyncpg pool creation and the transient-error classification used by every retry loop."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_exponential_jitter

#: SQLSTATEs worth retrying: serialization failure, deadlock, and connection/admin shutdown classes.
_TRANSIENT_SQLSTATES = {"40001", "40P01", "57P01", "57P02", "57P03", "53300"}


def is_transient(exc: BaseException) -> bool:
    """True for database errors that a retry can fix (lost connection, deadlock, restart)."""
    if isinstance(exc, (ConnectionError, OSError, asyncpg.exceptions.ConnectionDoesNotExistError)):
        return True
    if isinstance(exc, (asyncpg.exceptions.InterfaceError, asyncpg.exceptions.InternalClientError)):
        # What asyncpg raises when a connection is cut mid-operation (e.g. pg_terminate_backend).
        return True
    state = getattr(exc, "sqlstate", None)
    return isinstance(state, str) and (state in _TRANSIENT_SQLSTATES or state.startswith("08"))


async def _init(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(dsn: str, *, size: int, **kwargs: Any) -> asyncpg.Pool:
    """A pool whose connections decode jsonb; retries for a minute so the database may start later."""
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(is_transient),
        wait=wait_exponential_jitter(multiplier=0.2, max=5.0, jitter=0.2),
        stop=stop_after_delay(60),
        reraise=True,
    ):
        with attempt:
            pool = await asyncpg.create_pool(dsn, min_size=1, max_size=size, init=_init, **kwargs)
            assert pool is not None
            return pool
    raise AssertionError("unreachable")
