"""asyncpg pool creation and the mapping of driver errors into the ledger's tree (``contracts.errors``)."""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import Any

import asyncpg
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_delay,
    stop_never,
    wait_exponential_jitter,
)

from contracts.errors import Bug, DatabaseUnavailable, LedgerError
from ledger_common import metrics

log = logging.getLogger("ledger")

#: SQLSTATEs worth retrying: serialization failure, deadlock, connection/admin shutdown classes (57P03:
#: a server starting or in recovery), and 25006 (read-only transaction): a connection that reached a
#: server which is, or has just become, a standby. After a failover a retry reconnects, and a multi-host
#: ``DATABASE_URL`` with ``target_session_attrs=read-write`` finds the new primary (docs/operations.md).
_TRANSIENT_SQLSTATES = {"40001", "40P01", "57P01", "57P02", "57P03", "53300", "25006"}


def is_transient(exc: BaseException) -> bool:
    """True for database errors that a retry can fix (lost connection, deadlock, restart)."""
    if isinstance(exc, DatabaseUnavailable):
        return True
    if isinstance(exc, (ConnectionError, OSError, asyncpg.exceptions.ConnectionDoesNotExistError)):
        return True
    if isinstance(exc, (asyncpg.exceptions.InterfaceError, asyncpg.exceptions.InternalClientError)):
        # What asyncpg raises when a connection is cut mid-operation (e.g. pg_terminate_backend), and
        # TargetServerAttributeNotMatched: no host of a multi-host URL is the primary (mid-failover).
        return True
    state = getattr(exc, "sqlstate", None)
    return isinstance(state, str) and (state in _TRANSIENT_SQLSTATES or state.startswith("08"))


def classify(exc: BaseException) -> LedgerError:
    """The tree's name for an error raised while using the database.

    Ours pass unchanged; what :func:`is_transient` says a retry can fix becomes
    ``DatabaseUnavailable``; anything else (an SQL syntax error, an undefined column, a data error, a
    violated constraint nobody expected) is a ``Bug``. The driver's error is the result's ``__cause__``.
    """
    if isinstance(exc, LedgerError):
        return exc
    mapped: LedgerError = DatabaseUnavailable(type(exc).__name__) if is_transient(exc) else Bug(type(exc).__name__)
    mapped.__cause__ = exc
    return mapped


def _numeric(text: str) -> int | Decimal:
    """Amounts are numeric(38,0): decode them as exact ints; anything fractional stays a Decimal."""
    try:
        return int(text)
    except ValueError:
        return Decimal(text)


async def init_connection(conn: asyncpg.Connection) -> None:
    """Codecs every connection uses: jsonb as Python objects, integral numerics as ints."""
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("numeric", encoder=str, decoder=_numeric, schema="pg_catalog", format="text")


async def connect(dsn: str) -> asyncpg.Connection:
    """A single connection with the same codecs as the pools (for the CLI and tools)."""
    conn = await asyncpg.connect(dsn)
    await init_connection(conn)
    return conn


def retrying(*, first_wait: float, max_wait: float, give_up_after: float | None = None) -> AsyncRetrying:
    """Retry transient database errors with jittered exponential backoff; re-raise the last one."""

    def _log(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning("database unavailable (%s), retry %d", type(exc).__name__, state.attempt_number)
        metrics.DB_RETRIES.inc()

    return AsyncRetrying(
        before_sleep=_log,
        retry=retry_if_exception(is_transient),
        wait=wait_exponential_jitter(multiplier=first_wait, max=max_wait, jitter=first_wait),
        stop=stop_after_delay(give_up_after) if give_up_after is not None else stop_never,
        reraise=True,
    )


async def create_pool(dsn: str, *, size: int, **kwargs: Any) -> asyncpg.Pool:
    """A pool whose connections decode jsonb; retries for a minute so the database may start later."""
    async for attempt in retrying(first_wait=0.2, max_wait=5.0, give_up_after=60):
        with attempt:
            pool = await asyncpg.create_pool(dsn, min_size=1, max_size=size, init=init_connection, **kwargs)
            assert pool is not None
            return pool
    raise AssertionError("unreachable")
