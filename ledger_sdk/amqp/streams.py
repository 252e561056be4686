"""Per-stream order of events, as pure decisions the subscriber acts on (and unit tests check alone).

A stream is an account's events (``account_id`` set) or a wallet's own (``wallet.*``: ``account_id`` null,
``wallet_id`` set); each counts ``sequence`` from 1 without gaps, and the relay publishes them in order.
Events without a sequence (``currency.registered``, ``command.refused``) belong to no stream.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import Enum

from contracts.events import EventEnvelope


def stream_of(event: EventEnvelope) -> str | None:
    """``account:<id>``, ``wallet:<id>``, or None for an event that has no sequence."""
    if event.sequence is None:
        return None
    if event.account_id is not None:
        return f"account:{event.account_id}"
    if event.wallet_id is not None:
        return f"wallet:{event.wallet_id}"
    return None


class Order(Enum):
    """Where an event's sequence stands against the last one handled in its stream."""

    NEXT = "next"  # position + 1: handle it
    DUPLICATE = "duplicate"  # at or before the position: already handled (or skipped past), ack it
    GAP = "gap"  # beyond position + 1: something in between has not been seen


def order(position: int, sequence: int) -> Order:
    """``position`` is the last sequence handled in the stream (0: none yet)."""
    if sequence <= position:
        return Order.DUPLICATE
    return Order.NEXT if sequence == position + 1 else Order.GAP


class Stalls:
    """Streams whose event failed in the handler, so their later events are held back behind it.

    Without this, a failed event (nacked, requeued) would come back after the next events of its
    stream had been handled, and then look like a duplicate. Held-back events are requeued in the
    order they arrive, behind the failed one, which keeps the stream's order. A stall expires after
    ``expiry`` seconds without a new failure, so an event that never comes back (dead-lettered by the
    queue's delivery limit) does not hold its stream forever: what follows it is then a gap.
    """

    def __init__(self, expiry: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._expiry, self._clock = expiry, clock
        self._failed: dict[str, tuple[int, float]] = {}  # stream -> (failed sequence, when)

    def stall(self, stream: str, sequence: int) -> None:
        """The handler failed on ``sequence`` of ``stream``."""
        self._failed[stream] = (sequence, self._clock())

    def holds(self, stream: str, sequence: int) -> bool:
        """True if ``sequence`` must wait behind the stream's failed event."""
        failed = self._failed.get(stream)
        if failed is None:
            return False
        if self._clock() - failed[1] > self._expiry:
            del self._failed[stream]
            return False
        return sequence > failed[0]

    def clear(self, stream: str) -> None:
        """An event of ``stream`` was handled: whatever failed before it is behind it now."""
        self._failed.pop(stream, None)

    def __contains__(self, stream: object) -> bool:
        return stream in self._failed
