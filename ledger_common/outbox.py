"""Writing events to the transactional outbox: the one place that knows the outbox row's shape.

Callers (the worker applying a command, the key admin API and CLI) write their rows inside their own
transaction, so an event exists if and only if the change it describes committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg
from opentelemetry import trace

from ledger_common import tracing
from ledger_common.script import Script

#: Outbox partitions: one relay at a time publishes a partition, in id order (outbox_relay/relay.py).
PARTITIONS = 16


#: The outbox at a glance, for the relay's gauges and the gateway's operations page: rows waiting to be
#: published, rows dead, and seconds since the oldest waiting row was written (NULL when none waits).
STATE = """
SELECT count(*) FILTER (WHERE dead_at IS NULL) AS backlog,
       count(*) FILTER (WHERE dead_at IS NOT NULL) AS dead,
       extract(epoch FROM clock_timestamp() - min(created_at) FILTER (WHERE dead_at IS NULL))::float8 AS oldest
  FROM outbox
"""


def partition_of(subject_id: UUID) -> int:
    """The partition of everything about one subject (an account, an API key): keeps its events in order."""
    return subject_id.int % PARTITIONS


@dataclass(frozen=True, slots=True)
class EventRow:
    """One event as written: kept in ``events`` (the history), queued in ``outbox`` for the relay."""

    event_id: UUID
    type: str
    command_id: str
    account_id: UUID | None
    wallet_id: UUID | None
    sequence: int | None
    partition: int
    body: bytes
    #: Who asked for the command (``commands`` is keyed by principal and command id).
    principal: str = ""


async def write_events(conn: asyncpg.Connection, rows: Sequence[EventRow], *, occurred_at: datetime) -> None:
    """Insert ``rows``, in order, in the caller's transaction (the relay is woken by the outbox's NOTIFY).

    With tracing on, the rows carry the current span's ``traceparent`` (an admin request's).
    """
    script = Script()
    parents = [tracing.traceparent(trace.get_current_span())] * len(rows) if tracing.ENABLED else None
    add_events(script, rows, occurred_at=occurred_at, traceparents=parents)
    await script.run(conn)


def add_events(
    script: Script, rows: Sequence[EventRow], *, occurred_at: datetime, traceparents: Sequence[str | None] | None = None
) -> None:
    """Add the statements that insert ``rows`` into ``events`` and ``outbox`` to ``script``.

    The rows (bodies included) cross the wire once, for both tables; ORDER BY n keeps the outbox ids
    (the relay's publish order) in the order given. ``traceparents`` (tracing on): each row's, for the
    relay's span to continue the command's trace; without them the column is left out (NULL).
    """
    if not rows:
        return
    traced = [list(traceparents)] if traceparents is not None else []
    column, array, alias = (", traceparent", ", $10::text[]", ", tp") if traced else ("", "", "")
    script.add(
        "event_rows",
        "SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::uuid[], $6::bigint[],"  # noqa: S608
        f" $7::bytea[], $8::text[], $9::smallint[]{array})"
        f" WITH ORDINALITY AS x(e, k, c, a, w, s, b, p, part{alias}, n)",
        [r.event_id for r in rows],
        [r.type for r in rows],
        [r.command_id for r in rows],
        [r.account_id for r in rows],
        [r.wallet_id for r in rows],
        [r.sequence for r in rows],
        [r.body for r in rows],
        [r.principal for r in rows],
        [r.partition for r in rows],
        *traced,
    )
    script.add(
        "event_history",
        "INSERT INTO events (event_id, type, command_id, account_id, wallet_id, sequence, occurred_at, body,"
        " principal) SELECT e, k, c, a, w, s, $1, b, p FROM event_rows ORDER BY n",
        occurred_at,
    )
    script.add(
        "event_outbox",
        f"INSERT INTO outbox (event_id, command_id, routing_key, partition, body{column})"  # noqa: S608
        f" SELECT e, c, k, part, b{alias} FROM event_rows ORDER BY n",
    )
