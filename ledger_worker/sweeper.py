"""Expire holds and payment intents whose time has passed, with nobody calling.

Every worker runs a sweeper; a session advisory lock lets one sweep at a time, and each expiry is
an ordinary command with a deterministic id (``expire:hold:<id>``), so even two sweepers racing
would apply it once. Expiries go through the same rules, store and outbox as any command.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import asyncpg

from contracts.commands import Command, build_command
from contracts.errors import Unavailable
from ledger_common.db import classify
from ledger_worker.apply import Applier

log = logging.getLogger("ledger_worker")

_LOCK = (7362, 1)  # pg_try_advisory_lock(int, int) key of the sweeper
_BATCH = 200
SWEEPER = "system:sweeper"
#: The expiry's command id names the object and the expiry instant it enforces: an expiry refused
#: (say the hold was extended meanwhile) is recorded under its id and never selected again, so refusals
#: cannot wedge the sweep, and a later expiry of the same object gets an id of its own.
_ID = "'expire:{noun}:' || t.id || ':' || to_char(t.expires_at AT TIME ZONE 'UTC', 'YYYYMMDD\"T\"HH24MISS.US')"
_QUERY = (
    "SELECT t.id, {id} AS command_id FROM {table} t WHERE t.status = '{status}' AND t.expires_at <= now()"
    " AND NOT EXISTS (SELECT 1 FROM commands c WHERE c.principal = '{sweeper}' AND c.command_id = {id})"
    " ORDER BY t.expires_at LIMIT $1"
)
#: (command, query for what is due): holds past their expiry, open intents past theirs.
_DUE = (
    ("hold.expire", _QUERY.format(id=_ID.format(noun="hold"), table="holds", status="pending", sweeper=SWEEPER)),
    (
        "intent.expire",
        _QUERY.format(id=_ID.format(noun="intent"), table="payment_intents", status="open", sweeper=SWEEPER),
    ),
)


async def sweep_once(conn: asyncpg.Connection, applier: Applier) -> int:
    """Expire what is due now (up to a batch of each kind); returns how many commands were applied."""
    if not await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", *_LOCK):
        return 0
    try:
        now = datetime.now(UTC)
        cmds: list[Command] = []
        for kind, sql in _DUE:
            for r in await conn.fetch(sql, _BATCH):
                noun = kind.split(".")[0]
                cmds.append(
                    build_command(
                        kind,
                        {f"{noun}_id": r["id"]},
                        command_id=r["command_id"],
                        issued_at=now,
                        principal=SWEEPER,
                    )
                )
        if cmds:
            await applier.apply(conn, cmds)
        return len(cmds)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1, $2)", *_LOCK)


async def run_sweeper(pool: asyncpg.Pool, applier: Applier, *, every: float, stop: asyncio.Event) -> None:
    """Sweep every ``every`` seconds until ``stop``; database faults are logged and retried next round."""
    while not stop.is_set():
        try:
            async with pool.acquire() as conn:
                while await sweep_once(conn, applier) >= _BATCH:
                    pass  # a backlog: keep going
        except Exception as exc:  # the next round retries; expiry is late, never wrong
            if isinstance(classify(exc), Unavailable):
                log.warning("sweep failed (%s); retrying", type(exc).__name__)
            else:  # a Bug: it will fail again, say where
                log.error("sweep failed; retrying", exc_info=exc)
        try:
            await asyncio.wait_for(stop.wait(), timeout=every)
        except TimeoutError:
            pass
