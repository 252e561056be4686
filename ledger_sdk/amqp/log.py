"""Read the ledger's event log (the ``<namespace>ledger.events.log`` stream): from the beginning, a time, a
position or now, then live, every event once and in position order.

What happens, and why:

1. **Where to start**: the last position your ``store`` holds for this reader (``store.position("log:<name>")``);
   only when it holds none, ``start``: ``"beginning"`` (position 1), ``"now"`` (after the last event in the
   stream), a ``datetime`` (the first event logged at or after it) or an ``int`` (after that position, as
   ``GET /v1/events?after=``). The reader looks up the stream offset of the next position itself
   (``_probe.seek``), at start and after every reconnect, so a broker restart or a stream rebuilt by an
   operator costs a few probes, not a replay.
2. **Once, in order**: each message carries its position (``x-ledger-position``). A position at or below
   the last handled is a duplicate (the relay published it again after a crash) and is skipped; the next
   one is handled; one further ahead is held back until the relay fills the hole. Backfill and live are
   one read: there is no switch-over to lose or repeat an event at.
3. **Fell behind retention**: when the position needed next is older than the oldest the stream keeps,
   :class:`ReaderBehind` is raised (``wanted``, ``oldest``). Nothing is skipped: read the missing range over
   HTTP (``GET /v1/events?after=<position>``, which keeps every position for good), record it, and start
   the reader again.
4. **Signatures** (``signing_keys``): a message that does not verify is logged and skipped without moving
   the position; the genuine event of that position is still awaited.
5. **Filters**: ``types`` and ``wallets`` choose what reaches the handler; the rest is read and skipped
   (a stream delivers everything; RabbitMQ 3.10 has no server-side filter). Skipped positions are
   recorded in the store now and then (every ``checkpoint_every``, and when the reader is caught up), so a
   restart does not read them again. ``store.record`` is then called without your handler having run.
6. **After the handler**: the position is recorded (``store.record(event_id, "log:<name>", position)``)
   only after the handler returned; a handler that raises is called again with the same event after
   ``retry_delay``, so nothing behind it overtakes it. Write the projection and ``record`` in one
   transaction for exactly-once effects (``ledger_sdk.amqp.store``).
7. **Lag**: with ``report`` (an HTTP ``AsyncClient``), the reader reports its position as ``PUT
   /v1/readers/<name>`` every ``report_every`` seconds; the ledger's metrics and console show how far
   behind each named reader is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Literal
from uuid import UUID

from aio_pika.abc import AbstractConnection, AbstractIncomingMessage
from pydantic import ValidationError

from contracts.events import EventEnvelope, parse_event
from contracts.keys import KeyEvent
from contracts.signing import SignatureError, check_message, parse_keys
from contracts.topology import Topology
from ledger_sdk.amqp import _probe
from ledger_sdk.amqp._connect import UNREACHABLE, connect_any, lost_with
from ledger_sdk.amqp._seek import ReaderBehind, Step, step
from ledger_sdk.amqp.store import EventStore, MemoryEventStore

if TYPE_CHECKING:
    from ledger_sdk._async.client import AsyncClient

log = logging.getLogger(__name__)

Start = Literal["beginning", "now"] | datetime | int
LogHandler = Callable[[EventEnvelope], Awaitable[object]]
LogKeyHandler = Callable[[KeyEvent], Awaitable[object]]


class LogReader:
    """``async with LogReader(url, name="billing", signing_keys=..., start="beginning") as reader:
    await reader.run(handler, stop=stop_event)``.

    ``name`` (1-63 of ``a-z 0-9 . _ -``) names the reader's position in ``store`` and in lag reports.
    """

    def __init__(
        self,
        url: str,
        *,
        name: str,
        signing_keys: Mapping[str, bytes] | str | None,
        start: Start = "beginning",
        namespace: str = "",
        store: EventStore | None = None,
        types: Collection[str] | None = None,
        wallets: Collection[UUID] | None = None,
        on_key_event: LogKeyHandler | None = None,
        prefetch: int = 500,
        retry_delay: float = 1.0,
        checkpoint_every: int = 1000,
        report: AsyncClient | None = None,
        report_every: float = 10.0,
    ) -> None:
        self._url, self.name, self.start = url, name, start
        self._keys = parse_keys(signing_keys) if isinstance(signing_keys, str) else signing_keys
        self.stream = Topology(namespace).log_stream
        self.store: EventStore = store if store is not None else MemoryEventStore()
        self.key = f"log:{name}"
        self._types = frozenset(types) if types is not None else None
        self._wallets = frozenset(wallets) if wallets is not None else None
        self._on_key_event = on_key_event
        self.prefetch, self.retry_delay, self.checkpoint_every = prefetch, retry_delay, checkpoint_every
        self._report, self._report_every = report, report_every
        #: The last position handled (or skipped by the filters); None until the start is resolved.
        self.position: int | None = None
        #: The position of the event the handler is given (read it in the handler).
        self.handling: int | None = None
        self._recorded = 0  # the last position given to store.record
        self._checked_behind: int | None = None  # ``position`` at which the stream's oldest was last checked
        self.reconnects = 0
        self._unacked: AbstractIncomingMessage | None = None  # the last message read and not yet acked
        self._count = 0

    async def __aenter__(self) -> LogReader:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def run(self, handler: LogHandler, *, stop: asyncio.Event | None = None) -> None:
        """Handle events until ``stop`` is set; reconnects by itself; raises :class:`ReaderBehind`."""
        stop = stop or asyncio.Event()
        reporter = asyncio.create_task(self._report_loop(stop)) if self._report is not None else None
        try:
            while not stop.is_set():
                try:
                    connection = await connect_any(self._url)  # after a lost node: another one
                except UNREACHABLE as exc:
                    log.warning("log reader %s: broker unreachable (%s); retrying", self.name, type(exc).__name__)
                    await _pause(stop, 1.0)
                    continue
                try:
                    await self._follow(connection, handler, stop)
                except Exception as exc:
                    if not lost_with(connection, exc):
                        raise
                    log.warning("log reader %s: connection lost (%s); reconnecting", self.name, type(exc).__name__)
                    self.reconnects += 1
                    await _pause(stop, 0.5)
                finally:
                    await _quietly(connection)
        finally:
            if reporter is not None:
                reporter.cancel()
                await self._report_once()  # where it stopped
            await self._checkpoint()

    async def _follow(self, connection: AbstractConnection, handler: LogHandler, stop: asyncio.Event) -> None:
        if self.position is None:
            self.position = await self._start_at(connection)
            self._recorded = self.position
        offset = await self._seek(connection, self.position + 1)
        lost = connection.close_callbacks
        messages: asyncio.Queue[AbstractIncomingMessage | None] = asyncio.Queue()
        lost.add(lambda *_: messages.put_nowait(None))
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=self.prefetch)
        queue = await channel.declare_queue(self.stream, passive=True)
        channel.close_callbacks.add(lambda *_: messages.put_nowait(None))
        await queue.consume(messages.put, arguments={"x-stream-offset": offset})
        stopped = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                if messages.empty():
                    await self._settle()
                    await self._checkpoint()  # caught up: what the filters skipped is recorded now
                    got = asyncio.ensure_future(messages.get())
                    await asyncio.wait({got, stopped}, return_when=asyncio.FIRST_COMPLETED)
                    if not got.done():
                        got.cancel()
                        return
                    message = got.result()
                else:  # backfilling: no future per message
                    message = messages.get_nowait()
                if message is None:
                    raise ConnectionError("the channel or connection closed")
                await self._process(connection, message, handler, stop)
                self._unacked = message
                self._count += 1
                if self._count >= max(1, self.prefetch // 4):
                    await self._settle()
        finally:
            stopped.cancel()
            self._unacked, self._count = None, 0

    async def _settle(self) -> None:
        """Ack everything up to the last message read, at once: acks only open the prefetch window (a stream
        keeps its messages), and one per message was most of the reader's writes."""
        if self._unacked is not None:
            await self._unacked.ack(multiple=True)
            self._unacked, self._count = None, 0

    async def _process(
        self, connection: AbstractConnection, message: AbstractIncomingMessage, handler: LogHandler, stop: asyncio.Event
    ) -> None:
        assert self.position is not None
        position = _probe.position_of(message)
        what = step(self.position, position)
        if what is Step.AHEAD:
            await self._not_behind(connection)  # the stream dropped what we need: raise, never skip
        if what is not Step.HANDLE:
            return
        try:
            if self._keys is not None:
                check_message(message, self._keys)  # before the position moves: a forgery must not move it
            kind = message.type or ""
            # The type is signed: an event the filters leave out is not even parsed.
            unwanted = (self._types is not None and kind not in self._types) or (
                kind.startswith("key.") and self._on_key_event is None
            )
            item = None if unwanted else _parse(kind, message.body)
        except (SignatureError, ValidationError, ValueError) as exc:
            log.warning("log reader %s: skipping position %d (%s): %s", self.name, position, message.message_id, exc)
            return
        if item is not None and self._wanted(item):
            self.handling = position
            if not await self._handle(item, handler, stop):
                return  # stopped while the handler kept failing: not recorded
            await self.store.record(item.event_id, self.key, position)
            self._recorded = position
        self.position = position
        if self.position - self._recorded >= self.checkpoint_every:
            await self._checkpoint()

    async def _handle(self, item: EventEnvelope | KeyEvent, handler: LogHandler, stop: asyncio.Event) -> bool:
        """Call the handler until it returns (True), or ``stop`` is set while it keeps failing (False)."""
        while True:
            try:
                if isinstance(item, KeyEvent):
                    if self._on_key_event is not None:
                        await self._on_key_event(item)
                else:
                    await handler(item)
                return True
            except Exception:
                log.exception("log reader %s: handling %s failed; retried", self.name, item.event_id)
                await _pause(stop, self.retry_delay)
                if stop.is_set():
                    return False

    def _wanted(self, item: EventEnvelope | KeyEvent) -> bool:
        if isinstance(item, KeyEvent) and self._on_key_event is None:
            return False
        if self._types is not None and item.type not in self._types:
            return False
        if self._wallets is not None:
            return isinstance(item, EventEnvelope) and item.wallet_id in self._wallets
        return True

    async def _checkpoint(self) -> None:
        """Record the last position the filters skipped past, so a restart does not read it again."""
        if self.position is not None and self.position > self._recorded:
            # A skipped event's id is not needed for de-duplication (positions do that); any id will do.
            await self.store.record(UUID(int=self.position), self.key, self.position)
            self._recorded = self.position

    async def _start_at(self, connection: AbstractConnection) -> int:
        """The last position already handled: the store's, or what ``start`` means."""
        stored = await self.store.position(self.key)
        return stored if stored > 0 else await _probe.start_position(connection, self.stream, self.start)

    async def _seek(self, connection: AbstractConnection, position: int) -> int | str:
        offset = await _probe.seek(connection, self.stream, position)
        return "first" if offset is None else offset

    async def _not_behind(self, connection: AbstractConnection) -> None:
        if self._checked_behind == self.position:
            return
        assert self.position is not None
        oldest = await _probe.first(connection, self.stream)
        if oldest is not None and oldest[1] > self.position + 1:
            raise ReaderBehind(self.position + 1, oldest[1])
        self._checked_behind = self.position

    async def _report_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await _pause(stop, self._report_every)
            await self._report_once()

    async def _report_once(self) -> None:
        if self._report is None or self.position is None:
            return
        try:
            await self._report.readers.report(self.name, position=self.position, transport="amqp")
        except Exception as exc:  # reporting is best effort: never stop reading for it
            log.warning("log reader %s: could not report its position (%s)", self.name, exc)


def _parse(kind: str, body: bytes) -> EventEnvelope | KeyEvent:
    return KeyEvent.model_validate_json(body) if kind.startswith("key.") else parse_event(body)


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass


async def _quietly(connection: AbstractConnection) -> None:
    try:
        await connection.close()
    except Exception:  # already broken
        log.debug("close failed", exc_info=True)
