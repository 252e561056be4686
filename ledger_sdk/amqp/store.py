"""Where a subscriber remembers what it handled: the ``event_id`` it has seen, and each stream's position.

Implement ``EventStore`` on your own database for restarts and several subscriber processes. For
exactly-once *effects*, write ``record``'s rows in the same transaction as the handler's projection
update (e.g. the handler opens the transaction and keeps it in a ``contextvars.ContextVar``, and
``record`` writes into it and commits): the subscriber acks only after ``record`` returned, so a crash
before the commit redelivers the event and a crash after it finds it ``seen``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol
from uuid import UUID


class EventStore(Protocol):
    """Three calls the subscriber makes per event: ``seen``, ``position``, then (after the handler) ``record``."""

    async def seen(self, event_id: UUID) -> bool:
        """Was this event handled already? (Delivery is at least once.)"""
        ...

    async def position(self, stream: str) -> int:
        """The last sequence handled in ``stream``, 0 if none."""
        ...

    async def record(self, event_id: UUID, stream: str | None, sequence: int | None) -> None:
        """The handler returned for this event: remember its id, and its stream's new position
        (``stream`` and ``sequence`` are None for an event of no stream). Never lower a position."""
        ...


class MemoryEventStore:
    """An ``EventStore`` in memory: lost on restart, so only for tests and idempotent handlers.

    Keeps the last ``max_ids`` event ids (positions already de-duplicate stream events; the ids are
    for redeliveries of events without a stream and of events still in flight).
    """

    def __init__(self, max_ids: int = 100_000) -> None:
        self._ids: OrderedDict[UUID, None] = OrderedDict()
        self._positions: dict[str, int] = {}
        self._max_ids = max_ids

    async def seen(self, event_id: UUID) -> bool:
        """Whether ``event_id`` was recorded (among the last ``max_ids``)."""
        return event_id in self._ids

    async def position(self, stream: str) -> int:
        """The highest position recorded for ``stream`` (0: none)."""
        return self._positions.get(stream, 0)

    async def record(self, event_id: UUID, stream: str | None, sequence: int | None) -> None:
        """Remember ``event_id``, and ``sequence`` as ``stream``'s position if it is higher."""
        self._ids[event_id] = None
        while len(self._ids) > self._max_ids:
            self._ids.popitem(last=False)
        if stream is not None and sequence is not None:
            self._positions[stream] = max(sequence, self._positions.get(stream, 0))
