"""Limits checked atomically with the posting: parallel requests cannot slip past them."""

from __future__ import annotations

import asyncio

import asyncpg

from contracts.keys import KeyLimits, KeySpec, Scope, SpendingLimit
from ledger_common import keystore
from tests.ledger import apply, apply_one, cmd, funded_wallet


async def _key_with_daily_limit(pool: asyncpg.Pool, per_day: int, per_transaction: int | None = None) -> str:
    async with pool.acquire() as conn:
        key = await keystore.create_key(
            conn,
            KeySpec(name="agent", scopes=(Scope.TRANSFER, Scope.HOLDS)),
            principal="test",
            pepper=b"p" * 32,
            environment="test",
        )
        limit = SpendingLimit(currency="USD", per_transaction_max=per_transaction, per_day_max=per_day)
        await keystore.set_limits(conn, key.id, KeyLimits(spending_limits=(limit,)), principal="test")
    return f"key:{key.id}"


async def test_parallel_spends_never_exceed_a_keys_daily_limit(pool: asyncpg.Pool) -> None:
    principal = await _key_with_daily_limit(pool, per_day=1_000, per_transaction=300)
    _, account = await funded_wallet(pool, 100_000)
    spends = [cmd("spend", account_id=str(account), amount=100, currency="USD", principal=principal) for _ in range(30)]
    batches = [spends[i : i + 3] for i in range(0, 30, 3)]  # ten batches of three, all at once
    results = [r for rs in await asyncio.gather(*(apply(pool, *b) for b in batches)) for r in rs]
    assert sum(r.status == "applied" for r in results) == 10
    assert {r.refusal for r in results if r.status == "refused"} == {"exceeds_key_limit"}
    assert await pool.fetchval("SELECT balance FROM accounts WHERE id = $1", account) == 99_000
    big = await apply_one(
        pool, cmd("withdraw", account_id=str(account), amount=301, currency="USD", principal=principal)
    )
    assert big.refusal == "exceeds_key_limit"  # the per-transaction maximum
    other = await apply_one(
        pool, cmd("spend", account_id=str(account), amount=100, currency="USD", principal="service")
    )
    assert other.status == "applied"  # the limit is the key's, not the account's


async def test_holds_count_against_the_key_when_placed(pool: asyncpg.Pool) -> None:
    principal = await _key_with_daily_limit(pool, per_day=500)
    _, account = await funded_wallet(pool, 10_000)
    _, shop = await funded_wallet(pool, 0)
    hold = await apply_one(
        pool, cmd("hold.place", account_id=str(account), amount=400, currency="USD", principal=principal)
    )
    assert hold.status == "applied"
    over = await apply_one(pool, cmd("spend", account_id=str(account), amount=101, currency="USD", principal=principal))
    assert over.refusal == "exceeds_key_limit"
    capture = cmd("hold.capture", hold_id=str(hold.hold_id), recipient_account_id=str(shop), principal=principal)
    assert (await apply_one(pool, capture)).status == "applied"  # counted once, at placement


async def test_parallel_debits_never_exceed_an_accounts_daily_limits(pool: asyncpg.Pool) -> None:
    _, account = await funded_wallet(pool, 100_000)
    _, other = await funded_wallet(pool, 0)
    limits = cmd(
        "account.set_limits", account_id=str(account), currency="USD", daily_debit_amount=2_000, daily_debit_count=15
    )
    assert (await apply_one(pool, limits)).status == "applied"
    moves = [
        cmd("transfer", debit_account_id=str(account), credit_account_id=str(other), amount=150, currency="USD")
        for _ in range(40)
    ]
    results = await asyncio.gather(*(apply_one(pool, m) for m in moves))
    applied = sum(r.status == "applied" for r in results)
    assert applied == 2_000 // 150  # 13: the amount limit binds before the count
    assert {r.refusal for r in results if r.status == "refused"} == {"exceeds_daily_amount"}
    small = [cmd("spend", account_id=str(account), amount=1, currency="USD") for _ in range(5)]
    counted = await asyncio.gather(*(apply_one(pool, m) for m in small))
    assert sum(r.status == "applied" for r in counted) == 2  # 15 debits a day at most
    assert {r.refusal for r in counted if r.status == "refused"} == {"exceeds_daily_count"}


async def test_a_keys_per_transaction_maximum_covers_a_holds_total_after_increments(pool: asyncpg.Pool) -> None:
    """Issue: a hold of 400 incremented by 400 was captured as one 800 under a 500 maximum."""
    principal = await _key_with_daily_limit(pool, per_day=10_000, per_transaction=500)
    _, account = await funded_wallet(pool, 10_000)
    hold = await apply_one(
        pool, cmd("hold.place", account_id=str(account), amount=400, currency="USD", principal=principal)
    )
    assert hold.status == "applied"
    over = await apply_one(pool, cmd("hold.increment", hold_id=str(hold.hold_id), amount=400, principal=principal))
    assert over.refusal == "exceeds_key_limit"
    within = await apply_one(pool, cmd("hold.increment", hold_id=str(hold.hold_id), amount=100, principal=principal))
    assert within.status == "applied"  # 500 in all: at the maximum


async def test_every_recorded_balance_after_respects_the_minimum(pool: asyncpg.Pool) -> None:
    """Issue: legs debiting then crediting one account recorded a balance_after far below its minimum."""
    _, a = await funded_wallet(pool, 100)
    _, b = await funded_wallet(pool, 0)
    legs = [
        {"account_id": str(a), "side": "debit", "amount": 1_000},
        {"account_id": str(a), "side": "credit", "amount": 950},
        {"account_id": str(b), "side": "credit", "amount": 50},
    ]
    result = await apply_one(pool, cmd("transaction.post", currency="USD", legs=legs, principal="service"))
    assert result.status == "applied", result
    rows = await pool.fetch(
        "SELECT amount, balance_after FROM postings WHERE account_id = $1 AND transaction_id = $2 ORDER BY id",
        a,
        result.transaction_id,
    )
    assert [(r["amount"], r["balance_after"]) for r in rows] == [(950, 1_050), (-1_000, 50)]
