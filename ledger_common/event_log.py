"""The event log's positions: one global order of every event, in commit order, numbered 1, 2, 3 … for good.

Why a sequencer and not the ``events.id`` identity: an id is taken when a row is inserted, not when its
transaction commits, so a reader paging ``id > n`` could pass a lower id that commits later and never see
it. Numbering at commit in the worker would serialise every commit behind one lock. Instead one
sequencer at a time (the relay's; ``FOR UPDATE SKIP LOCKED`` on the one state row) numbers, in rounds,
the events that became visible since the last round:

- each ``events`` row carries ``xid``, its transaction's id. A round's candidates are the rows whose
  transaction was still running at the previous round's snapshot (``xip``) or started after it
  (``xid >= xmax``): exactly the rows that snapshot could not see. The round numbers those its own
  snapshot sees, in ``events.id`` order, and stores its own snapshot for the next round. A transaction
  that commits later is a candidate of a later round: nothing is skipped, nothing numbered twice.
- positions are ``head + 1 …`` in one transaction with the state row: a reader that sees position n sees
  every position below it, and there are no holes.
- per-account order: two events of one account are inserted under the account's row lock, so the later
  one has the higher id and commits later; the same round numbers them in id order, and a later round
  only holds events that committed after everything an earlier round numbered.

Events of one round share ``logged_at`` (the round's statement time, never earlier than the previous
round's): positions and ``logged_at`` grow together, so "start at time T" is the first position logged
at or after T.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

#: NOTIFY channel: the sequencer's new head (text), after each round that numbered something.
CHANNEL = "ledger_log"

_STATE = """
SELECT head, logged_at, ARRAY(SELECT x::text FROM pg_snapshot_xip(snapshot) AS x) AS xip,
       pg_snapshot_xmax(snapshot)::text AS xmax
  FROM event_log_state FOR UPDATE SKIP LOCKED
"""

# Parameters, not a join on the state row: the planner then sees the values and takes the xid index (a
# bitmap OR of the few running transactions and the range after xmax) instead of scanning every event.
_ROUND = """
WITH fresh AS (
    SELECT id, wallet_id FROM events WHERE xid = ANY($1::text[]::xid8[]) OR xid >= $2::text::xid8
), stamp AS (
    SELECT greatest($4::timestamptz, statement_timestamp()) AS at
), logged AS (
    INSERT INTO event_log (position, event_pk, wallet_id, logged_at)
    SELECT $3 + row_number() OVER (ORDER BY f.id), f.id, f.wallet_id, s.at FROM fresh f, stamp s
    RETURNING position
)
UPDATE event_log_state SET head = $3 + c.n, snapshot = pg_current_snapshot(), logged_at = (SELECT at FROM stamp)
  FROM (SELECT count(*) AS n FROM logged) AS c
 WHERE c.n > 0
RETURNING head
"""


@dataclass(frozen=True, slots=True)
class Round:
    """What one call of :func:`sequence` did: ``None`` head when another relay held the state row."""

    head: int | None
    numbered: int


async def sequence(conn: asyncpg.Connection) -> Round:
    """One round: number every event that became visible since the last round (in one transaction)."""
    async with conn.transaction():
        state = await conn.fetchrow(_STATE)
        if state is None:  # another sequencer is in its round
            return Round(None, 0)
        # A generic plan would not know how few rows the xid bounds select.
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        head = await conn.fetchval(_ROUND, state["xip"], state["xmax"], state["head"], state["logged_at"])
        if head is None:
            return Round(state["head"], 0)
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, str(head))
        return Round(head, head - state["head"])


async def head(conn: asyncpg.Connection | asyncpg.Pool) -> int:
    """The last position given (0: none)."""
    return int(await conn.fetchval("SELECT head FROM event_log_state"))


async def position_at(conn: asyncpg.Connection | asyncpg.Pool, moment: datetime) -> int:
    """The last position logged before ``moment``: reading after it starts with the first logged at or after."""
    first = await conn.fetchval(
        "SELECT position FROM event_log WHERE logged_at >= $1 ORDER BY logged_at, position LIMIT 1", moment
    )
    return int(first) - 1 if first is not None else await head(conn)


#: How many named readers one principal may have (each is a metric series: the set must stay small).
MAX_READERS_PER_PRINCIPAL = 20

#: Each named reader with how far behind it is: positions, and the age of the first event it has not handled.
READERS = """
SELECT r.name, r.principal, r.transport, r.position, r.updated_at,
       greatest(s.head - r.position, 0) AS behind_events,
       coalesce(extract(epoch FROM clock_timestamp()
                        - (SELECT l.logged_at FROM event_log l WHERE l.position = r.position + 1)), 0)::float8
         AS behind_seconds
  FROM event_readers r, event_log_state s
 ORDER BY r.name
"""

#: The log's head, how far the stream publisher got, and the age of the oldest event not in the stream.
STATE = """
SELECT s.head, t.published, t.owner,
       coalesce(extract(epoch FROM clock_timestamp()
                        - (SELECT l.logged_at FROM event_log l WHERE l.position = t.published + 1)), 0)::float8
         AS behind
  FROM event_log_state s, event_stream_state t
"""
