"""The schema itself refuses what no deploy or hand-written SQL may do."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from contracts.ids import system_account_id, system_wallet_id
from tests.ledger import apply_one, cmd, funded_wallet


async def _account(conn: asyncpg.Connection, balance: int = 0) -> uuid.UUID:
    account_id = uuid.uuid4()
    await conn.execute("INSERT INTO wallets (id, owner_id, kind) VALUES ($1, 'test', 'user')", account_id)
    await conn.execute(
        "INSERT INTO accounts (id, wallet_id, currency, kind, balance) VALUES ($1, $1, 'USD', 'user', $2)",
        account_id,
        balance,
    )
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
                    "INSERT INTO postings (transaction_id, account_id, currency, amount, balance_after, hash)"
                    " VALUES ($1, $2, 'USD', 100, 100, '')",
                    tx,
                    account,
                )
        assert await conn.fetchval("SELECT count(*) FROM postings WHERE account_id = $1", account) == 0


async def test_postings_cannot_be_updated_or_deleted(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        account = await _account(conn)
        system = system_account_id("USD")
        await conn.execute(
            "INSERT INTO accounts (id, wallet_id, currency, kind, min_balance) VALUES ($1, $2, 'USD', 'system', NULL)"
            " ON CONFLICT DO NOTHING",
            system,
            system_wallet_id("treasury"),
        )
        async with conn.transaction():
            tx = await _transaction(conn)
            await conn.execute(
                "INSERT INTO postings (transaction_id, account_id, currency, amount, balance_after, hash)"
                " VALUES ($1, $2, 'USD', 100, 100, ''), ($1, $3, 'USD', -100, -100, '')",
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


async def test_available_cannot_go_below_minimum(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        account = await _account(conn, balance=50)
        with pytest.raises(asyncpg.CheckViolationError, match="available_above_minimum"):
            await conn.execute("UPDATE accounts SET balance = -1 WHERE id = $1", account)
        with pytest.raises(asyncpg.CheckViolationError, match="available_above_minimum"):
            await conn.execute("UPDATE accounts SET held = 51 WHERE id = $1", account)


async def test_events_and_currency_exponents_cannot_change(pool: asyncpg.Pool) -> None:
    await funded_wallet(pool, 100)
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="immutable"):
            await conn.execute("UPDATE events SET body = '{}' WHERE id = (SELECT min(id) FROM events)")
        with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="immutable"):
            await conn.execute("DELETE FROM events")
        with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="cannot change"):
            await conn.execute("UPDATE currencies SET exponent = 3 WHERE code = 'USD'")


async def test_captures_and_refunds_cannot_exceed_what_was_held_or_paid(pool: asyncpg.Pool) -> None:
    _, payer = await funded_wallet(pool, 1_000)
    _, merchant = await funded_wallet(pool, 0)
    hold = await apply_one(pool, cmd("hold.place", account_id=str(payer), amount=300, currency="USD"))
    intent = await apply_one(pool, cmd("intent.create", merchant_account_id=str(merchant), amount=200, currency="USD"))
    paid = await apply_one(pool, cmd("intent.pay", intent_id=str(intent.intent_id), payer_account_id=str(payer)))
    assert paid.status == "applied"
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.CheckViolationError, match="capture_within_hold"):
            await conn.execute(
                "UPDATE holds SET status = 'captured', captured_amount = 301, finished_at = now() WHERE id = $1",
                hold.hold_id,
            )
        with pytest.raises(asyncpg.CheckViolationError, match="refunds_within_paid"):
            await conn.execute("UPDATE payment_intents SET refunded_amount = 201 WHERE id = $1", intent.intent_id)
        await conn.execute("UPDATE holds SET status = 'released', finished_at = now() WHERE id = $1", hold.hold_id)
        with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="cannot change"):
            await conn.execute("UPDATE holds SET status = 'pending', finished_at = NULL WHERE id = $1", hold.hold_id)


async def test_the_sql_and_python_hash_chains_agree(pool: asyncpg.Pool) -> None:
    """``ledger audit`` checks chains with the SQL twin of ``contracts.chain.entry_hash``."""
    from datetime import UTC, datetime

    from contracts.chain import GENESIS, entry_hash

    cases = [
        (uuid.uuid4(), uuid.uuid4(), "transfer", "USD", -2550, 10**37, datetime(2026, 11, 25, 12, 0, 0, 123456, UTC)),
        (uuid.uuid4(), uuid.uuid4(), "hold.capture", "GOLD", 10**30, -(10**20), datetime(1999, 1, 1, tzinfo=UTC)),
    ]
    for account, tx, kind, currency, amount, balance, at in cases:
        sql = await pool.fetchval(
            "SELECT ledger_entry_hash($1, $2, $3, $4, $5, $6, $7, $8)",
            GENESIS,
            account,
            tx,
            kind,
            currency,
            amount,
            balance,
            at,
        )
        python = entry_hash(
            GENESIS,
            account_id=account,
            transaction_id=tx,
            kind=kind,
            currency=currency,
            amount=amount,
            balance_after=balance,
            created_at=at,
        )
        assert bytes(sql) == python
