"""Wallets: find them, read one with its balances (the commands' routes are ``http_gateway.writes``').

Changing a wallet (scope ``wallets``) is for service keys: a wallet-bound key must not unfreeze
itself or raise its own limits. Reading needs ``read``, and a bound key reads only its own wallet.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Query
from pydantic import TypeAdapter

from contracts import http as docs
from contracts.keys import Scope
from http_gateway import lookup, pages, views
from http_gateway.amounts import Currencies
from http_gateway.auth import Principal, require
from http_gateway.bodies import WalletPath
from http_gateway.deps import CurrenciesDep, PoolDep
from http_gateway.problems import Problem

router = APIRouter(tags=["wallets"])
_WALLET: TypeAdapter[UUID] = TypeAdapter(UUID)
Reader = Annotated[Principal, require(Scope.READ)]
Ref = WalletPath


async def resolve(pool: asyncpg.Pool, principal: Principal, ref: str) -> asyncpg.Record:
    """The wallet ``ref`` names: 403 for a bound key and any other wallet (existing or not), else 404."""
    row = await lookup.find_wallet(pool, ref)
    if principal.wallet_id is not None and (row is None or row["id"] != principal.wallet_id):
        raise Problem(403, "wrong_wallet", "this key is bound to another wallet")
    if row is None:
        raise Problem(404, "wallet_not_found", f"wallet {ref} does not exist")
    return row


async def accounts_of(pool: asyncpg.Pool, currencies: Currencies, wallet_ids: list[UUID]) -> list[docs.Account]:
    rows = await pool.fetch(
        f"SELECT {lookup.ACCOUNT_COLUMNS} FROM accounts WHERE wallet_id = ANY($1::uuid[])"  # noqa: S608
        " ORDER BY currency",
        wallet_ids,
    )
    return [views.account(r, await currencies.exponent(pool, r["currency"])) for r in rows]


async def wallet_view(pool: asyncpg.Pool, currencies: Currencies, row: asyncpg.Record) -> docs.Wallet:
    return views.wallet(row, await accounts_of(pool, currencies, [row["id"]]))


async def balances(
    pool: asyncpg.Pool, currencies: Currencies, wallet_id: UUID, at: datetime | None
) -> docs.WalletBalances:
    """Each account's balances now, or its posted balance after its last posting at or before ``at``."""
    if at is None:
        rows = await pool.fetch(
            "SELECT id, wallet_id, currency, balance, held FROM accounts WHERE wallet_id = $1 ORDER BY currency",
            wallet_id,
        )
    else:
        rows = await pool.fetch(
            "SELECT a.id, a.wallet_id, a.currency, coalesce(p.balance_after, 0) AS balance, 0 AS held"
            " FROM accounts a LEFT JOIN LATERAL (SELECT balance_after FROM postings WHERE account_id = a.id"
            " AND created_at <= $2 ORDER BY id DESC LIMIT 1) p ON TRUE WHERE a.wallet_id = $1 ORDER BY a.currency",
            wallet_id,
            at,
        )
    out = [views.balance(r, await currencies.exponent(pool, r["currency"])) for r in rows]
    return docs.WalletBalances(wallet_id=wallet_id, at=at, balances=out)


@router.get(
    "/wallets",
    operation_id="wallets.list",
    response_model=docs.WalletPage,
    description="Find wallets." + pages.METADATA_HELP,
)
async def search_wallets(
    metadata: pages.MetadataFilter,
    pool: PoolDep,
    currencies: CurrenciesDep,
    principal: Reader,
    owner_id: Annotated[str | None, Query(max_length=128, pattern=r"^[^\x00]+$")] = None,
    kind: Literal["user", "merchant", "group", "system"] | None = None,
    cursor: pages.Cursor = None,
    limit: pages.Limit = 50,
) -> docs.WalletPage:
    """Find wallets by owner, kind and metadata, in id order (a bound key finds only its own).

    Id order pages on the primary key, so even an unfiltered listing costs one index range per page.
    """
    where = pages.Where()
    if owner_id is not None:
        where.add("owner_id = {}", owner_id)
    if kind is not None:
        where.add("kind = {}", kind)
    if metadata:
        where.add("metadata @> {}::jsonb", metadata)
    if principal.wallet_id is not None:
        where.add("id = {}", principal.wallet_id)
    if cursor:
        where.add("id > {}", pages.decode(cursor, "w", _WALLET))
    sql = (
        f"SELECT {lookup.WALLET_COLUMNS} FROM wallets WHERE {where.sql}"  # noqa: S608 - constant fragments only
        f" ORDER BY id LIMIT {where.arg(limit + 1)}"
    )
    rows = await pool.fetch(sql, *where.args)
    accounts = await accounts_of(pool, currencies, [r["id"] for r in rows[:limit]])
    found = [views.wallet(r, [a for a in accounts if a.wallet_id == r["id"]]) for r in rows[:limit]]
    last = rows[limit - 1] if len(rows) > limit else None
    return docs.WalletPage(wallets=found, next_cursor=pages.encode("w", last["id"]) if last else None)


@router.get("/wallets/{wallet}", operation_id="wallets.get", response_model=docs.Wallet)
async def get_wallet(wallet: Ref, pool: PoolDep, currencies: CurrenciesDep, principal: Reader) -> docs.Wallet:
    """A wallet with its accounts and their posted, held and available balances."""
    return await wallet_view(pool, currencies, await resolve(pool, principal, wallet))


@router.get("/wallets/{wallet}/balance", operation_id="wallets.balance", response_model=docs.WalletBalances)
async def get_wallet_balance(
    wallet: Ref,
    pool: PoolDep,
    currencies: CurrenciesDep,
    principal: Reader,
    at: pages.At = None,
) -> docs.WalletBalances:
    """The wallet's balance in every currency, now or as of a past moment."""
    row = await resolve(pool, principal, wallet)
    return await balances(pool, currencies, row["id"], at)
