"""Accounts: read one, its balance now or at a past moment (opening one and its limits: ``http_gateway.writes``)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter

from contracts import http as docs
from contracts.keys import Scope
from http_gateway import lookup, pages, views
from http_gateway.auth import Principal, authorize_accounts, require
from http_gateway.deps import CurrenciesDep, PoolDep
from http_gateway.problems import Problem

router = APIRouter(tags=["accounts"])
Reader = Annotated[Principal, require(Scope.READ)]


def _missing(account_id: UUID) -> Problem:
    return Problem(404, "account_not_found", f"account {account_id} does not exist")


@router.get("/accounts/{account_id}", operation_id="accounts.get", response_model=docs.Account)
async def get_account(account_id: UUID, pool: PoolDep, currencies: CurrenciesDep, principal: Reader) -> docs.Account:
    """An account: posted, held and available balances, limits and status."""
    await authorize_accounts(pool, principal, [account_id])
    row = await lookup.account(pool, account_id)
    if row is None:
        raise _missing(account_id)
    return views.account(row, await currencies.exponent(pool, row["currency"]))


@router.get("/accounts/{account_id}/balance", operation_id="accounts.balance", response_model=docs.BalanceAt)
async def get_balance(
    account_id: UUID,
    pool: PoolDep,
    currencies: CurrenciesDep,
    principal: Reader,
    at: pages.At = None,
) -> docs.BalanceAt:
    """The posted balance now, or as of any past moment: the balance after the last posting at or before it."""
    await authorize_accounts(pool, principal, [account_id])
    row = await lookup.account(pool, account_id)
    if row is None:
        raise _missing(account_id)
    exponent = await currencies.exponent(pool, row["currency"])
    last = await pool.fetchrow(
        "SELECT id, balance_after, created_at FROM postings WHERE account_id = $1"
        " AND ($2::timestamptz IS NULL OR created_at <= $2) ORDER BY id DESC LIMIT 1",
        account_id,
        at,
    )
    posted = row["balance"] if at is None else last["balance_after"] if last else 0
    held = row["held"] if at is None else None  # holds are not history
    available = None if held is None else posted - held
    return docs.BalanceAt(
        account_id=account_id,
        currency=row["currency"],
        at=at,
        balance=posted,
        balance_decimal=views.dec(posted, exponent) or "0",
        held=held,
        held_decimal=views.dec(held, exponent),
        available=available,
        available_decimal=views.dec(available, exponent),
        posting_id=last["id"] if last else None,
        posted_at=last["created_at"] if last else None,
    )
