"""Request/reply over RabbitMQ: publish a command, await the worker's reply on our own queue."""

from __future__ import annotations

import asyncio
import logging
from uuid import uuid4

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractIncomingMessage, AbstractRobustConnection

from contracts.commands import Command
from contracts.results import CommandResult
from contracts.topology import Topology

log = logging.getLogger("http_gateway")


class CommandBus:
    def __init__(self, connection: AbstractRobustConnection, topology: Topology) -> None:
        self._connection = connection
        self._topology = topology
        self._pending: dict[str, asyncio.Future[CommandResult]] = {}
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self.reply_queue = f"{topology.namespace}ledger.gateway.replies.{uuid4().hex}"

    async def start(self) -> None:
        self._channel = await self._connection.channel(publisher_confirms=True)
        # Declaring the worker's queue here too means commands are kept even before a worker starts.
        self._exchange, _ = await self._topology.declare_commands(self._channel)
        queue = await self._channel.declare_queue(self.reply_queue, exclusive=True, auto_delete=True)
        await queue.consume(self._on_reply, no_ack=True)

    @property
    def connected(self) -> bool:
        return not self._connection.is_closed

    async def send(self, cmd: Command, *, timeout: float) -> CommandResult | None:
        """Publish ``cmd`` (confirmed) and wait up to ``timeout`` for its result; None on timeout."""
        assert self._exchange is not None
        correlation_id = cmd.correlation_id or uuid4().hex
        cmd = cmd.model_copy(update={"correlation_id": correlation_id, "reply_to": self.reply_queue})
        future: asyncio.Future[CommandResult] = asyncio.get_running_loop().create_future()
        self._pending[correlation_id] = future
        try:
            message = aio_pika.Message(
                cmd.model_dump_json().encode(),
                content_type="application/json",
                message_id=cmd.command_id,
                correlation_id=correlation_id,
                reply_to=self.reply_queue,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            )
            await self._exchange.publish(message, routing_key=cmd.type)
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            return None
        finally:
            self._pending.pop(correlation_id, None)

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        future = self._pending.get(message.correlation_id or "")
        if future is None or future.done():
            return  # the caller gave up (202 already sent); the result is in GET /v1/commands
        try:
            future.set_result(CommandResult.model_validate_json(message.body))
        except ValueError as exc:
            future.set_exception(exc)
