"""The sequencer against real PostgreSQL, with writers committing in an order nobody chose.

Writers insert events for a few accounts under a per-account lock (as the worker's row locks do), keep
their transactions open for random times, and roll some back; sequencer rounds run all the while, two at
a time, and a watcher checks every snapshot it takes. The positions must be 1..n without a hole at any
moment, every committed event numbered once, and each account's events numbered in its sequence order.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from ledger_cli.system import OwnSystem
from ledger_common import event_log
from tests.conftest import base_settings

WRITERS, ACCOUNTS, PER_WRITER = 6, 5, 50


@pytest.fixture
async def db() -> AsyncIterator[asyncpg.Pool]:
    own = await OwnSystem.create(base_settings(), prefix="test")
    pool = await asyncpg.create_pool(own.dsn, min_size=2, max_size=WRITERS + 4)  # writers, 2 sequencers, watcher
    try:
        yield pool
    finally:
        await pool.close()
        await own.destroy(keep=False, keep_logs=False)


async def _writer(pool: asyncpg.Pool, accounts: list[uuid.UUID], rng: random.Random) -> int:
    committed = 0
    for n in range(PER_WRITER):
        account = rng.choice(accounts)
        async with pool.acquire() as conn:
            tx = conn.transaction()
            await tx.start()
            await conn.execute("SELECT pg_advisory_xact_lock(42, hashtext($1))", str(account))
            sequence = await conn.fetchval("UPDATE seq SET n = n + 1 WHERE account = $1 RETURNING n", account)
            await conn.execute(
                "INSERT INTO events (event_id, type, command_id, account_id, sequence, occurred_at, body)"
                " VALUES ($1, 'account.credited', $2, $3, $4, $5, '\\x7b7d')",
                uuid.uuid4(), f"c-{n}", account, sequence, datetime.now(UTC),
            )  # fmt: skip
            await asyncio.sleep(rng.random() * 0.02)  # others commit meanwhile
            if rng.random() < 0.1:
                await tx.rollback()  # its xid was running at some round's snapshot: never numbered
            else:
                await tx.commit()
                committed += 1
    return committed


async def _sequencer(pool: asyncpg.Pool, done: asyncio.Event) -> None:
    while not done.is_set():
        async with pool.acquire() as conn:
            await event_log.sequence(conn)
        await asyncio.sleep(0.001)


async def _watcher(pool: asyncpg.Pool, done: asyncio.Event) -> int:
    looks = 0
    while not done.is_set():
        row = await pool.fetchrow(
            "SELECT count(*) AS n, coalesce(max(position), 0) AS top, (SELECT head FROM event_log_state) AS head"
            " FROM event_log"
        )
        assert row["n"] == row["top"] == row["head"], dict(row)  # no hole, ever
        looks += 1
        await asyncio.sleep(0.002)
    return looks


async def test_positions_follow_commit_order_without_holes(db: asyncpg.Pool) -> None:
    await db.execute("CREATE TABLE seq (account uuid PRIMARY KEY, n bigint NOT NULL DEFAULT 0)")
    accounts = [uuid.uuid4() for _ in range(ACCOUNTS)]
    await db.executemany("INSERT INTO seq (account) VALUES ($1)", [(a,) for a in accounts])
    done = asyncio.Event()
    background = [asyncio.create_task(_sequencer(db, done)) for _ in range(2)]
    watcher = asyncio.create_task(_watcher(db, done))
    try:
        writers = (_writer(db, accounts, random.Random(seed)) for seed in range(WRITERS))
        committed = sum(await asyncio.gather(*writers))
    finally:
        done.set()
        await asyncio.gather(*background, return_exceptions=True)
    assert await watcher > 10
    async with db.acquire() as conn:
        while (await event_log.sequence(conn)).numbered:
            pass
    rows = await db.fetch(
        "SELECT l.position, e.account_id, e.sequence FROM event_log l JOIN events e ON e.id = l.event_pk"
        " ORDER BY l.position"
    )
    assert [r["position"] for r in rows] == list(range(1, committed + 1))
    assert await db.fetchval("SELECT count(*) FROM events") == committed
    for account in accounts:
        sequences = [r["sequence"] for r in rows if r["account_id"] == account]
        assert sequences == sorted(sequences), (account, sequences)


async def test_time_maps_to_positions(db: asyncpg.Pool) -> None:
    assert await event_log.head(db) == 0
    assert await event_log.position_at(db, datetime.now(UTC)) == 0
