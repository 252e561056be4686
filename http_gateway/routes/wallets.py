"""Wallets: create, find, read with balances, freeze, unfreeze, close, metadata, open accounts in them.

Changing a wallet (scope ``wallets``) is for service keys: a wallet-bound key must not unfreeze
itself or raise its own limits. Reading needs ``read``, and a bound key reads only its own wallet.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import Field, TypeAdapter

from contracts import http as docs
from contracts.base import Contract, Currency, MetadataKey, MetadataValue, Text, WalletRef
from contracts.keys import Scope
from contracts.wallets import (
    CloseWallet,
    CreateWallet,
    FreezeWallet,
    OpenAccount,
    SetWalletMetadata,
    UnfreezeWallet,
)
from http_gateway import lookup, pages, views
from http_gateway.amounts import Currencies, SignedAmountIn
from http_gateway.auth import Authenticated, Principal, require
from http_gateway.deps import CurrenciesDep, PoolDep
from http_gateway.dispatch import WriterDep, command_route, contract
from http_gateway.problems import Problem

router = APIRouter(tags=["wallets"])
_WALLET: TypeAdapter[UUID] = TypeAdapter(UUID)
Reader = Annotated[Principal, require(Scope.READ)]
Ref = Annotated[WalletRef, Path(description="`@handle`, `ext:<external_ref>` or the wallet id")]


class FreezeBody(Contract):
    """Debits stop at once on every account of the wallet; credits continue if ``allow_credits``."""

    allow_credits: bool = True
    reason: Text | None = None


class MetadataBody(Contract):
    """Keys to set; a key set to ``null`` is removed."""

    metadata: Annotated[dict[MetadataKey, MetadataValue | None], Field(min_length=1, max_length=32)]


class AccountBody(Contract):
    """An account in one currency; ``account_id`` is derived from the Idempotency-Key if absent."""

    account_id: UUID | None = None
    currency: Currency
    min_balance: SignedAmountIn = 0


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


@command_route(router, "wallet.create", created=True)
async def create_wallet(body: CreateWallet, w: WriterDep, principal: Authenticated) -> JSONResponse:
    """Create a wallet (``@handle``, ``external_ref``, an account per listed currency): ``wallet.create``."""
    return await w.send("wallet.create", body, principal, created=True)


@router.get("/wallets", response_model=docs.WalletPage, description="Find wallets." + pages.METADATA_HELP)
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


@router.get("/wallets/{wallet}", response_model=docs.Wallet)
async def get_wallet(wallet: Ref, pool: PoolDep, currencies: CurrenciesDep, principal: Reader) -> docs.Wallet:
    """A wallet with its accounts and their posted, held and available balances."""
    return await wallet_view(pool, currencies, await resolve(pool, principal, wallet))


@router.get("/wallets/{wallet}/balance", response_model=docs.WalletBalances)
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


@command_route(router, "wallet.freeze")
async def freeze_wallet(
    wallet: Ref, w: WriterDep, principal: Authenticated, body: FreezeBody | None = None
) -> JSONResponse:
    """Freeze: no debits; credits only if ``allow_credits`` (default true): ``wallet.freeze``."""
    body = body or FreezeBody()
    payload = contract(FreezeWallet, wallet=wallet, allow_credits=body.allow_credits, reason=body.reason)
    return await w.send("wallet.freeze", payload, principal)


@command_route(router, "wallet.unfreeze")
async def unfreeze_wallet(wallet: Ref, w: WriterDep, principal: Authenticated) -> JSONResponse:
    """Return a frozen wallet to active: ``wallet.unfreeze``."""
    return await w.send("wallet.unfreeze", contract(UnfreezeWallet, wallet=wallet), principal)


@command_route(router, "wallet.close")
async def close_wallet(wallet: Ref, w: WriterDep, principal: Authenticated) -> JSONResponse:
    """Close for good; refused (``wallet_not_empty``) unless every account is at zero: ``wallet.close``."""
    return await w.send("wallet.close", contract(CloseWallet, wallet=wallet), principal)


@command_route(router, "wallet.set_metadata")
async def set_wallet_metadata(wallet: Ref, body: MetadataBody, w: WriterDep, principal: Authenticated) -> JSONResponse:
    """Merge keys into the wallet's metadata (``null`` removes one): ``wallet.set_metadata``."""
    payload = contract(SetWalletMetadata, wallet=wallet, metadata=body.metadata)
    return await w.send("wallet.set_metadata", payload, principal)


@command_route(router, "account.open", path="/wallets/{wallet}/accounts", created=True)
async def open_wallet_account(wallet: Ref, body: AccountBody, w: WriterDep, principal: Authenticated) -> JSONResponse:
    """Open an account in another currency in this wallet: ``account.open``."""
    minimum = await w.currencies.minor(w.pool, body.currency, body.min_balance, field="min_balance", positive=False)
    payload = contract(
        OpenAccount, account_id=body.account_id, currency=body.currency, wallet=wallet, min_balance=minimum
    )
    return await w.send("account.open", payload, principal, created=True)
