"""apply_command against real PostgreSQL: concurrent duplicates of one command apply once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg

from contracts.commands import DepositCommand, OpenAccountCommand, TransferCommand, parse_command
from contracts.results import CommandResult
from ledger_worker.apply import apply_command


async def _apply(pool: asyncpg.Pool, cmd: object) -> CommandResult:
    async with pool.acquire() as conn:
        return await apply_command(conn, cmd)  # type: ignore[arg-type]


def _now() -> datetime:
    return datetime.now(UTC)


async def test_concurrent_duplicates_apply_once(pool: asyncpg.Pool) -> None:
    opened = await _apply(
        pool,
        OpenAccountCommand.model_validate(
            {"command_id": uuid.uuid4().hex, "issued_at": _now(), "payload": {"currency": "USD"}}
        ),
    )
    account = opened.account_id
    cmd = DepositCommand.model_validate(
        {
            "command_id": uuid.uuid4().hex,
            "issued_at": _now(),
            "payload": {"account_id": account, "amount": 700, "currency": "USD"},
        }
    )
    results = await asyncio.gather(*(_apply(pool, cmd) for _ in range(12)))
    assert sum(not r.replayed for r in results) == 1
    assert len({r.transaction_id for r in results}) == 1
    assert await pool.fetchval("SELECT balance FROM accounts WHERE id = $1", account) == 700
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE command_id = $1", cmd.command_id) == 1


async def test_opposing_transfers_do_not_deadlock(pool: asyncpg.Pool) -> None:
    accounts = []
    for _ in range(2):
        r = await _apply(
            pool,
            parse_command(
                OpenAccountCommand.model_validate(
                    {"command_id": uuid.uuid4().hex, "issued_at": _now(), "payload": {"currency": "EUR"}}
                )
                .model_dump_json()
                .encode()
            ),
        )
        accounts.append(r.account_id)
        await _apply(
            pool,
            DepositCommand.model_validate(
                {
                    "command_id": uuid.uuid4().hex,
                    "issued_at": _now(),
                    "payload": {"account_id": r.account_id, "amount": 1_000, "currency": "EUR"},
                }
            ),
        )
    a, b = accounts

    def transfer(src: object, dst: object) -> TransferCommand:
        return TransferCommand.model_validate(
            {
                "command_id": uuid.uuid4().hex,
                "issued_at": _now(),
                "payload": {"debit_account_id": src, "credit_account_id": dst, "amount": 10, "currency": "EUR"},
            }
        )

    results = await asyncio.gather(*(_apply(pool, transfer(a, b) if i % 2 else transfer(b, a)) for i in range(40)))
    assert all(r.status == "applied" for r in results)
    balances = await pool.fetch("SELECT balance FROM accounts WHERE id = ANY($1::uuid[])", [a, b])
    assert sorted(r["balance"] for r in balances) == [1_000, 1_000]


async def test_first_deposits_in_a_new_currency_race_safely(pool: asyncpg.Pool) -> None:
    currency = "Q" + uuid.uuid4().hex[:8].upper()  # a currency no system account exists for yet
    accounts = []
    for _ in range(10):
        opened = await _apply(
            pool,
            OpenAccountCommand.model_validate(
                {"command_id": uuid.uuid4().hex, "issued_at": _now(), "payload": {"currency": currency}}
            ),
        )
        accounts.append(opened.account_id)
    deposits = [
        DepositCommand.model_validate(
            {
                "command_id": uuid.uuid4().hex,
                "issued_at": _now(),
                "payload": {"account_id": a, "amount": 5, "currency": currency},
            }
        )
        for a in accounts * 2
    ]
    results = await asyncio.gather(*(_apply(pool, d) for d in deposits))
    assert [r.status for r in results] == ["applied"] * 20, {r.detail for r in results}
