"""The checker's own subscriber: a durable quorum queue bound to ``ledger.events``, consumed with acks.

An event is recorded in memory before it is acked, so nothing acked is lost; a connection lost before
the ack makes the broker redeliver, which shows up as a duplicate (deduplicated on ``event_id``, as
every subscriber must). The queue is declared before any process starts, so no event can be missed.
It connects straight to the broker (not through the proxy): the run's broker cuts are for the ledger.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import orjson
from aio_pika.abc import AbstractConnection, AbstractIncomingMessage

from ledger_common.amqp import connect, connection_lost, settle
from ledger_common.settings import Settings

log = logging.getLogger("ledger.chaos")

PREFETCH = 500


@dataclass(frozen=True, slots=True)
class Event:
    event_id: str
    type: str
    command_id: str
    account_id: str | None
    sequence: int | None
    balance_after: int | None


def _event(body: bytes) -> Event:
    raw = orjson.loads(body)
    payload = raw.get("payload") or {}
    account = raw.get("account_id")
    return Event(
        event_id=str(raw["event_id"]),
        type=str(raw["type"]),
        command_id=str(raw["command_id"]),
        account_id=str(account) if account is not None else None,
        sequence=raw.get("sequence"),
        balance_after=payload.get("balance_after") if isinstance(payload, dict) else None,
    )


class Collector:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._topology = settings.topology
        self.queue_name = f"{settings.ledger_namespace}chaos.events"
        self.first: dict[str, Event] = {}  # event_id -> event, in order of first arrival
        self.deliveries = 0
        self.unreadable = 0
        self.conflicts: list[str] = []  # event ids seen twice with different content
        self.reconnects = 0
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._connection: AbstractConnection | None = None

    async def start(self) -> None:
        """Declare the queue and start consuming; returns once the queue exists."""
        self._task = asyncio.create_task(self._supervise())
        await asyncio.wait_for(self._ready.wait(), timeout=60)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._connection is not None and not self._connection.is_closed:
            await self._connection.close()

    async def _supervise(self) -> None:
        while True:
            try:
                self._connection = await connect(self._settings, "chaos-collector")
                lost = connection_lost(self._connection)
                channel = await self._connection.channel()
                await channel.set_qos(prefetch_count=PREFETCH)
                exchange = await self._topology.declare_events(channel)
                queue = await channel.declare_queue(self.queue_name, durable=True, arguments={"x-queue-type": "quorum"})
                await queue.bind(exchange, routing_key="#")
                await queue.consume(self._on_message)
                self._ready.set()
                await lost
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("collector: broker session failed (%s)", type(exc).__name__)
            self.reconnects += 1
            await asyncio.sleep(0.5)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        self.deliveries += 1
        try:
            event = _event(message.body)
        except (ValueError, KeyError, TypeError):
            self.unreadable += 1
        else:
            if self.first.setdefault(event.event_id, event) != event:
                self.conflicts.append(event.event_id)  # a redelivery must be the same event
        await settle(message, ack=True)
