"""AMQP consumer: batches of commands, one transaction per batch, acks after commit.

Guarantees and the step that makes each:
- exactly-once effect: ``Applier.apply`` commits each command's idempotency record with its effect;
  acks come after the commit, so a crash before them only causes redeliveries that replay results.
- no poison loops: a body that does not decode or validate is published to the dead-letter
  exchange with its reason (confirmed) and then acked; RabbitMQ's delivery limit catches the rest.
- bounded work: at most ``worker_prefetch`` unacked deliveries; ``worker_lanes`` batches in flight,
  each of up to ``worker_batch_size`` commands. Batches grow by themselves under load: a lane takes
  whatever has arrived while the previous batch was committing.
- per-subject order (contracts/partitions.py): a subject's commands all reach one lane, which applies
  them in delivery order; with ``COMMAND_PARTITIONS`` > 1 a partition has one active consumer at a
  time (single active consumer), and a worker that dies leaves its unacked deliveries to the standby
  that takes over, ahead of the rest, so the order survives the handover.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aio_pika
import asyncpg
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage, AbstractQueue
from opentelemetry.trace import Span, StatusCode
from pamqp import commands as spec

from contracts.commands import Command
from contracts.errors import Unavailable
from contracts.partitions import lane_of, partition_key
from contracts.publishing import MISSING_USER_ID
from contracts.results import CommandResult
from contracts.topology import DEAD_LETTER_REASON_HEADER
from ledger_common import metrics, tracing
from ledger_common.amqp import settle
from ledger_common.db import classify, retrying
from ledger_common.dead_letters import commands as dead_commands
from ledger_common.faults import crash_point
from ledger_common.intake import Undecodable, decode
from ledger_common.logs import about
from ledger_common.probes import Progress
from ledger_common.settings import Settings
from ledger_worker.acks import Acks
from ledger_worker.apply import Applier
from ledger_worker.callers import identify
from ledger_worker.traces import batch_span, command_span, traceparents

log = logging.getLogger("ledger_worker")

#: Why a command without a broker-checked identity is dead-lettered (docs/security.md, AMQP callers).
_NO_USER = MISSING_USER_ID  # declared with the other properties a publisher sets (contracts.publishing)


@dataclass(frozen=True, slots=True)
class Decoded:
    """A delivery whose body decoded: the command, and a principal it claimed but may not speak for."""

    message: AbstractIncomingMessage
    cmd: Command
    claim: str | None
    #: This command's span, with tracing on (ledger_worker/traces.py); ended when the command is settled.
    span: Span | None = None


class Worker:
    """Consumes the command queue(s) in batches; ``stop()`` drains what it holds before returning."""

    def __init__(self, settings: Settings, pool: asyncpg.Pool, applier: Applier | None = None) -> None:
        self._settings = settings
        self._pool = pool
        self.applier = applier or Applier()
        # One inbox per lane; a subject's commands always go to the same lane, so they are applied
        # in the order they arrived (contracts/partitions.py), while other subjects' batches overlap.
        self._inboxes: list[asyncio.Queue[Decoded]] = [asyncio.Queue() for _ in range(settings.worker_lanes)]
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._replies: AbstractChannel | None = None
        self._consuming: list[tuple[AbstractQueue, str]] = []
        self._standby: asyncio.Task[None] | None = None
        self._acks = Acks()
        #: The batches being applied (``/livez``: one running too long is a wedged worker).
        self.progress = Progress()
        self._lanes = [asyncio.create_task(self._lane(inbox)) for inbox in self._inboxes]

    async def start(self, connection: AbstractConnection) -> None:
        """Declare the topology and consume on a (new) broker connection: the owned partitions at once,
        the others as standby (``WORKER_STANDBY_SECONDS`` later), to take over when their worker goes."""
        for inbox in self._inboxes:  # deliveries of a lost channel are redelivered by the broker
            while not inbox.empty():
                inbox.get_nowait()
                inbox.task_done()
        if self._standby is not None:
            self._standby.cancel()
        self._consuming = []
        metrics.CONSUMING.set(0)
        self._connection = connection
        self._channel = await connection.channel(publisher_confirms=True)
        self._replies = await connection.channel(publisher_confirms=False)
        await self._channel.set_qos(prefetch_count=self._settings.worker_prefetch)
        _, queues = await self._settings.topology.declare_commands(self._channel)
        self._acks = Acks()
        self._consuming = []
        owned = self._settings.owned_partitions
        await self._consume([queues[p] for p in owned])
        others = [q for p, q in enumerate(queues) if p not in owned]
        if others and self._settings.worker_standby_seconds >= 0:
            self._standby = asyncio.create_task(self._consume(others, after=self._settings.worker_standby_seconds))

    async def _consume(self, queues: list[AbstractQueue], *, after: float = 0.0) -> None:
        if after:
            await asyncio.sleep(after)
        for queue in queues:
            self._consuming.append((queue, await queue.consume(self._receive)))
            metrics.CONSUMING.set(len(self._consuming))
        log.info("worker %s %s", "standby on" if after else "consuming", ", ".join(q.name for q in queues))

    async def _receive(self, message: AbstractIncomingMessage) -> None:
        self._acks.received(message)
        try:
            if not message.user_id:
                raise Undecodable(_NO_USER)
            cmd, claim = identify(
                decode(message.body, message.content_type), message.user_id, gateway_users=self._settings.gateway_users
            )
        except Undecodable as exc:
            await self._dead_letter(message, exc.reason)
            return
        lane = lane_of(partition_key(cmd), partitions=self._settings.command_partitions, lanes=len(self._inboxes))
        span = command_span(message, cmd) if tracing.ENABLED else None
        await self._inboxes[lane].put(Decoded(message, cmd, claim, span))

    async def stop(self, deadline: float = 20.0) -> None:
        """Stop taking work, let the commands already received commit and ack, then return."""
        if self._standby is not None:
            self._standby.cancel()
        for queue, tag in self._consuming:
            try:
                await queue.cancel(tag)
            except Exception:  # the channel may already be gone; nothing left to cancel
                log.warning("consumer cancel failed", exc_info=True)
        self._consuming = []
        metrics.CONSUMING.set(0)
        try:
            await asyncio.wait_for(asyncio.gather(*(i.join() for i in self._inboxes)), timeout=deadline)
        except TimeoutError:
            log.warning("drain deadline passed; unacked commands will be redelivered")
        for lane in self._lanes:
            lane.cancel()

    async def _lane(self, inbox: asyncio.Queue[Decoded]) -> None:
        size = self._settings.worker_batch_size
        while True:
            batch = [await inbox.get()]
            while len(batch) < size and not inbox.empty():
                batch.append(inbox.get_nowait())
            try:
                with self.progress.working():
                    await self._process(batch)
            except Exception:  # never let one batch kill the lane: give its commands back to the queue
                log.exception("batch of %d not settled; requeueing it", len(batch))
                await self._requeue([d.message for d in batch])
            finally:
                for d in batch:
                    if d.span is not None:
                        d.span.end()
                    inbox.task_done()

    async def _process(self, decoded: list[Decoded]) -> None:
        if not tracing.ENABLED:
            return await self._process_batch(decoded, None)
        with batch_span([d.span for d in decoded]):
            return await self._process_batch(decoded, traceparents([d.span for d in decoded]))

    async def _process_batch(self, decoded: list[Decoded], traced: list[str | None] | None) -> None:
        started = time.perf_counter()
        try:
            results = await self._apply([d.cmd for d in decoded], [d.claim for d in decoded], traced)
        except Exception as exc:
            await self._failed(decoded, exc)
            return
        if metrics.enabled():
            metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
            metrics.BATCH_SIZE.observe(len(decoded))
        crash_point("worker.after_commit")
        for d, result in zip(decoded, results, strict=True):
            await self._reply(d.cmd, d.message, result)
        await asyncio.shield(self._acks.ack(d.message for d in decoded))

    async def _failed(self, decoded: list[Decoded], exc: Exception) -> None:
        """``Unavailable`` (the database still down after the retries): give the batch back to the queue.
        Anything else is a ``Bug``: find the command that causes it, dead-letter that one as an internal
        error (the others go through)."""
        if isinstance(classify(exc), Unavailable):
            log.warning("database unavailable; requeueing %d command(s)", len(decoded))
            await self._requeue([d.message for d in decoded])
        elif len(decoded) > 1:  # find the one that fails; the others go through
            metrics.BATCH_FALLBACKS.labels("error").inc()
            for one in decoded:
                await self._process([one])
        else:
            one = decoded[0]
            if one.span is not None:
                one.span.set_status(StatusCode.ERROR, type(exc).__name__)
            with about(one.cmd.command_id, one.cmd.principal):
                log.error("command %s failed", one.cmd.command_id, exc_info=exc)
            await self._dead_letter(one.message, f"internal error: {type(exc).__name__}")

    @property
    def consuming(self) -> bool:
        """Consuming at least one command queue on an open connection (``/readyz``)."""
        return bool(self._consuming) and self._connection is not None and not self._connection.is_closed

    @property
    def lanes_alive(self) -> bool:
        return not any(lane.done() for lane in self._lanes)

    async def dead_letters_waiting(self) -> int:
        """Messages in the command dead-letter queue, asked on the worker's own connection."""
        if self._connection is None or self._connection.is_closed:
            raise ConnectionError("no broker connection")
        return await dead_commands.count(self._connection, self._settings.topology.commands_dead_queue)

    async def _requeue(self, messages: list[AbstractIncomingMessage]) -> None:
        """Nack ``messages`` back to the queue and tell the acker: an unsettled delivery would hold
        back every ``multiple`` ack after it."""
        messages = self._acks.unsettled(messages)  # a dead-lettered one is acked already
        await asyncio.shield(asyncio.gather(*(settle(m, ack=False, requeue=True) for m in messages)))
        await asyncio.shield(self._acks.nacked(messages))

    async def _apply(
        self, cmds: Sequence[Command], forged: Sequence[str | None], traced: Sequence[str | None] | None
    ) -> list[CommandResult]:
        async for attempt in retrying(first_wait=0.05, max_wait=2.0, give_up_after=30):
            with attempt:
                async with self._pool.acquire() as conn:
                    return await self.applier.apply(conn, cmds, forged, traced)
        raise AssertionError("unreachable")

    async def _reply(self, cmd: Command, message: AbstractIncomingMessage, result: CommandResult) -> None:
        reply_to = cmd.reply_to or message.reply_to
        if not reply_to or self._replies is None:
            return
        properties = spec.Basic.Properties(
            content_type="application/json",
            correlation_id=cmd.correlation_id or message.correlation_id or cmd.command_id,
            message_type="command.result",
        )
        try:  # no confirm: a lost reply costs the caller a poll of GET /v1/commands/{id}, nothing more
            channel = await self._replies.get_underlay_channel()  # lighter than aio-pika's Message
            await channel.basic_publish(result.model_dump_json().encode(), routing_key=reply_to, properties=properties)
        except Exception:
            with about(cmd.command_id, cmd.principal):
                log.warning("reply to %s for %s failed", reply_to, cmd.command_id, exc_info=True)

    async def _dead_letter(self, message: AbstractIncomingMessage, reason: str) -> None:
        assert self._channel is not None
        log.warning("dead-lettering message %s: %s", message.message_id or "-", reason)
        metrics.DEAD_LETTERED.labels("commands").inc()
        headers = dict(message.headers or {})
        headers[DEAD_LETTER_REASON_HEADER] = reason
        headers["x-ledger-original-user-id"] = message.user_id or ""  # the replay is sent as the operator
        headers["x-ledger-original-routing-key"] = message.routing_key or ""
        dead = aio_pika.Message(
            message.body,
            headers=headers,
            content_type=message.content_type,
            message_id=message.message_id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        exchange = await self._channel.get_exchange(self._settings.topology.commands_dlx, ensure=False)
        await exchange.publish(dead, routing_key=message.routing_key or "")  # confirmed: the copy is kept
        crash_point("worker.after_dead_letter")
        await asyncio.shield(self._acks.ack([message]))
