"""Request/reply over RabbitMQ: publish a command, await the worker's reply on our own queue.

Publishing and consuming go through aio-pika's underlying aiormq channel (as the worker's replies do):
aio-pika's ``Message`` and ``IncomingMessage`` wrappers cost more CPU per request than the rest of the
round trip, and the gateway needs neither. A reply is handed back as the bytes the worker sent, so the
HTTP answer can carry them as they are (``http_gateway.writes``).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from typing import Any, cast
from uuid import uuid4

import aiormq
from aio_pika.abc import AbstractChannel, AbstractConnection
from aiormq.abc import DeliveredMessage
from pamqp import commands as spec

from contracts.commands import Command
from contracts.errors import BrokerUnavailable
from contracts.partitions import routing_key
from contracts.results import CommandResult
from ledger_common import amqp, metrics, tracing
from ledger_common.amqp import connect, connection_lost
from ledger_common.faults import crash_point
from ledger_common.settings import Settings

log = logging.getLogger("http_gateway")


__all__ = ["BrokerUnavailable", "CommandBus"]  # BrokerUnavailable lived here; it is contracts.errors' now


class CommandBus:
    """Owns the gateway's broker connection and reconnects it in the background when it drops."""

    def __init__(self, settings: Settings, *, role: str = "gateway") -> None:
        self._settings = settings
        self._role = role
        self._topology = settings.topology
        self._connection: AbstractConnection | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._pending: dict[str, asyncio.Future[bytes]] = {}
        self._channel: AbstractChannel | None = None
        self._publisher: aiormq.Channel | None = None
        self._exchange = self._topology.commands_exchange
        self.reply_queue = f"{self._topology.namespace}ledger.{role}.replies.{uuid4().hex}"
        self._user = settings.amqp_user  # parsed from AMQP_URL once, not per publish
        # Correlation ids only have to be unique among this process's requests (its reply queue is its own):
        # a counter, cheaper per request than a uuid4.
        self._correlation = itertools.count(1)

    def correlation_id(self) -> str:
        """A correlation id for a command sent through this bus: never the same twice in this process."""
        return f"{next(self._correlation):x}"

    async def start(self) -> None:
        self._supervisor = asyncio.create_task(self._supervise())
        await asyncio.wait_for(self._ready.wait(), timeout=60)

    async def close(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
        if self._connection is not None:
            await self._connection.close()

    async def _supervise(self) -> None:
        while True:
            self._connection = await connect(self._settings, self._role)
            lost = connection_lost(self._connection)
            try:
                await self._open(self._connection)
                self._ready.set()
                await lost
            except Exception:
                log.warning("broker session failed", exc_info=True)
            finally:
                self._ready.clear()
                self._replies_lost()
            log.warning("broker connection lost; reconnecting")
            metrics.RECONNECTS.inc()
            await asyncio.sleep(0.2)

    def _replies_lost(self) -> None:
        """The reply queue went with the connection (with its node, in a cluster): the requests waiting on
        it stop waiting for a reply and look for their recorded outcome instead (http_gateway/outcomes.py)."""
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("reply queue lost with the broker connection"))

    async def _open(self, connection: AbstractConnection) -> None:
        self._channel = await connection.channel(publisher_confirms=True)
        # Declaring the worker's queue here too means commands are kept even before a worker starts.
        exchange, _ = await self._topology.declare_commands(self._channel)
        self._exchange = exchange.name
        queue = await self._channel.declare_queue(self.reply_queue, exclusive=True, auto_delete=True)
        # aiormq's own class, whose basic_publish takes ``wait`` (its abstract base does not say so).
        self._publisher = cast(aiormq.Channel, await self._channel.get_underlay_channel())
        await self._publisher.basic_consume(queue.name, self._on_reply, no_ack=True)

    @property
    def connected(self) -> bool:
        return self._ready.is_set() and self._connection is not None and not self._connection.is_closed

    @property
    def connection(self) -> AbstractConnection | None:
        """The open broker connection, for a question that needs no channel of the bus (a queue's depth)."""
        return self._connection if self.connected else None

    async def send(self, cmd: Command, *, timeout: float) -> CommandResult | None:
        """Publish ``cmd`` (confirmed) and wait up to ``timeout`` for its result; None on timeout, or at once
        when the connection (and the reply queue with it) is lost while waiting."""
        correlation_id = cmd.correlation_id or self.correlation_id()
        cmd = cmd.model_copy(update={"correlation_id": correlation_id, "reply_to": self.reply_queue})
        reply = await self.request(cmd, cmd.model_dump_json().encode(), timeout=timeout)
        return None if reply is None else CommandResult.model_validate_json(reply)

    async def request(self, cmd: Command, body: bytes, *, timeout: float) -> bytes | None:
        """Publish ``body``, the JSON of ``cmd`` (confirmed; its ``reply_to`` is :attr:`reply_queue` and its
        ``correlation_id`` set), and wait up to ``timeout`` for the worker's reply, as the bytes it sent; None
        on timeout, or at once when the connection (and the reply queue with it) is lost while waiting."""
        if not self.connected or self._publisher is None:
            raise BrokerUnavailable("no broker connection")
        correlation_id = cmd.correlation_id
        assert correlation_id is not None and cmd.reply_to == self.reply_queue
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bytes] = loop.create_future()
        self._pending[correlation_id] = future
        try:
            headers: dict[str, Any] | None = None
            if tracing.ENABLED:  # the request's span: the worker's span for this command is its child
                headers = {}
                tracing.inject(headers)
            properties = spec.Basic.Properties(
                content_type="application/json",
                headers=headers,
                delivery_mode=2,  # persistent
                correlation_id=correlation_id,
                reply_to=self.reply_queue,
                message_id=cmd.command_id,
                user_id=self._user,  # checked by RabbitMQ: the worker's proof of who sent it
            )
            await self._publish(self._publisher, body, properties, routing_key(cmd, self._topology.partitions))
            # The command is durable in its queue and the caller has no answer: a client that retries with
            # the same key gets the one outcome (tests/e2e/test_sdk_faults.py kills the gateway here).
            crash_point("gateway.after_publish")
            # The reply's own timer, not wait_for(shield(...)): that wraps the one future in two more per request.
            expiry = loop.call_later(timeout, _expire, future)
            try:
                return await future
            finally:
                expiry.cancel()
        except TimeoutError:
            metrics.GATEWAY_REPLY_TIMEOUTS.inc()
            return None
        except ConnectionError:  # set by _replies_lost: the command is durable, its reply is not coming
            return None
        finally:
            self._pending.pop(correlation_id, None)

    async def _publish(
        self, channel: aiormq.Channel, body: bytes, properties: spec.Basic.Properties, routing_key: str
    ) -> None:
        """Publish (confirmed); a broker lost or refusing mid-publish is a 503, not a 500 (found by ledger chaos).

        The command may or may not have reached the queue: the client retries with the same key, which
        idempotency makes safe. ``wait=False``: the broker's confirm is what is awaited, not also the moment
        the frame is handed to the socket (a suspension and a future less per request).
        """
        started = time.perf_counter()
        try:
            confirmation = await channel.basic_publish(
                body,
                exchange=self._exchange,
                routing_key=routing_key,
                properties=properties,
                mandatory=True,
                wait=False,
            )
            if isinstance(confirmation, spec.Basic.Nack | spec.Basic.Reject):
                raise aiormq.exceptions.DeliveryError(None, confirmation)
            if metrics.enabled():
                metrics.GATEWAY_PUBLISH_SECONDS.observe(time.perf_counter() - started)
        except Exception as exc:  # nacked, or e.g. ChannelInvalidStateError: the channel closed under us
            raise amqp.classify(exc) from exc  # BrokerUnavailable; anything else is a Bug

    async def _on_reply(self, message: DeliveredMessage) -> None:
        future = self._pending.get(message.header.properties.correlation_id or "")
        if future is not None and not future.done():
            future.set_result(message.body)
        # else: the caller gave up (202 already sent); the result is in GET /v1/commands


def _expire(future: asyncio.Future[bytes]) -> None:
    """No reply within the timeout: the request stops waiting (its command is durable in its queue)."""
    if not future.done():
        future.set_exception(TimeoutError())
