"""Consume ``<namespace>ledger.events`` as a downstream service does: verified, de-duplicated, in stream order.

What happens to each message, and why:

1. **Signature** (``contracts.signing``): a message that does not verify against ``signing_keys`` was
   not published by the ledger as it is (anyone with write on the exchange can publish). It is
   rejected without requeue: give your queue a dead-letter exchange (``queue_arguments={
   "x-dead-letter-exchange": ...}``) to keep those for inspection; without one the broker drops them.
   A body that is signed but not a valid event (a newer schema) goes the same way.
2. **Key events** (``key.*``, ``contracts.keys.KeyEvent``) are not money events and belong to no
   stream: passed to ``on_key_event`` if given (de-duplicated like the others), else acked and skipped.
3. **Duplicates**: an ``event_id`` the store has seen, or a sequence at or below its stream's position,
   is acked and skipped (delivery is at least once).
4. **Gaps** (sequence > position + 1: a queue created after the stream began, or an outbox event an
   operator dead-lettered) call ``on_gap(stream, expected, got)``, then the event is **delivered
   anyway** and the position jumps to it: a handler never sees a stream go backwards, and waiting would
   not help, since the relay publishes each stream in order. Fill the gap from the HTTP API in
   ``on_gap`` if you need it; raise from ``on_gap`` to hold the event back (it is retried like a
   failed handler).
5. **Ack after the handler**: the store is updated and the message acked only after the handler
   returned. A handler exception nacks it with requeue after ``retry_delay`` (no hot loop), and the
   later events of its stream are requeued behind it (``streams.Stalls``) so the order holds. A handler
   that keeps failing is retried every ``retry_delay`` for as long as the queue allows: forever, or up
   to its ``x-delivery-limit`` (RabbitMQ 4 sets 20 on quorum queues by default, 3.x none), after which
   the broker drops the event, or dead-letters it if the queue has a dead-letter exchange.

Messages are handled one at a time, in delivery order (``prefetch`` of them are buffered).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage, AbstractQueue
from pydantic import ValidationError

from contracts.events import EventEnvelope, parse_event
from contracts.keys import KeyEvent
from contracts.signing import SignatureError, check_message, parse_keys
from contracts.topology import Topology
from ledger_sdk.amqp._connect import Borrowed
from ledger_sdk.amqp.store import EventStore, MemoryEventStore
from ledger_sdk.amqp.streams import Order, Stalls, order, stream_of

log = logging.getLogger(__name__)

Handler = Callable[[EventEnvelope], Awaitable[object]]
KeyHandler = Callable[[KeyEvent], Awaitable[object]]
#: ``on_gap(stream, expected, got)``, plain or async.
GapHandler = Callable[[str, int, int], Awaitable[object] | object]


class EventSubscriber:
    """``async with EventSubscriber(url, queue="billing.ledger-events", signing_keys=...) as events:
    await events.run(handler, stop=stop_event)``.

    ``queue`` is your durable quorum queue (``<subscriber>.<anything>`` fits the broker permissions
    ``ledger broker-setup --subscriber`` grants), bound to the events exchange with ``bindings``.
    ``signing_keys`` (a mapping or the ``kid:secret,…`` text) are the keys you trust; None skips
    verification, which only a subscriber on a broker nobody else can publish to should do.
    """

    def __init__(
        self,
        url_or_connection: str | AbstractConnection,
        *,
        queue: str,
        signing_keys: Mapping[str, bytes] | str | None,
        bindings: Sequence[str] = ("#",),
        namespace: str = "",
        store: EventStore | None = None,
        prefetch: int = 64,
        on_gap: GapHandler | None = None,
        on_key_event: KeyHandler | None = None,
        queue_arguments: Mapping[str, Any] | None = None,
        retry_delay: float = 1.0,
        max_age: float | None = None,
    ) -> None:
        self.queue_name, self.bindings, self.prefetch = queue, tuple(bindings), prefetch
        self._keys = parse_keys(signing_keys) if isinstance(signing_keys, str) else signing_keys
        self._topology = Topology(namespace, declare=False)
        self.store: EventStore = store if store is not None else MemoryEventStore()
        self._on_gap, self._on_key_event = on_gap, on_key_event
        self._arguments = {"x-queue-type": "quorum", **(queue_arguments or {})}
        self.retry_delay, self.max_age = retry_delay, max_age
        self._stalls = Stalls(expiry=max(60.0, 10 * retry_delay))
        self._connection = Borrowed(url_or_connection)
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None

    async def __aenter__(self) -> Self:
        connection = await self._connection.open()
        try:
            self._channel = await connection.channel()
            await self._channel.set_qos(prefetch_count=self.prefetch)
            # Passive: the relay's exchange; a subscriber may read it, not configure it.
            exchange = await self._channel.declare_exchange(self._topology.events_exchange, passive=True)
            self._queue = await self._channel.declare_queue(self.queue_name, durable=True, arguments=self._arguments)
            for key in self.bindings:
                await self._queue.bind(exchange, routing_key=key)
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the channel (unacked messages go back to the queue) and an owned connection."""
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()
        self._channel = self._queue = None
        await self._connection.close()

    async def delete_queue(self) -> None:
        """Delete the queue and everything in it (for tests and decommissioning)."""
        if self._channel is None:
            raise RuntimeError("use the subscriber inside 'async with EventSubscriber(...)'")
        await self._channel.queue_delete(self.queue_name)

    async def run(self, handler: Handler, *, stop: asyncio.Event | None = None) -> None:
        """Handle events until ``stop`` is set (or forever); buffered, unhandled messages are requeued."""
        if self._queue is None:
            raise RuntimeError("use the subscriber inside 'async with EventSubscriber(...)'")
        stop = stop or asyncio.Event()
        stopped = asyncio.ensure_future(stop.wait())
        try:
            async with self._queue.iterator() as messages:
                incoming = aiter(messages)
                while not stop.is_set():
                    nxt = asyncio.ensure_future(anext(incoming))
                    await asyncio.wait({nxt, stopped}, return_when=asyncio.FIRST_COMPLETED)
                    if not nxt.done():
                        nxt.cancel()
                        break
                    try:
                        message = nxt.result()
                    except StopAsyncIteration:  # the channel closed under us
                        break
                    await self.process(message, handler)
        finally:
            stopped.cancel()

    async def process(self, message: AbstractIncomingMessage, handler: Handler) -> None:
        """Everything that happens to one message (the module docstring), ending in exactly one ack or nack."""
        try:
            if self._keys is not None:
                check_message(message, self._keys, max_age=self.max_age)
            is_key_event = (message.routing_key or "").startswith("key.")
            item: EventEnvelope | KeyEvent = (
                KeyEvent.model_validate_json(message.body) if is_key_event else parse_event(message.body)
            )
        except (SignatureError, ValidationError, ValueError) as exc:
            log.warning("rejecting %s %s (not requeued): %s", message.routing_key, message.message_id, exc)
            await message.reject(requeue=False)
            return
        if await self.store.seen(item.event_id):
            await message.ack()
            return
        if isinstance(item, KeyEvent):
            await self._deliver(message, item, None, None, None)
            return
        stream, sequence, expected = stream_of(item), item.sequence, None
        if stream is not None and sequence is not None:
            if self._stalls.holds(stream, sequence):
                await message.nack(requeue=True)  # behind its stream's failed event, in arrival order
                return
            position = await self.store.position(stream)
            verdict = order(position, sequence)
            if verdict is Order.DUPLICATE:
                await message.ack()
                return
            expected = position + 1 if verdict is Order.GAP else None
        await self._deliver(message, item, handler, stream, expected)

    async def _deliver(
        self,
        message: AbstractIncomingMessage,
        item: EventEnvelope | KeyEvent,
        handler: Handler | None,
        stream: str | None,
        expected: int | None,
    ) -> None:
        sequence = item.sequence if isinstance(item, EventEnvelope) else None
        try:
            if isinstance(item, KeyEvent):
                if self._on_key_event is not None:
                    await self._on_key_event(item)
            else:
                assert handler is not None
                if expected is not None and stream is not None and sequence is not None:
                    await self._gap(stream, expected, sequence)
                await handler(item)
            await self.store.record(item.event_id, stream, sequence)
        except Exception:
            log.exception("handling %s %s failed; requeued in %gs", item.type, item.event_id, self.retry_delay)
            if stream is not None and sequence is not None:
                self._stalls.stall(stream, sequence)
            await asyncio.sleep(self.retry_delay)
            await message.nack(requeue=True)
            return
        if stream is not None:
            self._stalls.clear(stream)
        await message.ack()

    async def _gap(self, stream: str, expected: int, got: int) -> None:
        log.warning("gap in %s: expected sequence %d, got %d", stream, expected, got)
        if self._on_gap is not None:
            outcome = self._on_gap(stream, expected, got)
            if inspect.isawaitable(outcome):
                await outcome
