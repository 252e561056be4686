"""Helpers for tests that build commands and apply them straight through the worker's applier."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from contracts.commands import Command, build_command
from contracts.results import CommandResult
from ledger_worker.apply import Applier


def cmd(kind: str, *, command_id: str | None = None, principal: str | None = "test", **payload: Any) -> Command:
    """A command of type ``kind`` with a fresh id unless one is given."""
    return build_command(
        kind, payload, command_id=command_id or uuid.uuid4().hex, issued_at=datetime.now(UTC), principal=principal
    )


async def apply(db: asyncpg.Pool | asyncpg.Connection, *cmds: Command) -> list[CommandResult]:
    """Apply ``cmds`` as one batch, exactly as the worker does (a fresh applier: tests use many databases)."""
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn:
            return await Applier().apply(conn, cmds)
    return await Applier().apply(db, cmds)


async def apply_one(db: asyncpg.Pool | asyncpg.Connection, command: Command) -> CommandResult:
    (result,) = await apply(db, command)
    return result


async def funded_wallet(
    db: asyncpg.Pool, amount: int, currency: str = "USD", **wallet: Any
) -> tuple[uuid.UUID, uuid.UUID]:
    """A new user wallet with one account holding ``amount``; returns (wallet id, account id)."""
    created = await apply_one(db, cmd("wallet.create", owner_id=uuid.uuid4().hex, currencies=[currency], **wallet))
    assert created.status == "applied", created
    account = created.balances[0].account_id
    if amount:
        deposit = await apply_one(db, cmd("deposit", account_id=str(account), amount=amount, currency=currency))
        assert deposit.status == "applied", deposit
    assert created.wallet_id is not None
    return created.wallet_id, account
