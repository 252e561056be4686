"""Accounts: open one on its own, read it, set its limits, its balance now or at a past moment."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import Field

from contracts import http as docs
from contracts.base import Contract
from contracts.keys import Scope
from contracts.wallets import OpenAccount, SetAccountLimits
from http_gateway import lookup, pages, views
from http_gateway.amounts import AmountIn, SignedAmountIn
from http_gateway.auth import Authenticated, Principal, authorize_accounts, require
from http_gateway.deps import CurrenciesDep, PoolDep
from http_gateway.dispatch import WriterDep, command_route, contract
from http_gateway.problems import Problem
from http_gateway.routes.wallets import AccountBody

router = APIRouter(tags=["accounts"])
Reader = Annotated[Principal, require(Scope.READ)]


class LimitsBody(Contract):
    """Replaces all limits, in the account's currency. ``min_balance`` below zero is a credit line;
    a limit left out (``null``) is no limit. Daily limits count debits over a rolling 24 hours."""

    min_balance: SignedAmountIn = 0
    max_per_transaction: AmountIn | None = None
    daily_debit_amount: AmountIn | None = None
    daily_debit_count: Annotated[int, Field(ge=1, le=10**9, strict=True)] | None = None


def _missing(account_id: UUID) -> Problem:
    return Problem(404, "account_not_found", f"account {account_id} does not exist")


@command_route(router, "account.open", path="/accounts", created=True)
async def open_account(body: AccountBody, w: WriterDep, principal: Authenticated) -> JSONResponse:
    """Open an account in a wallet of its own (same id): ``account.open``."""
    minimum = await w.currencies.minor(w.pool, body.currency, body.min_balance, field="min_balance", positive=False)
    payload = contract(OpenAccount, account_id=body.account_id, currency=body.currency, min_balance=minimum)
    return await w.send("account.open", payload, principal, created=True)


@router.get("/accounts/{account_id}", response_model=docs.Account)
async def get_account(account_id: UUID, pool: PoolDep, currencies: CurrenciesDep, principal: Reader) -> docs.Account:
    """An account: posted, held and available balances, limits and status."""
    await authorize_accounts(pool, principal, [account_id])
    row = await lookup.account(pool, account_id)
    if row is None:
        raise _missing(account_id)
    return views.account(row, await currencies.exponent(pool, row["currency"]))


@command_route(router, "account.set_limits")
async def set_limits(account_id: UUID, body: LimitsBody, w: WriterDep, principal: Authenticated) -> JSONResponse:
    """Replace the account's limits: ``account.set_limits``."""
    row = await lookup.account(w.pool, account_id)
    if row is None:
        raise _missing(account_id)
    currency = row["currency"]

    async def minor(field: str, *, positive: bool = True) -> int | None:
        value = getattr(body, field)
        return (
            None if value is None else await w.currencies.minor(w.pool, currency, value, field=field, positive=positive)
        )

    payload = contract(
        SetAccountLimits,
        account_id=account_id,
        currency=currency,
        min_balance=await minor("min_balance", positive=False),
        max_per_transaction=await minor("max_per_transaction"),
        daily_debit_amount=await minor("daily_debit_amount"),
        daily_debit_count=body.daily_debit_count,
    )
    return await w.send("account.set_limits", payload, principal)


@router.get("/accounts/{account_id}/balance", response_model=docs.BalanceAt)
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
