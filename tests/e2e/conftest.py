"""End-to-end fixtures: a running system, an events subscriber, raw AMQP publishing."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

import aio_pika
import httpx
import pytest
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from contracts.events import EventEnvelope, parse_event
from ledger_cli.processes import Processes
from ledger_cli.system import OwnSystem
from ledger_common.settings import Settings
from tests import examples
from tests.conftest import own_system

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def system(session_system: OwnSystem) -> Iterator[Processes]:
    procs = session_system.processes()
    for name in ("worker", "relay", "gateway"):
        procs.start(name)
    examples.DATABASE.append(procs.settings.database_url.get_secret_value())
    yield procs
    examples.DATABASE.pop()
    procs.stop_all()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian chromium (tests/e2e/browser.py), one per module of browser tests."""
    from tests.e2e.browser import chromium

    async with chromium() as launched:
        yield launched


@pytest.fixture
async def page(browser: Browser, system: Processes) -> AsyncIterator[Page]:
    """A fresh context (no storage, no cookie) at 1366x768 whose relative URLs go to the running gateway."""
    from tests.e2e.browser import TIMEOUT_MS, VIEWPORT

    context = await browser.new_context(viewport=VIEWPORT, base_url=system.base_url)  # type: ignore[arg-type]
    context.set_default_timeout(TIMEOUT_MS)
    opened = await context.new_page()
    try:
        yield opened
    finally:
        await context.close()


@pytest.fixture
def isolated_system(settings: Settings) -> Iterator[OwnSystem]:
    """A second database and namespace, for tests that kill and restart processes."""
    yield from own_system(settings)


@pytest.fixture
def isolated_settings(isolated_system: OwnSystem) -> Settings:
    return isolated_system.direct


@pytest.fixture
def isolated(isolated_system: OwnSystem) -> Iterator[Processes]:
    """The processes of a system of its own (database, namespace), which a test starts and kills itself."""
    procs = isolated_system.processes()
    examples.DATABASE.append(procs.settings.database_url.get_secret_value())
    yield procs
    examples.DATABASE.pop()
    procs.stop_all()


@pytest.fixture
async def client(system: Processes) -> AsyncIterator[httpx.AsyncClient]:
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
    props.setdefault("user_id", settings.amqp_user)  # the worker identifies publishers by it
    await exchange.publish(
        aio_pika.Message(raw, delivery_mode=aio_pika.DeliveryMode.PERSISTENT, **props), routing_key=routing_key
    )
    await channel.close()
