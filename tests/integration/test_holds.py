"""Concurrent captures of one hold can never take more than was held."""

from __future__ import annotations

import asyncio

import asyncpg

from tests.ledger import apply_one, cmd, funded_wallet


async def test_concurrent_captures_of_one_hold_take_it_once(pool: asyncpg.Pool) -> None:
    _, payer = await funded_wallet(pool, 1_000)
    _, shop = await funded_wallet(pool, 0)
    hold = await apply_one(pool, cmd("hold.place", account_id=str(payer), amount=1_000, currency="USD"))
    captures = [
        cmd("hold.capture", hold_id=str(hold.hold_id), amount=amount, recipient_account_id=str(shop))
        for amount in range(100, 1_001, 50)
    ]
    results = await asyncio.gather(*(apply_one(pool, c) for c in captures))
    (won,) = [r for r in results if r.status == "applied"]
    assert {r.refusal for r in results if r.status == "refused"} == {"hold_not_pending"}
    taken = await pool.fetchval("SELECT balance FROM accounts WHERE id = $1", shop)
    row = await pool.fetchrow("SELECT balance, held FROM accounts WHERE id = $1", payer)
    assert taken == next(b.balance for b in won.balances if b.account_id == shop) <= 1_000
    assert (row["balance"], row["held"]) == (1_000 - taken, 0)  # the rest was released
