"""The applier against real PostgreSQL: exactly once, batches that survive refusals and races."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from tests.ledger import apply, apply_one, cmd, funded_wallet


async def test_concurrent_duplicates_apply_once(pool: asyncpg.Pool) -> None:
    _, account = await funded_wallet(pool, 0)
    deposit = cmd("deposit", account_id=str(account), amount=700, currency="USD")
    results = await asyncio.gather(*(apply_one(pool, deposit) for _ in range(12)))
    assert sum(not r.replayed for r in results) == 1
    assert len({r.transaction_id for r in results}) == 1
    assert await pool.fetchval("SELECT balance FROM accounts WHERE id = $1", account) == 700
    assert await pool.fetchval("SELECT count(*) FROM events WHERE command_id = $1", deposit.command_id) == 1


async def test_a_refusal_does_not_sink_its_batch(pool: asyncpg.Pool) -> None:
    _, a = await funded_wallet(pool, 100)
    _, b = await funded_wallet(pool, 0)
    batch = [
        cmd("transfer", debit_account_id=str(a), credit_account_id=str(b), amount=60, currency="USD"),
        cmd("transfer", debit_account_id=str(a), credit_account_id=str(b), amount=60, currency="USD"),  # short now
        cmd("transfer", debit_account_id=str(a), credit_account_id=str(b), amount=40, currency="USD"),
    ]
    results = await apply(pool, *batch)
    assert [r.status for r in results] == ["applied", "refused", "applied"]
    assert results[1].refusal == "insufficient_funds"
    assert await pool.fetchval("SELECT balance FROM accounts WHERE id = $1", a) == 0
    refused = await pool.fetchval("SELECT result FROM commands WHERE command_id = $1", batch[1].command_id)
    assert refused["refusal"] == "insufficient_funds"  # recorded: a retry gets the same answer


async def test_the_same_command_twice_in_one_batch_applies_once(pool: asyncpg.Pool) -> None:
    _, account = await funded_wallet(pool, 0)
    deposit = cmd("deposit", account_id=str(account), amount=5, currency="USD")
    first, second = await apply(pool, deposit, deposit)
    assert not first.replayed and second.replayed and first.transaction_id == second.transaction_id
    assert await pool.fetchval("SELECT balance FROM accounts WHERE id = $1", account) == 5


async def test_opposing_transfers_do_not_deadlock(pool: asyncpg.Pool) -> None:
    _, a = await funded_wallet(pool, 1_000, "EUR")
    _, b = await funded_wallet(pool, 1_000, "EUR")

    def transfer(src: uuid.UUID, dst: uuid.UUID) -> object:
        return cmd("transfer", debit_account_id=str(src), credit_account_id=str(dst), amount=10, currency="EUR")

    batches = [[transfer(a, b) if (i + j) % 2 else transfer(b, a) for j in range(5)] for i in range(8)]
    results = await asyncio.gather(*(apply(pool, *batch) for batch in batches))  # type: ignore[arg-type]
    assert all(r.status == "applied" for rs in results for r in rs)
    balances = await pool.fetch("SELECT balance FROM accounts WHERE id = ANY($1::uuid[])", [a, b])
    assert sorted(r["balance"] for r in balances) == [1_000, 1_000]


async def test_first_deposits_in_a_new_currency_race_safely(pool: asyncpg.Pool) -> None:
    currency = "Q" + uuid.uuid4().hex[:8].upper()  # a currency no system account exists for yet
    assert (await apply_one(pool, cmd("currency.register", code=currency, name="Quux", exponent=4))).status == "applied"
    accounts = [(await funded_wallet(pool, 0, currency))[1] for _ in range(10)]
    deposits = [cmd("deposit", account_id=str(a), amount=5, currency=currency) for a in accounts * 2]
    results = await asyncio.gather(*(apply_one(pool, d) for d in deposits))
    assert [r.status for r in results] == ["applied"] * 20, {r.detail for r in results}


async def test_concurrent_batches_racing_for_one_handle_give_it_to_one(pool: asyncpg.Pool) -> None:
    handle = "@race_" + uuid.uuid4().hex[:8]
    batches = [
        [cmd("wallet.create", owner_id=f"o{i}", handle=handle), cmd("wallet.create", owner_id=f"p{i}")]
        for i in range(6)
    ]
    results = await asyncio.gather(*(apply(pool, *b) for b in batches))
    created = [rs[0] for rs in results if rs[0].status == "applied"]
    assert len(created) == 1
    assert {rs[0].refusal for rs in results if rs[0].status == "refused"} == {"handle_taken"}
    assert all(rs[1].status == "applied" for rs in results)  # the batch's other command went through
