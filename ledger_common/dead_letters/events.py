"""Events the relay dead-lettered in the outbox (``dead_at IS NOT NULL``): list, show, replay.

All the SQL about dead events is the two statements below, so a change of where event bodies
live (an ``events`` table) is a change here only. An id is an outbox row id or an ``event_id``.
"""

from __future__ import annotations

import asyncpg

from ledger_common.dead_letters.model import DeadLetter, plain, preview

#: $1: ids (text[]) or NULL for all; $2: body bytes to return; $3: row limit.
_SELECT = """
SELECT id, event_id, command_id, routing_key, attempts, dead_at, last_error,
       octet_length(body) AS size, substring(body FROM 1 FOR $2) AS head
FROM outbox
WHERE dead_at IS NOT NULL AND ($1::text[] IS NULL OR id::text = ANY($1) OR event_id::text = ANY($1))
ORDER BY id LIMIT $3
"""
#: Back in line with its original event_id; the relay publishes it as if new.
_REPLAY = """
UPDATE outbox SET dead_at = NULL, attempts = 0, next_attempt_at = now()
WHERE dead_at IS NOT NULL AND ($1::text[] IS NULL OR id::text = ANY($1) OR event_id::text = ANY($1))
RETURNING id
"""

LIST_LIMIT = 10_000


async def connect(dsn: str) -> asyncpg.Connection:
    return await asyncpg.connect(dsn, timeout=15)


async def find(
    conn: asyncpg.Connection, ids: list[str] | None, *, detail: bool = False, limit: int = LIST_LIMIT
) -> list[DeadLetter]:
    """Dead events in outbox order; ``ids`` None means all of them."""
    head = 1024 if detail else 48
    rows = await conn.fetch(_SELECT, ids, head, limit)
    return [
        DeadLetter(
            source="events",
            id=str(r["id"]),
            routing_key=r["routing_key"],
            reason=r["last_error"] or "",
            attempts=r["attempts"],
            size=r["size"],
            body=preview(bytes(r["head"]), head) + ("…" if r["size"] > head else ""),
            extra={"event_id": str(r["event_id"]), "command_id": r["command_id"], "dead_at": plain(r["dead_at"])},
            dead_at=plain(r["dead_at"]),
        )
        for r in rows
    ]


async def replay(conn: asyncpg.Connection, ids: list[str] | None) -> list[str]:
    """Put the selected dead events back in line; returns the outbox ids replayed."""
    rows = await conn.fetch(_REPLAY, ids)
    return [str(r["id"]) for r in rows]
