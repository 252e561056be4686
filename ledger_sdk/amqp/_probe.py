"""Looking into the event log stream over AMQP 0.9.1: the position at an offset, the first and last ones.

A stream consumer names where it starts (``x-stream-offset``: ``first``, ``last``, ``next``, an offset, or
a time) and receives every message from there, each with its offset in the ``x-stream-offset`` header.
Positions are not offsets: a relay that crashed after publishing and before recording it may publish a
few events again (the same positions, later offsets), and a stream rebuilt by an operator starts at
offset 0 again. So a reader finds where to start by looking: :func:`seek` bisects the offsets for the
first message whose position is at or after the one it needs, one short-lived consumer per probe.

Bisecting is right although positions along the offsets are not strictly increasing: the relay only ever
publishes position n + 1 after n, or starts again from a position it published before. After any message
of position p, therefore, every position above p follows, in order; the search lands on an offset whose
position is at least the wanted one with every smaller position before it (pure logic: ``_seek.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aio_pika.abc import AbstractConnection, AbstractIncomingMessage, AbstractQueue

from contracts.topology import LOGGED_AT_HEADER, POSITION_HEADER
from ledger_sdk.amqp._seek import Found, ReaderBehind, bisect

#: Seconds to wait for the first message of a probe before deciding the stream has none there.
FIRST_WAIT = 2.0
#: Seconds without a further message after which the tail of a stream is taken as read.
QUIET = 0.3


def position_of(message: AbstractIncomingMessage) -> int:
    """The log position a message of the stream carries (``x-ledger-position``)."""
    value = (message.headers or {}).get(POSITION_HEADER)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"message {message.message_id} has no valid {POSITION_HEADER} header")
    return value


def logged_at_of(message: AbstractIncomingMessage) -> int:
    """When the event was logged, in milliseconds since 1970 (``x-ledger-logged-at``)."""
    value = (message.headers or {}).get(LOGGED_AT_HEADER)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"message {message.message_id} has no valid {LOGGED_AT_HEADER} header")
    return value


def offset_of(message: AbstractIncomingMessage) -> int:
    """The stream offset RabbitMQ put in the ``x-stream-offset`` header of a delivery."""
    value = (message.headers or {}).get("x-stream-offset")
    if not isinstance(value, int):
        raise ValueError("a stream delivery without x-stream-offset: is this queue a stream?")
    return value


#: (offset, position, logged at in ms) of one message.
Seen = tuple[int, int, int]


async def messages_at(
    connection: AbstractConnection, stream: str, start: Any, *, count: int, quiet: float = QUIET
) -> list[Seen]:
    """(offset, position, logged at) of up to ``count`` messages from ``start`` (an ``x-stream-offset`` value), stopping
    after ``quiet`` seconds without one (``FIRST_WAIT`` for the first). Nothing is handled or kept."""
    async with connection.channel() as channel:
        await channel.set_qos(prefetch_count=min(count, 1000))  # a stream consumer must have a prefetch
        queue = await channel.declare_queue(stream, passive=True)
        return await _take(queue, start, count, quiet)


async def _take(queue: AbstractQueue, start: Any, count: int, quiet: float) -> list[Seen]:
    found: list[Seen] = []
    arrived = asyncio.Event()

    async def take(message: AbstractIncomingMessage) -> None:
        if len(found) < count:
            found.append((offset_of(message), position_of(message), logged_at_of(message)))
            arrived.set()
        await message.ack()

    tag = await queue.consume(take, arguments={"x-stream-offset": start})
    try:
        wait = FIRST_WAIT
        while len(found) < count:
            arrived.clear()
            try:
                await asyncio.wait_for(arrived.wait(), wait)
            except TimeoutError:
                break
            wait = quiet
    finally:
        with contextlib.suppress(Exception):
            await queue.cancel(tag)
    return found


async def first(connection: AbstractConnection, stream: str) -> Seen | None:
    """The oldest message the stream still has; None if it is empty."""
    found = await messages_at(connection, stream, "first", count=1)
    return found[0] if found else None


async def last(connection: AbstractConnection, stream: str) -> Seen | None:
    """The newest message: the last chunk is read until it goes quiet. None if the stream is empty."""
    found = await messages_at(connection, stream, "last", count=100_000)
    return max(found) if found else None


async def seek(connection: AbstractConnection, stream: str, position: int) -> int | None:
    """The offset to start at to read ``position`` and everything after it (None: the stream is empty).

    Raises :class:`ledger_sdk.amqp._seek.ReaderBehind` when ``position`` is older than the oldest the stream keeps.
    """
    ends = await _ends(connection, stream)
    if ends is None:
        return None
    low, high = ends
    return await bisect(_prober(connection, stream, 1), (low[0], low[1]), (high[0], high[1]), position)


async def position_before(connection: AbstractConnection, stream: str, moment: datetime) -> int:
    """The last position logged before ``moment`` (reading after it starts with the first logged at or after).

    Raises :class:`ledger_sdk.amqp._seek.ReaderBehind` when the stream no longer reaches back to ``moment``.
    """
    ends = await _ends(connection, stream)
    if ends is None:
        return 0
    low, high = ends
    wanted = int(moment.timestamp() * 1000)
    if wanted <= low[2]:
        if low[1] > 1:  # what was logged between the moment and the oldest kept is gone
            raise ReaderBehind(low[1] - 1, low[1])
        return 0
    if wanted > high[2]:
        return high[1]
    offset = await bisect(_prober(connection, stream, 2), (low[0], low[2]), (high[0], high[2]), wanted)
    found = await messages_at(connection, stream, offset, count=1)
    return found[0][1] - 1 if found else high[1]


async def start_position(connection: AbstractConnection, stream: str, start: object) -> int:
    """The last position already handled for a reader's ``start``: ``"beginning"`` 0, an int itself, ``"now"``
    the stream's last position, a ``datetime`` the last position logged before it."""
    if start == "beginning":
        return 0
    if isinstance(start, int) and not isinstance(start, bool):
        return start
    if isinstance(start, datetime):
        return await position_before(connection, stream, start)
    if start != "now":
        raise ValueError(f"start is 'beginning', 'now', a datetime or a position, not {start!r}")
    tail = await last(connection, stream)
    return tail[1] if tail is not None else 0


async def _ends(connection: AbstractConnection, stream: str) -> tuple[Seen, Seen] | None:
    low = await first(connection, stream)
    if low is None:
        return None
    high = await last(connection, stream)
    return low, high if high is not None else low


def _prober(connection: AbstractConnection, stream: str, key: int) -> Callable[[int], Awaitable[Found | None]]:
    """``probe(offset)`` for :func:`bisect`: the first message at or after it, as (offset, its ``key`` field)."""

    async def probe(offset: int) -> Found | None:
        found = await messages_at(connection, stream, offset, count=1)
        return (found[0][0], found[0][key]) if found else None

    return probe
