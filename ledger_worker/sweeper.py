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
#: (command, query for what is due): holds past their expiry, open intents past theirs.
_DUE = (
    (
        "hold.expire",
        "SELECT id FROM holds WHERE status = 'pending' AND expires_at <= now() ORDER BY expires_at LIMIT $1",
    ),
    (
        "intent.expire",
        "SELECT id FROM payment_intents WHERE status = 'open' AND expires_at <= now() ORDER BY expires_at LIMIT $1",
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
                        command_id=f"expire:{noun}:{r['id']}",
                        issued_at=now,
                        principal="system:sweeper",
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
