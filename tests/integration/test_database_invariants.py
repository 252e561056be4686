"""The schema itself refuses what no deploy or hand-written SQL may do."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from ledger_worker.domain import system_account_id


async def _account(conn: asyncpg.Connection, balance: int = 0) -> uuid.UUID:
    account_id = uuid.uuid4()
    await conn.execute("INSERT INTO accounts (id, currency, kind) VALUES ($1, 'USD', 'user')", account_id)
    return account_id


async def _transaction(conn: asyncpg.Connection) -> uuid.UUID:
    tx = uuid.uuid4()
    await conn.execute("INSERT INTO transactions (id, command_id, kind) VALUES ($1, $2, 'test')", tx, tx.hex)
    return tx


async def test_unbalanced_transaction_cannot_commit(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        account = await _account(conn)
        with pytest.raises(asyncpg.CheckViolationError, match="unbalanced"):
            async with conn.transaction():
                tx = await _transaction(conn)
                await conn.execute(
                    "INSERT INTO postings (transaction_id, account_id, currency, amount, balance_after)"
                    " VALUES ($1, $2, 'USD', 100, 100)",
                    tx,
                    account,
                )
        assert await conn.fetchval("SELECT count(*) FROM postings WHERE account_id = $1", account) == 0


async def test_postings_cannot_be_updated_or_deleted(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        account = await _account(conn)
        system = system_account_id("USD")
        await conn.execute(
            "INSERT INTO accounts (id, currency, kind, min_balance) VALUES ($1, 'USD', 'system', NULL)"
            " ON CONFLICT DO NOTHING",
            system,
        )
        async with conn.transaction():
            tx = await _transaction(conn)
            await conn.execute(
                "INSERT INTO postings (transaction_id, account_id, currency, amount, balance_after)"
                " VALUES ($1, $2, 'USD', 100, 100), ($1, $3, 'USD', -100, -100)",
                tx,
                account,
                system,
            )
        for sql in (
            "UPDATE postings SET amount = 1 WHERE transaction_id = $1",
            "DELETE FROM postings WHERE transaction_id = $1",
        ):
            with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="immutable"):
                await conn.execute(sql, tx)


async def test_balance_cannot_go_below_minimum(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        account = await _account(conn)
        with pytest.raises(asyncpg.CheckViolationError, match="balance_above_minimum"):
            await conn.execute("UPDATE accounts SET balance = -1 WHERE id = $1", account)
