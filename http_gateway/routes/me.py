"""``/wallets/me``: what a wallet-bound key reads of its own wallet, without naming it.

Registered before ``/wallets/{wallet}`` so that ``me`` is never taken for a wallet reference.
A service key gets 403 ``wallet_key_required`` and names the wallet instead.
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import APIRouter

from contracts import http as docs
from contracts.keys import Scope
from http_gateway import lookup, pages
from http_gateway.auth import Principal, require, require_bound
from http_gateway.deps import CurrenciesDep, PoolDep
from http_gateway.problems import Problem
from http_gateway.routes import history, wallets

router = APIRouter(tags=["wallets"])
Reader = Annotated[Principal, require(Scope.READ)]


async def _mine(pool: asyncpg.Pool, principal: Principal) -> asyncpg.Record:
    row = await lookup.find_wallet(pool, str(require_bound(principal)))
    if row is None:  # the key's wallet is a foreign key: only a race with its creation gets here
        raise Problem(404, "wallet_not_found", "this key's wallet does not exist")
    return row


@router.get("/wallets/me", operation_id="me.wallet", response_model=docs.Wallet)
async def my_wallet(pool: PoolDep, currencies: CurrenciesDep, principal: Reader) -> docs.Wallet:
    """The key's own wallet with its accounts and balances."""
    return await wallets.wallet_view(pool, currencies, await _mine(pool, principal))


@router.get("/wallets/me/balance", operation_id="me.balance", response_model=docs.WalletBalances)
async def my_balance(
    pool: PoolDep,
    currencies: CurrenciesDep,
    principal: Reader,
    at: pages.At = None,
) -> docs.WalletBalances:
    """The key's wallet balance in every currency, now or as of a past moment."""
    row = await _mine(pool, principal)
    return await wallets.balances(pool, currencies, row["id"], at)


@router.get("/wallets/me/transactions", operation_id="me.transactions", response_model=docs.EntryPage)
async def my_transactions(
    pool: PoolDep,
    currencies: CurrenciesDep,
    principal: Reader,
    filters: history.FiltersDep,
    cursor: pages.Cursor = None,
    limit: pages.Limit = 50,
) -> docs.EntryPage:
    """The postings of the key's wallet, newest first, each with its account's balance after it."""
    row = await _mine(pool, principal)
    return await history.wallet_entries(pool, currencies, row["id"], filters, cursor, limit)


@router.get("/wallets/me/events", operation_id="me.events", response_model=docs.EventPage)
async def my_events(
    pool: PoolDep, principal: Reader, after: pages.Cursor = None, limit: pages.Limit = 100
) -> docs.EventPage:
    """The key's wallet event stream, oldest first, from ``after``."""
    return await history.event_page(pool, await _mine(pool, principal), after, limit)
