"""The bench's AMQP side: commands published with confirms, and its own subscriber to the ledger's events.

The subscriber is an exclusive queue bound to ``ledger.events`` for just the event types the
scenarios wait for, consumed without acks (a lost event is a failure the bench should see, not
one to redeliver). Each command awaits one event type, e.g. a transfer its payee's
``account.credited``; a ``command.refused`` for the command ends the wait too.
"""

from __future__ import annotations

import asyncio
import time
from typing import NamedTuple

import aio_pika
import orjson
from aio_pika.abc import AbstractConnection, AbstractExchange, AbstractIncomingMessage

from contracts.commands import Command
from contracts.partitions import routing_key
from ledger_common.amqp import connect
from ledger_common.settings import Settings

REFUSED = "command.refused"
#: The event types the scenarios wait for.
AWAITED = ("account.credited", "hold.placed", "hold.captured")


class Arrival(NamedTuple):
    """The awaited event (or ``command.refused``) and when it arrived (``time.perf_counter()``)."""

    kind: str
    at: float


class Subscriber:
    """Resolves one future per command id when that command's awaited event arrives."""

    def __init__(self) -> None:
        self._waiting: dict[str, tuple[str, asyncio.Future[Arrival]]] = {}
        self.received = 0

    def expect(self, command_id: str, event_type: str) -> asyncio.Future[Arrival]:
        """A future for ``command_id``'s ``event_type`` event; call before publishing the command."""
        future: asyncio.Future[Arrival] = asyncio.get_running_loop().create_future()
        self._waiting[command_id] = (event_type, future)
        return future

    def forget(self, command_id: str) -> None:
        """Stop waiting for ``command_id`` (it timed out, or was never published)."""
        self._waiting.pop(command_id, None)

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        now = time.perf_counter()
        self.received += 1
        kind = message.routing_key or ""
        command_id = str(orjson.loads(message.body).get("command_id"))
        entry = self._waiting.get(command_id)
        if entry is None or kind not in (entry[0], REFUSED):
            return  # duplicates, the debit side's events, other clients' commands
        del self._waiting[command_id]
        if not entry[1].done():
            entry[1].set_result(Arrival(kind, now))


class Bus:
    """One broker connection: a confirming publisher channel and the subscriber's channel."""

    def __init__(
        self,
        connection: AbstractConnection,
        exchange: AbstractExchange,
        subscriber: Subscriber,
        *,
        user: str,
        partitions: int = 1,
    ) -> None:
        self._user = user
        self._partitions = partitions
        self._connection = connection
        self._exchange = exchange
        self.subscriber = subscriber

    @classmethod
    async def open(cls, settings: Settings, name: str) -> Bus:
        """Connect, bind the subscriber's queue (before any command is sent) and open the publisher."""
        connection = await connect(settings, name)
        try:
            subscriber = Subscriber()
            channel = await connection.channel()
            events = await settings.topology.declare_events(channel)
            queue = await channel.declare_queue(exclusive=True, auto_delete=True)
            for key in (*AWAITED, REFUSED):
                await queue.bind(events, routing_key=key)
            await queue.consume(subscriber.on_message, no_ack=True)
            publisher = await connection.channel(publisher_confirms=True)
            exchange, _ = await settings.topology.declare_commands(publisher)
        except BaseException:
            await connection.close()
            raise
        return cls(connection, exchange, subscriber, user=settings.amqp_user, partitions=settings.command_partitions)

    async def publish(self, cmd: Command) -> None:
        """Publish ``cmd`` and wait for the broker's confirm (it is then durable in the quorum queue)."""
        message = aio_pika.Message(
            cmd.model_dump_json().encode(),
            content_type="application/json",
            message_id=cmd.command_id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            user_id=self._user,
        )
        await self._exchange.publish(message, routing_key=routing_key(cmd, self._partitions))

    async def close(self) -> None:
        await self._connection.close()
