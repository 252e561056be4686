"""End-to-end fixtures: a running system, an events subscriber, raw AMQP publishing."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import aio_pika
import httpx
import pytest
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from contracts.events import EventEnvelope, parse_event
from ledger_common.settings import Settings
from tests.conftest import _admin, _db_url, drop_namespace
from tests.processes import System

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def system(settings: Settings) -> Iterator[System]:
    sys_ = System(settings)
    for name in ("worker", "relay", "gateway"):
        sys_.start(name)
    yield sys_
    sys_.stop_all()


@pytest.fixture
def isolated_settings(settings: Settings) -> Iterator[Settings]:
    """A second database and namespace, for tests that kill and restart processes."""
    from ledger_cli.database import migrate

    name = f"ledger_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = _db_url(name)
    s = settings.model_copy(
        update={"database_url": type(settings.database_url)(url), "ledger_namespace": f"t{uuid.uuid4().hex[:10]}."}
    )
    migrate(s)
    yield s
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(drop_namespace(s))


@pytest.fixture
def isolated(isolated_settings: Settings) -> Iterator[System]:
    """A system of its own (database, namespace) whose processes a test starts and kills itself."""
    sys_ = System(isolated_settings)
    yield sys_
    sys_.stop_all()


@pytest.fixture
async def client(system: System) -> AsyncIterator[httpx.AsyncClient]:
    token = system.settings.service_api_key.get_secret_value()
    async with httpx.AsyncClient(
        base_url=system.base_url, timeout=30, headers={"Authorization": f"Bearer {token}"}
    ) as c:
        yield c


class Subscriber:
    """An exclusive queue bound to ledger.events that collects every event it receives."""

    def __init__(self) -> None:
        self.messages: list[AbstractIncomingMessage] = []
        self.events: list[EventEnvelope] = []

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        if (message.routing_key or "").startswith("key."):
            return  # API key events (contracts.keys.KeyEvent), from access-control tests in this namespace
        self.messages.append(message)
        self.events.append(parse_event(message.body))

    async def wait_for(self, predicate: Callable[[list[EventEnvelope]], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self.events):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; got {[(e.type, e.command_id) for e in self.events]}")
            await asyncio.sleep(0.05)


async def subscribe(connection: AbstractRobustConnection, settings: Settings) -> Subscriber:
    channel = await connection.channel()
    exchange = await settings.topology.declare_events(channel)
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind(exchange, routing_key="#")
    sub = Subscriber()
    await queue.consume(sub.on_message, no_ack=True)
    return sub


@pytest.fixture
async def amqp(settings: Settings) -> AsyncIterator[AbstractRobustConnection]:
    connection = await aio_pika.connect_robust(settings.amqp_url.get_secret_value())
    yield connection
    await connection.close()


async def wait_until(check: Callable[[], Awaitable[object]], timeout: float = 30.0) -> None:
    """Poll ``check`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.05)


async def publish_command(
    connection: AbstractRobustConnection,
    settings: Settings,
    body: dict[str, Any] | bytes,
    routing_key: str = "x",
    **props: Any,
) -> None:
    channel = await connection.channel(publisher_confirms=True)
    exchange, _ = await settings.topology.declare_commands(channel)
    raw = body if isinstance(body, bytes) else json.dumps(body, default=str).encode()
    await exchange.publish(
        aio_pika.Message(raw, delivery_mode=aio_pika.DeliveryMode.PERSISTENT, **props), routing_key=routing_key
    )
    await channel.close()
