"""Read endpoints: straight from PostgreSQL, parameterised queries only."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel

from contracts.keys import Scope
from contracts.results import CommandResult
from http_gateway.auth import Principal, authorize_accounts, require
from http_gateway.deps import PoolDep
from http_gateway.problems import Problem

router = APIRouter()
Reader = Annotated[Principal, require(Scope.READ)]


class Account(BaseModel):
    id: UUID
    currency: str
    kind: str
    balance: int
    min_balance: int | None
    created_at: datetime


class Entry(BaseModel):
    posting_id: int
    transaction_id: UUID
    kind: str
    amount: int
    currency: str
    balance_after: int
    created_at: datetime


class EntryPage(BaseModel):
    entries: list[Entry]
    next_cursor: str | None


class Transaction(BaseModel):
    id: UUID
    command_id: str
    kind: str
    created_at: datetime
    postings: list[dict[str, Any]]


def _encode_cursor(posting_id: int) -> str:
    return base64.urlsafe_b64encode(f"p{posting_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("p"):
            raise ValueError
        value = int(raw[1:])
        if not 0 < value < 2**63:
            raise ValueError
        return value
    except ValueError:
        raise Problem(400, "invalid_cursor", "the cursor is not one this API returned") from None


@router.get("/accounts/{account_id}", response_model=Account)
async def get_account(account_id: UUID, pool: PoolDep, principal: Reader) -> Account:
    """An account with its current balance."""
    await authorize_accounts(pool, principal, [account_id])
    row = await pool.fetchrow(
        "SELECT id, currency, kind, balance, min_balance, created_at FROM accounts WHERE id = $1", account_id
    )
    if row is None:
        raise Problem(404, "account_not_found", f"account {account_id} does not exist")
    return Account(**dict(row))


@router.get("/accounts/{account_id}/entries", response_model=EntryPage)
async def list_entries(
    account_id: UUID,
    pool: PoolDep,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> EntryPage:
    """An account's postings, newest first; pass ``next_cursor`` back for the next page."""
    await authorize_accounts(pool, principal, [account_id])
    before = _decode_cursor(cursor) if cursor else 2**63 - 1
    if await pool.fetchval("SELECT 1 FROM accounts WHERE id = $1", account_id) is None:
        raise Problem(404, "account_not_found", f"account {account_id} does not exist")
    rows = await pool.fetch(
        "SELECT p.id AS posting_id, p.transaction_id, t.kind, p.amount, p.currency, p.balance_after,"
        " p.created_at FROM postings p JOIN transactions t ON t.id = p.transaction_id"
        " WHERE p.account_id = $1 AND p.id < $2 ORDER BY p.id DESC LIMIT $3",
        account_id,
        before,
        limit + 1,
    )
    entries = [Entry(**dict(r)) for r in rows[:limit]]
    more = len(rows) > limit
    return EntryPage(entries=entries, next_cursor=_encode_cursor(entries[-1].posting_id) if more else None)


@router.get("/transactions/{transaction_id}", response_model=Transaction)
async def get_transaction(transaction_id: UUID, pool: PoolDep, principal: Reader) -> Transaction:
    """A transaction and its postings."""
    row = await pool.fetchrow("SELECT id, command_id, kind, created_at FROM transactions WHERE id = $1", transaction_id)
    if row is None:
        raise Problem(404, "transaction_not_found", f"transaction {transaction_id} does not exist")
    postings = await pool.fetch(
        "SELECT id AS posting_id, account_id, amount, currency, balance_after FROM postings"
        " WHERE transaction_id = $1 ORDER BY id",
        transaction_id,
    )
    await authorize_accounts(pool, principal, [p["account_id"] for p in postings], any_of=True)
    return Transaction(**dict(row), postings=[dict(p) for p in postings])


@router.get("/commands/{command_id}", response_model=CommandResult)
async def get_command(command_id: str, pool: PoolDep, principal: Reader) -> CommandResult:
    """The recorded outcome of a command; 404 while it is still queued."""
    if len(command_id) > 128:
        raise Problem(404, "command_not_found", "no such command")
    result = await pool.fetchval("SELECT result FROM commands WHERE command_id = $1", command_id)
    if result is None:
        raise Problem(404, "command_not_found", f"command {command_id} has no recorded outcome (yet)")
    outcome = CommandResult.model_validate(result)
    touched = [outcome.account_id, *(b.account_id for b in outcome.balances)]
    await authorize_accounts(pool, principal, touched, any_of=True)
    return outcome
