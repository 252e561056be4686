"""Writing events to the transactional outbox: the one place that knows the outbox row's shape.

Callers (the worker applying a command, the key admin API and CLI) write their rows inside their own
transaction, so an event exists if and only if the change it describes committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple
from uuid import UUID

import asyncpg

#: Outbox partitions: one relay at a time publishes a partition, in id order (outbox_relay/relay.py).
PARTITIONS = 16


def partition_of(subject_id: UUID) -> int:
    """The partition of everything about one subject (an account, an API key): keeps its events in order."""
    return subject_id.int % PARTITIONS


class OutboxRow(NamedTuple):
    event_id: UUID
    routing_key: str
    partition: int
    body: bytes


async def write_outbox(conn: asyncpg.Connection, *, command_id: str, rows: Sequence[OutboxRow]) -> None:
    """Insert ``rows`` in the caller's transaction (the relay is woken by the table's NOTIFY trigger)."""
    if not rows:
        return
    # Every event is kept in ``events`` (the history); the outbox row is only its place in the queue.
    await conn.execute(
        "INSERT INTO events (event_id, type, command_id, occurred_at, body)"
        " SELECT e, k, $1, now(), b FROM unnest($2::uuid[], $3::text[], $4::bytea[]) AS t(e, k, b)",
        command_id,
        [r.event_id for r in rows],
        [r.routing_key for r in rows],
        [r.body for r in rows],
    )
    await conn.execute(
        "INSERT INTO outbox (event_id, command_id, routing_key, partition, body)"
        " SELECT e, $1, k, p, b FROM unnest($2::uuid[], $3::text[], $4::smallint[], $5::bytea[])"
        " AS t(e, k, p, b)",
        command_id,
        [r.event_id for r in rows],
        [r.routing_key for r in rows],
        [r.partition for r in rows],
        [r.body for r in rows],
    )
