"""AMQP consumer: bounded concurrency, ack after commit, dead-letter what cannot be applied.

Guarantees and the step that makes each:
- exactly-once effect: ``apply_command`` commits the idempotency record with the effect; the ack
  comes after commit, so a crash before the ack only causes a redelivery that replays the result.
- no poison loops: a body that ``intake.decode`` refuses is published to the dead-letter
  exchange with its reason (confirmed) and then acked; RabbitMQ's delivery limit catches the rest.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aio_pika
import asyncpg
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage

from contracts.commands import Command
from contracts.results import CommandResult
from contracts.topology import DEAD_LETTER_REASON_HEADER
from ledger_common.amqp import settle
from ledger_common.db import is_transient, retrying
from ledger_common.faults import crash_point
from ledger_common.settings import Settings
from ledger_worker import intake
from ledger_worker.apply import apply_command

log = logging.getLogger("ledger_worker")


class Worker:
    """One consumer of the command queue; ``stop()`` drains in-flight commands before closing."""

    def __init__(self, settings: Settings, pool: asyncpg.Pool):
        self._settings = settings
        self._pool = pool
        self._channel: AbstractChannel | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._consumer_tag: str | None = None
        self._queue: Any = None

    async def start(self, connection: AbstractConnection) -> None:
        """Declare the topology and consume on a (new) broker connection."""
        self._channel = await connection.channel(publisher_confirms=True)
        await self._channel.set_qos(prefetch_count=self._settings.worker_prefetch)
        topology = self._settings.topology
        _, self._queue = await topology.declare_commands(self._channel)
        self._consumer_tag = await self._queue.consume(self._on_message)
        log.info("worker consuming %s", topology.commands_queue)

    async def stop(self, deadline: float = 20.0) -> None:
        """Stop taking work, let in-flight commands commit and ack, then return."""
        if self._queue is not None and self._consumer_tag is not None:
            try:
                await self._queue.cancel(self._consumer_tag)
            except Exception:  # the channel may already be gone; nothing left to cancel
                log.warning("consumer cancel failed", exc_info=True)
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=deadline)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.create_task(self._handle(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, message: AbstractIncomingMessage) -> None:
        try:
            await self._process(message)
        except Exception:  # never let one message kill the consumer; unacked, it is redelivered
            log.exception("message %s not settled", message.delivery_tag)

    async def _process(self, message: AbstractIncomingMessage) -> None:
        try:
            cmd = intake.decode(message.body, message.content_type)
        except intake.Undecodable as exc:
            await self._dead_letter(message, exc.reason)
            return
        try:
            result = await self._apply(cmd)
        except Exception as exc:
            if is_transient(exc):
                log.warning("command %s: database unavailable, requeueing", cmd.command_id)
                await asyncio.shield(settle(message, ack=False, requeue=True))
            else:
                log.exception("command %s failed", cmd.command_id)
                await self._dead_letter(message, f"internal error: {type(exc).__name__}")
            return
        crash_point("worker.after_commit")
        await self._reply(cmd, message, result)
        await asyncio.shield(settle(message, ack=True))

    async def _apply(self, cmd: Command) -> CommandResult:
        async for attempt in retrying(first_wait=0.05, max_wait=2.0, give_up_after=30):
            with attempt:
                async with self._pool.acquire() as conn:
                    return await apply_command(conn, cmd)
        raise AssertionError("unreachable")

    async def _reply(self, cmd: Command, message: AbstractIncomingMessage, result: CommandResult) -> None:
        reply_to = cmd.reply_to or message.reply_to
        if not reply_to or self._channel is None:
            return
        reply = aio_pika.Message(
            result.model_dump_json().encode(),
            content_type="application/json",
            correlation_id=cmd.correlation_id or message.correlation_id or cmd.command_id,
            type="command.result",
        )
        try:
            await self._channel.default_exchange.publish(reply, routing_key=reply_to)
        except Exception:  # the caller can still read GET /v1/commands/{id}
            log.warning("reply to %s for %s failed", reply_to, cmd.command_id, exc_info=True)

    async def _dead_letter(self, message: AbstractIncomingMessage, reason: str) -> None:
        assert self._channel is not None
        log.warning("dead-lettering message %s: %s", message.message_id or "-", reason)
        headers = dict(message.headers or {})
        headers[DEAD_LETTER_REASON_HEADER] = reason
        headers["x-ledger-original-routing-key"] = message.routing_key or ""
        dead = aio_pika.Message(
            message.body,
            headers=headers,
            content_type=message.content_type,
            message_id=message.message_id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        exchange = await self._channel.get_exchange(self._settings.topology.commands_dlx, ensure=False)
        await exchange.publish(dead, routing_key=message.routing_key or "")
        await asyncio.shield(settle(message, ack=True))
