"""The gateway's edge maps the tree to HTTP against real PostgreSQL: a programming error in a read route is
a 500 with a ``trace_id`` (never a 503, never the error's text), a database fault is a 503 to retry.

A test-only app: the real ``problems.install`` and the real pool, with routes that fail the ways a
read route can; ``db.classify`` is also checked on errors real PostgreSQL raised.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import aio_pika
import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from contracts.errors import BrokerUnavailable, Bug, DatabaseUnavailable
from http_gateway import problems
from http_gateway.problems import PROBLEM_JSON, Problem
from ledger_cli.chaos.proxy import Proxy
from ledger_cli.processes import free_port
from ledger_common import amqp, db
from ledger_common.keystore import KeyNotFound
from ledger_sdk.amqp import _connect as sdk_connect
from tests.conftest import AMQP_URL

TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
#: Raises a real serialization failure (SQLSTATE 40001) from the server.
SERIALIZATION_FAILURE = "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = 'serialization_failure'; END $$"


async def _raised(pool: asyncpg.Pool, sql: str) -> BaseException:
    try:
        await pool.execute(sql)
    except Exception as exc:
        return exc
    raise AssertionError(f"{sql!r} did not fail")


async def test_classify_names_real_postgres_errors(pool: asyncpg.Pool, database_url: str) -> None:
    # Programming errors: not transient, so Bugs (before, every PostgresError counted as an outage).
    for sql, driver in (
        ("SELECT no_such_column FROM wallets", asyncpg.UndefinedColumnError),
        ("SELEC 1", asyncpg.PostgresSyntaxError),
        ("SELECT 'x'::int", asyncpg.DataError),
    ):
        exc = await _raised(pool, sql)
        assert isinstance(exc, driver)
        assert type(db.classify(exc)) is Bug and db.classify(exc).__cause__ is exc
    # What a retry can fix: a serialization failure, a backend terminated under us, no server at all.
    serialization = await _raised(pool, SERIALIZATION_FAILURE)
    assert isinstance(serialization, asyncpg.SerializationError)
    assert isinstance(db.classify(serialization), DatabaseUnavailable)
    conn = await asyncpg.connect(database_url)
    try:
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError)) as terminated:
            await conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        assert isinstance(db.classify(terminated.value), DatabaseUnavailable), repr(terminated.value)
    finally:
        await conn.close()
    with pytest.raises(OSError) as refused:
        await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{free_port()}/ledger", timeout=5)
    assert isinstance(db.classify(refused.value), DatabaseUnavailable)


async def test_classify_names_a_real_unreachable_broker() -> None:
    with pytest.raises(aio_pika.exceptions.AMQPConnectionError) as refused:
        await aio_pika.connect(f"amqp://guest:guest@127.0.0.1:{free_port()}/", timeout=5)
    assert isinstance(amqp.classify(refused.value), BrokerUnavailable)


async def test_whatever_fails_on_a_cut_connection_is_its_loss() -> None:
    """aiormq raises a bare RuntimeError for a channel asked of a connection just cut (ledger chaos's
    cut_broker crashed the relay's event log task with it): that is the connection's loss, not a Bug."""
    connection = await aio_pika.connect(AMQP_URL, timeout=5)
    surprise = RuntimeError("a driver's own error")
    assert not amqp.lost_with(connection, surprise)  # open: a RuntimeError is a bug
    await connection.close()
    with pytest.raises(RuntimeError) as closed:
        await connection.channel()
    assert amqp.lost_with(connection, closed.value) and amqp.lost_with(connection, surprise)


async def test_a_connection_the_broker_cut_is_lost_before_aio_pika_says_so() -> None:
    """ledger chaos seed 22 (cut_broker): the relay's event log asked a channel of a connection the proxy had
    just reset. aiormq knew it closed, aio-pika did not yet (it learns through a callback), and the
    RuntimeError crashed the relay; seed 42 stopped the SDK's LogReader the same way. The cut here is the
    chaos proxy's, as in those runs."""
    proxy = Proxy("127.0.0.1", urlsplit(AMQP_URL).port or 5672)
    await proxy.start()
    try:
        user = urlsplit(AMQP_URL)
        connection = await aio_pika.connect(
            f"amqp://{user.username}:{user.password}@127.0.0.1:{proxy.port}/", timeout=5
        )
        assert connection.transport is not None
        underlay = connection.transport.connection
        proxy.cut()
        await asyncio.wait([underlay.closing], timeout=10)  # aiormq has seen the cut
        assert underlay.is_closed
        with pytest.raises(RuntimeError) as closed:
            await connection.channel()
        assert amqp.lost_with(connection, closed.value)  # the relay reconnects
        assert sdk_connect.lost_with(connection, closed.value)  # so does the SDK's LogReader
        await connection.close()  # not left to the garbage collector (aio-pika warns then)
    finally:
        await proxy.close()


@pytest.fixture
async def unreachable() -> AsyncIterator[asyncpg.Pool]:
    """A pool whose database does not answer: nothing listens on its port (connections are made on use)."""
    dsn = f"postgresql://postgres@127.0.0.1:{free_port()}/ledger"
    down = await asyncpg.create_pool(dsn, min_size=0, max_size=1, timeout=5)
    assert down is not None
    yield down
    await down.close()


@pytest.fixture
async def client(pool: asyncpg.Pool, unreachable: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    problems.install(app)

    @app.get("/bad-sql")
    async def bad_sql() -> Any:
        return await pool.fetchval("SELECT no_such_column FROM wallets WHERE handle = 'secret-handle'")

    @app.get("/bad-data")
    async def bad_data() -> Any:
        return await pool.fetchval("SELECT 'not-a-number'::int")

    @app.get("/conflict")
    async def conflict() -> Any:
        return await pool.execute(SERIALIZATION_FAILURE)

    @app.get("/down")
    async def down() -> Any:
        return await unreachable.fetchval("SELECT 1")

    @app.get("/broker-down")
    async def broker_down() -> Any:
        raise BrokerUnavailable("no broker connection")

    @app.get("/key")
    async def key() -> Any:
        raise KeyNotFound("k-1")

    @app.get("/problem")
    async def problem() -> Any:
        raise Problem(403, "forbidden", "this key lacks the 'read' scope")

    @app.get("/crash")
    async def crash() -> Any:
        raise RuntimeError("password=hunter2 in a message")

    # raise_app_exceptions=False: an exception no handler of the tree claims is answered by Starlette's
    # server-error middleware, which then re-raises it for the server's log, as uvicorn does.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        yield http


def _internal_error(r: httpx.Response, *, secrets: tuple[str, ...]) -> str:
    assert r.status_code == 500, r.text
    assert r.headers["content-type"] == PROBLEM_JSON
    doc = r.json()
    assert (doc["code"], doc["status"]) == ("internal_error", 500)
    assert TRACE_ID.match(doc["trace_id"]), doc
    for secret in secrets:
        assert secret not in r.text
    return str(doc["trace_id"])


@pytest.mark.parametrize(
    ("path", "driver", "secrets"),
    [
        ("/bad-sql", "UndefinedColumnError", ("no_such_column", "secret-handle", "SELECT")),
        ("/bad-data", "InvalidTextRepresentationError", ("not-a-number", "integer")),
        ("/crash", "RuntimeError", ("hunter2", "password")),
    ],
)
async def test_a_programming_error_is_a_500_with_a_trace_id_logged_with_its_traceback(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, path: str, driver: str, secrets: tuple[str, ...]
) -> None:
    with caplog.at_level(logging.ERROR, logger="http_gateway"):
        trace_id = _internal_error(await client.get(path), secrets=secrets)
    [record] = [r for r in caplog.records if r.name == "http_gateway" and trace_id in r.getMessage()]
    assert record.levelno == logging.ERROR and getattr(record, "trace_id", None) == trace_id
    assert record.exc_info is not None and type(record.exc_info[1]).__name__ == driver
    assert path in record.getMessage()
    # Two failures, two ids.
    assert _internal_error(await client.get(path), secrets=secrets) != trace_id


@pytest.mark.parametrize(
    ("path", "named"),
    [("/down", "DatabaseUnavailable"), ("/conflict", "DatabaseUnavailable"), ("/broker-down", "BrokerUnavailable")],
)
async def test_an_unreachable_or_conflicting_backend_is_a_503_to_retry(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, path: str, named: str
) -> None:
    with caplog.at_level(logging.WARNING, logger="http_gateway"):
        r = await client.get(path)
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == "1" and r.headers["content-type"] == PROBLEM_JSON
    assert r.json()["code"] == "service_unavailable" and "trace_id" not in r.json()
    # The log names the service that is down (a refused connection is the database's, not the broker's).
    [record] = [r for r in caplog.records if r.name == "http_gateway"]
    assert record.levelno == logging.WARNING and named in record.getMessage(), record.getMessage()


async def test_rejections_keep_their_4xx(client: httpx.AsyncClient) -> None:
    r = await client.get("/key")
    assert (r.status_code, r.json()["code"], r.json()["detail"]) == (404, "key_not_found", "k-1")
    r = await client.get("/problem")
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
