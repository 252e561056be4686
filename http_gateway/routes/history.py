"""History: postings newest first with the running balance, and a wallet's event stream.

Postings page by a keyset on the posting id (``id < cursor``): ids never change and every new
posting gets a higher one, so a client paging back through history while postings arrive sees
each older posting exactly once. Within one account, ids also follow commit order: a posting is
inserted while its transaction holds the account's row lock, so the next posting of that account
is inserted (and numbered) only after the previous one committed. That is why each posting's
``balance_after`` continues the one before it in id order.

Events page forward per stream (see :func:`event_page`), so a slow transaction can never be skipped.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field, TypeAdapter

from contracts import http as docs
from contracts.base import WalletRef
from contracts.events import parse_event
from contracts.keys import Scope
from http_gateway import lookup, pages, views
from http_gateway.amounts import Currencies
from http_gateway.auth import Principal, authorize_accounts, require
from http_gateway.deps import CurrenciesDep, PoolDep
from http_gateway.problems import Problem
from http_gateway.routes.transactions import Types
from http_gateway.routes.wallets import Ref, resolve

router = APIRouter(tags=["history"])
Reader = Annotated[Principal, require(Scope.READ)]
Counterparty = Annotated[
    WalletRef | None,
    Query(
        description="Only transactions with this account id or wallet (`@handle`, `ext:<ref>`, id) on the other side"
    ),
]
_POSTING: TypeAdapter[int] = TypeAdapter(pages.Position)


class Filters(BaseModel):
    """What a history page is narrowed to; each is optional."""

    types: list[str] | None = None
    since: datetime | None = None
    until: datetime | None = None
    counterparty: str | None = None


async def history_filters(
    types: Types = None, since: pages.From = None, until: pages.To = None, counterparty: Counterparty = None
) -> Filters:
    """The filters every history route takes, as one dependency."""
    return Filters(types=types, since=since, until=until, counterparty=counterparty)


FiltersDep = Annotated[Filters, Depends(history_filters)]


async def entry_page(
    pool: asyncpg.Pool,
    currencies: Currencies,
    accounts: list[UUID],
    filters: Filters,
    before: int | None,
    limit: int,
) -> docs.EntryPage:
    """The postings of ``accounts`` below posting id ``before``, newest first: one index scan per
    account, merged."""
    where = pages.Where()
    where.add("p.account_id = a.id")
    if before is not None:
        where.add("p.id < {}", before)
    if filters.types:
        where.add("t.kind = ANY({}::text[])", filters.types)
    if filters.since is not None:
        where.add("p.created_at >= {}", filters.since)
    if filters.until is not None:
        where.add("p.created_at < {}", filters.until)
    if filters.counterparty is not None:
        where.add(
            "EXISTS (SELECT 1 FROM postings o WHERE o.transaction_id = p.transaction_id"
            " AND o.account_id <> p.account_id AND o.account_id = ANY({}::uuid[]))",
            await lookup.accounts_of(pool, filters.counterparty),
        )
    n, accounts_arg = where.arg(limit + 1), where.arg(accounts)
    # Constant fragments only; every value is a bind parameter.
    sql = (
        f"SELECT x.* FROM unnest({accounts_arg}::uuid[]) AS a(id) CROSS JOIN LATERAL ("  # noqa: S608
        " SELECT p.id AS posting_id, p.transaction_id, p.account_id, t.kind AS type, p.currency, p.amount,"
        " p.balance_after, t.description, p.created_at, ARRAY(SELECT o.account_id FROM postings o"
        " WHERE o.transaction_id = p.transaction_id AND o.account_id <> p.account_id ORDER BY o.id)"
        " AS counterparty_account_ids FROM postings p JOIN transactions t ON t.id = p.transaction_id"
        f" WHERE {where.sql} ORDER BY p.id DESC LIMIT {n}) x ORDER BY x.posting_id DESC LIMIT {n}"
    )
    rows = await pool.fetch(sql, *where.args)
    entries = [views.with_decimals(docs.Entry, r, await currencies.exponent(pool, r["currency"])) for r in rows[:limit]]
    more = len(rows) > limit
    return docs.EntryPage(entries=entries, next_cursor=pages.encode("p", entries[-1].posting_id) if more else None)


def posting_cursor(cursor: str | None) -> int | None:
    """The posting id a history cursor continues below; 400 ``invalid_cursor`` for a forged one."""
    return pages.decode(cursor, "p", _POSTING) if cursor else None


class _Streams(BaseModel):
    """Where a reader is in each stream: the wallet's (sequence, event id) and each account's sequence."""

    w: tuple[pages.Position, pages.Position] = (0, 0)
    a: Annotated[dict[UUID, pages.Position], Field(max_length=1000)] = {}


_STREAMS = TypeAdapter(_Streams)


async def event_page(pool: asyncpg.Pool, wallet: asyncpg.Record, cursor: str | None, limit: int) -> docs.EventPage:
    """The wallet's events (its own and its accounts') after ``cursor``, ordered by event id.

    Event ids are assigned when a batch inserts them, not when it commits, so across streams a lower
    id can become visible after a higher one. The cursor therefore keeps a position per stream (each
    stream's ``sequence`` follows commit order, under the stream's row lock) and a late event is
    delivered on the next page instead of being skipped. ``last_sequence`` on the wallet and account
    rows says which streams have anything new, so idle streams cost nothing.
    """
    seen = pages.decode(cursor, "e", _STREAMS) if cursor else _Streams()
    accounts = await pool.fetch("SELECT id, last_sequence FROM accounts WHERE wallet_id = $1", wallet["id"])
    busy = [(r["id"], seen.a.get(r["id"], 0)) for r in accounts if r["last_sequence"] > seen.a.get(r["id"], 0)]
    rows: list[asyncpg.Record] = []
    if busy:
        rows += await pool.fetch(
            "SELECT e.id, e.account_id, e.sequence, e.body FROM unnest($1::uuid[], $2::bigint[]) AS s(account, after)"
            " CROSS JOIN LATERAL (SELECT id, account_id, sequence, body FROM events WHERE account_id = s.account"
            " AND sequence > s.after ORDER BY sequence LIMIT $3) e",
            [a for a, _ in busy],
            [after for _, after in busy],
            limit + 1,
        )
    if wallet["last_sequence"] > seen.w[0]:
        rows += await pool.fetch(
            "SELECT id, account_id, sequence, body FROM events WHERE wallet_id = $1 AND account_id IS NULL"
            " AND id > $2 AND sequence > $3 ORDER BY id LIMIT $4",
            wallet["id"],
            seen.w[1],
            seen.w[0],
            limit + 1,
        )
    rows.sort(key=lambda r: r["id"])
    page, positions, wallet_at = rows[:limit], dict(seen.a), seen.w
    for r in page:
        if r["account_id"] is None:
            wallet_at = (r["sequence"], r["id"])
        else:
            positions[r["account_id"]] = r["sequence"]
    streams = {"w": list(wallet_at), "a": {str(k): v for k, v in positions.items()}}
    return docs.EventPage(
        events=[parse_event(r["body"]) for r in page],
        next_cursor=pages.encode("e", streams),
        has_more=len(rows) > limit,
    )


@router.get("/accounts/{account_id}/entries", operation_id="accounts.entries", response_model=docs.EntryPage)
async def account_entries(
    account_id: UUID,
    pool: PoolDep,
    currencies: CurrenciesDep,
    principal: Reader,
    filters: FiltersDep,
    cursor: pages.Cursor = None,
    limit: pages.Limit = 50,
) -> docs.EntryPage:
    """The account's postings, newest first, each with the balance after it; filters combine."""
    await authorize_accounts(pool, principal, [account_id])
    before = posting_cursor(cursor)
    if await pool.fetchval("SELECT 1 FROM accounts WHERE id = $1", account_id) is None:
        raise Problem(404, "account_not_found", f"account {account_id} does not exist")
    return await entry_page(pool, currencies, [account_id], filters, before, limit)


async def wallet_entries(
    pool: asyncpg.Pool, currencies: Currencies, wallet_id: UUID, filters: Filters, cursor: str | None, limit: int
) -> docs.EntryPage:
    before = posting_cursor(cursor)
    accounts = [r["id"] for r in await pool.fetch("SELECT id FROM accounts WHERE wallet_id = $1", wallet_id)]
    return await entry_page(pool, currencies, accounts, filters, before, limit)


@router.get("/wallets/{wallet}/transactions", operation_id="wallets.transactions", response_model=docs.EntryPage)
async def wallet_transactions(
    wallet: Ref,
    pool: PoolDep,
    currencies: CurrenciesDep,
    principal: Reader,
    filters: FiltersDep,
    cursor: pages.Cursor = None,
    limit: pages.Limit = 50,
) -> docs.EntryPage:
    """The postings of every account of the wallet, newest first, each with its account's balance after it."""
    row = await resolve(pool, principal, wallet)
    return await wallet_entries(pool, currencies, row["id"], filters, cursor, limit)


@router.get("/wallets/{wallet}/events", operation_id="wallets.events", response_model=docs.EventPage)
async def wallet_events(
    wallet: Ref,
    pool: PoolDep,
    principal: Reader,
    after: pages.Cursor = None,
    limit: pages.Limit = 100,
) -> docs.EventPage:
    """The wallet's event stream (its own events and its accounts'), oldest first, from ``after``."""
    return await event_page(pool, await resolve(pool, principal, wallet), after, limit)
