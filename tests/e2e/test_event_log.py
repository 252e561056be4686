"""The event log end to end: a reader started after many events reads them all, then live ones, with no gap,
no duplicate and each account's order kept; the same after the relay is killed mid-publish and after the
broker restarts. ``LEDGER_LOG_EVENTS`` sets the size (``make test``: 3,000; the figure in docs/benchmarks.md
is from 100,000), and each test prints what it measured."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator

import aio_pika
import asyncpg
import pytest
from pydantic import SecretStr

from contracts.events import EventEnvelope
from ledger_cli.broker_node import BrokerNode, available
from ledger_cli.processes import Processes
from ledger_common.settings import Settings
from ledger_sdk.amqp import _probe
from ledger_sdk.amqp.log import LogReader
from tests.e2e import log_load
from tests.e2e.conftest import wait_until

pytestmark = pytest.mark.e2e

EVENTS = int(os.environ.get("LEDGER_LOG_EVENTS", "3000"))
LIVE = 400  # events published once the reader has caught up


@pytest.fixture
async def db(isolated_settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(isolated_settings.database_url.get_secret_value())
    yield conn
    await conn.close()


async def _all_applied(db: asyncpg.Connection) -> bool:
    return bool(await db.fetchval("SELECT count(*) >= $1 FROM events", EVENTS))


class Collected:
    """A log reader run in the background, keeping (position, event) of everything it handled."""

    def __init__(self, settings: Settings, name: str, **options: object) -> None:
        self.read: list[tuple[int, EventEnvelope]] = []
        self.reader = LogReader(
            settings.amqp_url.get_secret_value(),
            name=name,
            signing_keys=settings.event_signing_keys.get_secret_value(),
            namespace=settings.ledger_namespace,
            **options,  # type: ignore[arg-type]
        )
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def _handle(self, event: EventEnvelope) -> None:
        assert self.reader.handling is not None
        self.read.append((self.reader.handling, event))

    def start(self) -> None:
        self.task = asyncio.create_task(self.reader.run(self._handle, stop=self.stop))

    async def until(self, position: int, timeout: float = 600) -> float:
        started = time.monotonic()
        while (self.reader.position or 0) < position:
            assert self.task is not None
            if self.task.done():
                self.task.result()  # raises what stopped it
            if time.monotonic() - started > timeout:
                raise AssertionError(f"the reader is at {self.reader.position}, not {position}, after {timeout} s")
            await asyncio.sleep(0.05)
        return time.monotonic() - started

    async def close(self) -> None:
        self.stop.set()
        if self.task is not None:
            await asyncio.wait_for(self.task, 30)


async def _backfill_then_live(settings: Settings, db: asyncpg.Connection, ids: list[str], label: str) -> None:
    """A reader from the beginning reads the ``EVENTS`` logged so far, then ``LIVE`` more as they come."""
    reader = Collected(settings, "e2e-reader", start="beginning")
    reader.start()
    try:
        backfill = await reader.until(EVENTS)
        live = asyncio.create_task(log_load.transfers(settings, ids, LIVE // 2, tag="live", seed=2))
        await reader.until(EVENTS + LIVE)
        await live
    finally:
        await reader.close()
    log_load.check(reader.read, await db.fetch(log_load.LOGGED))
    assert len(reader.read) == EVENTS + LIVE
    rate = EVENTS / backfill
    print(f"\n{label}: read {EVENTS} logged events in {backfill:.1f} s ({rate:,.0f}/s), then {LIVE} live")


async def test_a_late_reader_reads_every_event_then_live_ones(
    isolated: Processes, isolated_settings: Settings, db: asyncpg.Connection
) -> None:
    isolated.start("worker")
    isolated.start("relay")
    ids = await log_load.accounts(isolated_settings, 200)
    await log_load.transfers(isolated_settings, ids, EVENTS // 2, tag="early")
    took = await log_load.wait_logged(db, EVENTS)
    print(f"\n{EVENTS} events logged and in the stream {took:.1f} s after the last transfer was confirmed")
    await _backfill_then_live(isolated_settings, db, ids, "late reader")


async def test_relay_killed_after_publishing_to_the_stream_before_recording_it(
    isolated: Processes, isolated_settings: Settings, db: asyncpg.Connection
) -> None:
    """The relay dies after the broker confirmed a batch and before the database recorded it: the next relay
    reads the stream's tail and continues after it, so no position is in the stream twice."""
    isolated.start("worker")
    ids = await log_load.accounts(isolated_settings, 200)
    await log_load.transfers(isolated_settings, ids, EVENTS // 2, tag="early")
    await wait_until(lambda: _all_applied(db), timeout=900)  # the relay finds them all at once
    isolated.start("relay", crash_at="relay.after_log_publish")
    assert isolated.wait_exit("relay", timeout=900) == -signal.SIGKILL  # numbering them all comes first
    assert await db.fetchval("SELECT published FROM event_stream_state") == 0  # nothing recorded...
    connection = await aio_pika.connect(isolated_settings.amqp_url.get_secret_value())
    try:
        tail = await _probe.last(connection, isolated_settings.topology.log_stream)
        assert tail is not None and tail[1] >= 1  # ... though a batch is in the stream
        isolated.start("relay")
        await log_load.wait_logged(db, EVENTS)
        seen = await _probe.messages_at(connection, isolated_settings.topology.log_stream, "first", count=EVENTS + 10)
    finally:
        await connection.close()
    assert [p for _, p, _ in seen] == list(range(1, EVENTS + 1)), "a position published twice (or missing)"
    await _backfill_then_live(isolated_settings, db, ids, "after a relay crash")


@pytest.mark.skipif(not available(), reason="needs RabbitMQ's scripts and root to run a node as rabbitmq")
async def test_broker_restart_mid_read(
    isolated_system: object, isolated_settings: Settings, db: asyncpg.Connection
) -> None:
    """On a broker node of the test's own: the broker restarts while a reader backfills and while events are
    published; relay and reader reconnect, and the reader still reads every event once, in order."""
    from ledger_cli.system import OwnSystem

    assert isinstance(isolated_system, OwnSystem)
    node = BrokerNode()
    node.start()
    try:
        settings = isolated_settings.model_copy(update={"amqp_url": SecretStr(node.url)})
        procs = isolated_system.processes(settings)
        try:
            procs.start("worker")
            procs.start("relay")
            ids = await log_load.accounts(settings, 200)
            await log_load.transfers(settings, ids, EVENTS // 2, tag="early")
            await log_load.wait_logged(db, EVENTS)
            reader = Collected(settings, "e2e-reader", start="beginning", prefetch=100)
            reader.start()
            await reader.until(EVENTS // 3)
            node.restart()
            await log_load.transfers(settings, ids, LIVE // 2, tag="live", seed=2)
            await reader.until(EVENTS + LIVE, timeout=300)
            await reader.close()
            assert reader.reader.reconnects >= 1
            log_load.check(reader.read, await db.fetch(log_load.LOGGED))
            assert len(reader.read) == EVENTS + LIVE
        finally:
            procs.stop_all()
    finally:
        node.destroy()
