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
from typing import Any

from aio_pika.abc import AbstractConnection, AbstractIncomingMessage, AbstractQueue

from contracts.topology import POSITION_HEADER

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


def offset_of(message: AbstractIncomingMessage) -> int:
    """The stream offset RabbitMQ put in the ``x-stream-offset`` header of a delivery."""
    value = (message.headers or {}).get("x-stream-offset")
    if not isinstance(value, int):
        raise ValueError("a stream delivery without x-stream-offset: is this queue a stream?")
    return value


async def messages_at(
    connection: AbstractConnection, stream: str, start: Any, *, count: int, quiet: float = QUIET
) -> list[tuple[int, int]]:
    """(offset, position) of up to ``count`` messages from ``start`` (an ``x-stream-offset`` value), stopping
    after ``quiet`` seconds without one (``FIRST_WAIT`` for the first). Nothing is handled or kept."""
    async with connection.channel() as channel:
        await channel.set_qos(prefetch_count=min(count, 1000))  # a stream consumer must have a prefetch
        queue = await channel.declare_queue(stream, passive=True)
        return await _take(queue, start, count, quiet)


async def _take(queue: AbstractQueue, start: Any, count: int, quiet: float) -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    arrived = asyncio.Event()

    async def take(message: AbstractIncomingMessage) -> None:
        if len(found) < count:
            found.append((offset_of(message), position_of(message)))
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


async def first(connection: AbstractConnection, stream: str) -> tuple[int, int] | None:
    """(offset, position) of the oldest message the stream still has; None if it is empty."""
    found = await messages_at(connection, stream, "first", count=1)
    return found[0] if found else None


async def last(connection: AbstractConnection, stream: str) -> tuple[int, int] | None:
    """(offset, position) of the newest message: the last chunk is read until it goes quiet. None if empty."""
    found = await messages_at(connection, stream, "last", count=100_000)
    return max(found) if found else None


async def seek(connection: AbstractConnection, stream: str, position: int) -> int | None:
    """The offset to start at to read ``position`` and everything after it (None: the stream is empty).

    Raises :class:`ledger_sdk.amqp._seek.Behind` when ``position`` is older than the oldest the stream keeps.
    """
    from ledger_sdk.amqp._seek import bisect  # pure, tested alone

    low = await first(connection, stream)
    if low is None:
        return None
    high = await last(connection, stream)
    assert high is not None

    async def probe(offset: int) -> tuple[int, int] | None:
        found = await messages_at(connection, stream, offset, count=1)
        return found[0] if found else None

    return await bisect(probe, low, high, position)
