"""Send commands over AMQP and await their ``CommandResult``, as an upstream service does (docs/topology.md).

Why each step is there:

- **Publisher confirms**: a confirmed command is durable in a quorum queue; an unconfirmed one may be
  lost, so a nack, an unroutable return or a missing confirm raises ``PublishNotConfirmed``.
- **user_id**: RabbitMQ checks it against the connection's user and the worker trusts only it (who
  you are, with the scopes an operator granted you); a command without it is dead-lettered.
- **Reply queue** ``<user>.replies.<random>``: exclusive and auto-deleted, named so the broker
  permissions ``ledger broker-setup`` grants a publisher (configure and read ``^P\\.replies\\..+$``) allow it.
- **command_id = idempotency key**: a retry must reuse it (build the command once with ``command()``
  and ``send_command()`` it again); the worker then replays the recorded result (``replayed=True``).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal, Self, overload

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange, AbstractIncomingMessage, AbstractQueue
from aio_pika.exceptions import DeliveryError
from pydantic import BaseModel, ValidationError

from contracts.commands import Command, build_command
from contracts.partitions import routing_key
from contracts.results import CommandResult
from contracts.topology import Topology
from ledger_sdk.amqp._connect import Borrowed
from ledger_sdk.amqp.errors import PublishNotConfirmed, ReplyTimeout
from ledger_sdk.errors import InvalidRequest, refused

log = logging.getLogger(__name__)


class CommandPublisher:
    """Publishes commands to ``<namespace>ledger.commands`` and matches replies by correlation id.

    ``user`` is the AMQP user the connection authenticated as. ``partitions`` must equal the
    deployment's ``COMMAND_PARTITIONS`` to spread commands (a bare type still reaches partition 0).
    Use it as ``async with CommandPublisher(url, user="orders") as ledger: await ledger.send(...)``;
    concurrent sends on one publisher are fine.
    """

    def __init__(
        self,
        url_or_connection: str | AbstractConnection,
        *,
        user: str,
        namespace: str = "",
        partitions: int = 1,
        reply_timeout: float = 30.0,
        confirm_timeout: float = 10.0,
    ) -> None:
        if not user:
            raise ValueError("user is the AMQP user the connection authenticated as; it is required")
        self.user, self.partitions = user, partitions
        self.reply_timeout, self.confirm_timeout = reply_timeout, confirm_timeout
        self._topology = Topology(namespace, declare=False, partitions=partitions)
        self._connection = Borrowed(url_or_connection)
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._replies: AbstractQueue | None = None
        self._waiting: dict[str, list[asyncio.Future[CommandResult]]] = {}

    async def __aenter__(self) -> Self:
        connection = await self._connection.open()
        try:
            self._channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            # Passive: a publisher may write to the exchange but not configure it.
            self._exchange = await self._channel.declare_exchange(self._topology.commands_exchange, passive=True)
            name = f"{self.user}.replies.{uuid.uuid4().hex}"
            self._replies = await self._channel.declare_queue(name, exclusive=True, auto_delete=True)
            await self._replies.consume(self._on_reply, no_ack=True)
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the channel and an owned connection; sends still waiting raise ``ReplyTimeout`` (their
        commands are confirmed, so they are still applied, once)."""
        for cid, futures in self._waiting.items():
            for future in futures:
                if not future.done():
                    future.set_exception(ReplyTimeout(cid, self.reply_timeout))
        self._waiting.clear()
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()
        self._channel = self._exchange = self._replies = None
        await self._connection.close()

    @property
    def reply_queue(self) -> str:
        """The name of this publisher's reply queue (``<user>.replies.<random hex>``)."""
        return self._ready()[1].name

    def command(self, kind: str, payload: BaseModel | dict[str, Any], *, command_id: str | None = None) -> Command:
        """The envelope of a ``kind`` command; a fresh command id unless one is given.

        ``principal`` is left out: identity comes from the broker-checked ``user_id``. Raises
        ``InvalidRequest`` for a payload the catalogue refuses (what HTTP answers with 422).
        """
        body = payload.model_dump(exclude_unset=True) if isinstance(payload, BaseModel) else payload
        try:
            return build_command(kind, body, command_id=command_id or uuid.uuid4().hex, issued_at=datetime.now(UTC))
        except ValidationError as exc:
            raise InvalidRequest(422, "invalid_command", f"{kind}: {exc}") from exc

    @overload
    async def send(
        self,
        kind: str,
        payload: BaseModel | dict[str, Any],
        *,
        command_id: str | None = None,
        wait: Literal[True] = True,
        raise_refused: bool = True,
    ) -> CommandResult: ...
    @overload
    async def send(
        self,
        kind: str,
        payload: BaseModel | dict[str, Any],
        *,
        command_id: str | None = None,
        wait: Literal[False],
        raise_refused: bool = True,
    ) -> None: ...
    async def send(
        self,
        kind: str,
        payload: BaseModel | dict[str, Any],
        *,
        command_id: str | None = None,
        wait: bool = True,
        raise_refused: bool = True,
    ) -> CommandResult | None:
        """Build, publish (confirmed) and, if ``wait``, await the result of a ``kind`` command.

        A refused result raises its refusal's class (``InsufficientFunds``…) unless ``raise_refused``
        is false. No reply within ``reply_timeout``: ``ReplyTimeout``; send again with the same
        ``command_id`` to get the recorded result.
        """
        command = self.command(kind, payload, command_id=command_id)
        if not wait:
            await self.publish(command)
            return None
        return await self.send_command(command, raise_refused=raise_refused)

    async def send_command(self, command: Command, *, raise_refused: bool = True) -> CommandResult:
        """Publish an already built command (a retry of one) and await its result."""
        cid = command.command_id
        future: asyncio.Future[CommandResult] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(cid, []).append(future)  # before publishing: the reply can be quick
        try:
            await self.publish(command)
            try:
                result = await asyncio.wait_for(future, self.reply_timeout)
            except TimeoutError:
                raise ReplyTimeout(cid, self.reply_timeout) from None
        finally:
            self._forget(cid, future)
        if raise_refused and result.status == "refused":
            raise refused(result)
        return result

    async def publish(self, command: Command) -> None:
        """Publish ``command`` and wait for the broker's confirm; its reply (if any) goes to this publisher.

        Raises ``PublishNotConfirmed`` on a nack, an unroutable return or no confirm in ``confirm_timeout``.
        """
        exchange, replies = self._ready()
        message = aio_pika.Message(
            command.model_dump_json().encode(),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=command.command_id,
            correlation_id=command.command_id,
            reply_to=replies.name,
            user_id=self.user,
            type=command.type,
        )
        key = routing_key(command, self.partitions)
        try:
            await exchange.publish(message, routing_key=key, mandatory=True, timeout=self.confirm_timeout)
        except TimeoutError:
            raise PublishNotConfirmed(command.command_id, f"no confirm within {self.confirm_timeout:g}s") from None
        except DeliveryError as exc:  # a nack, or (PublishError) returned as unroutable
            raise PublishNotConfirmed(command.command_id, f"{type(exc).__name__}: {exc}") from exc

    def _ready(self) -> tuple[AbstractExchange, AbstractQueue]:
        if self._exchange is None or self._replies is None:
            raise RuntimeError("use the publisher inside 'async with CommandPublisher(...)'")
        return self._exchange, self._replies

    def _forget(self, cid: str, future: asyncio.Future[CommandResult]) -> None:
        futures = self._waiting.get(cid, [])
        if future in futures:
            futures.remove(future)
        if not futures:
            self._waiting.pop(cid, None)

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        """Every send waiting on the reply's correlation id gets it; replies nobody waits for are ignored
        (a late answer to a send that timed out, or one for another publisher's command)."""
        futures = self._waiting.pop(message.correlation_id or "", [])
        if not futures:
            log.debug("ignoring a reply for %r: nobody waits for it", message.correlation_id)
            return
        try:
            result = CommandResult.model_validate_json(message.body)
        except ValidationError:
            log.warning("ignoring a reply for %r that is not a CommandResult", message.correlation_id)
            self._waiting[message.correlation_id or ""] = futures
            return
        for future in futures:
            if not future.done():
                future.set_result(result)
