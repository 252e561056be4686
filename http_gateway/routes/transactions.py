"""Transactions: one with its postings and links, or a search by metadata, type and time."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Query
from pydantic import AfterValidator, WithJsonSchema

from contracts import http as docs
from contracts.commands import COMMAND_TYPES
from contracts.keys import Scope
from http_gateway import pages, views
from http_gateway.amounts import Currencies
from http_gateway.auth import Principal, authorize_any, require
from http_gateway.deps import CurrenciesDep, PoolDep
from http_gateway.problems import Problem

router = APIRouter(tags=["transactions"])
Reader = Annotated[Principal, require(Scope.READ)]


def _known(value: str) -> str:
    if value not in COMMAND_TYPES:
        raise ValueError(f"not a command type: {', '.join(COMMAND_TYPES)}")
    return value


#: A command type (``deposit``, ``transfer``, ``hold.capture``, ...) as a query filter.
CommandType = Annotated[str, AfterValidator(_known), WithJsonSchema({"type": "string", "enum": list(COMMAND_TYPES)})]
Types = Annotated[list[CommandType] | None, Query(alias="type", description="Command types (repeatable)")]

_SELECT = (
    "SELECT t.id, t.command_id, t.kind AS type, t.principal, t.currency, t.amount, t.description, t.metadata,"
    " t.created_at, t.reverses_id, (SELECT r.id FROM transactions r WHERE r.reverses_id = t.id) AS reversed_by_id,"
    " t.hold_id, t.intent_id FROM transactions t"
)


async def with_postings(
    pool: asyncpg.Pool, currencies: Currencies, rows: list[asyncpg.Record], viewer: Principal
) -> list[docs.Transaction]:
    """The transactions of ``rows`` with their postings (one query for all of them), as ``viewer`` may see
    them: a wallet-bound key gets other wallets' postings without their balances, and no other principal."""
    postings = await pool.fetch(
        "SELECT p.id AS posting_id, p.transaction_id, p.account_id, a.wallet_id, p.currency, p.amount,"
        " p.balance_after FROM postings p JOIN accounts a ON a.id = p.account_id"
        " WHERE p.transaction_id = ANY($1::uuid[]) ORDER BY p.id",
        [r["id"] for r in rows],
    )
    legs_of: dict[UUID, list[asyncpg.Record]] = {}
    for p in postings:
        legs_of.setdefault(p["transaction_id"], []).append(p)
    out = []
    for row in rows:
        mine = legs_of.get(row["id"], [])
        currency = row["currency"] or (mine[0]["currency"] if mine else None)
        exponent = await currencies.exponent(pool, currency) if currency else 0
        # Each leg in its own currency's exponent: a multi-currency transaction's legs differ.
        legs = [
            views.with_decimals(docs.Posting, _seen(p, viewer), await currencies.exponent(pool, p["currency"]))
            for p in mine
        ]
        shown = dict(row)
        if viewer.wallet_id is not None and shown["principal"] != viewer.name:
            shown["principal"] = None
        out.append(views.with_decimals(docs.Transaction, {**shown, "postings": legs}, exponent))
    return out


def _seen(posting: asyncpg.Record, viewer: Principal) -> dict[str, object]:
    row = dict(posting)
    if viewer.wallet_id is not None and row["wallet_id"] != viewer.wallet_id:
        row["balance_after"] = None
    return row


@router.get("/transactions/{transaction_id}", operation_id="transactions.get", response_model=docs.Transaction)
async def get_transaction(
    transaction_id: UUID, pool: PoolDep, currencies: CurrenciesDep, principal: Reader
) -> docs.Transaction:
    """A transaction with its postings, metadata and links (reverses / reversed by, hold, intent)."""
    row = await pool.fetchrow(f"{_SELECT} WHERE t.id = $1", transaction_id)
    found = await with_postings(pool, currencies, [row] if row else [], principal)
    if principal.wallet_id is not None:  # a bound key reads transactions that touched its wallet
        authorize_any(principal, [p.wallet_id for t in found for p in t.postings])
    if not found:
        raise Problem(404, "transaction_not_found", f"transaction {transaction_id} does not exist")
    return found[0]


@router.get(
    "/transactions",
    operation_id="transactions.list",
    response_model=docs.TransactionPage,
    description="Find transactions, newest first (a wallet-bound key finds those that touched its wallet)."
    + pages.METADATA_HELP,
)
async def search_transactions(
    metadata: pages.MetadataFilter,
    pool: PoolDep,
    currencies: CurrenciesDep,
    principal: Reader,
    types: Types = None,
    since: pages.From = None,
    until: pages.To = None,
    cursor: pages.Cursor = None,
    limit: pages.Limit = 50,
) -> docs.TransactionPage:
    """Find transactions by metadata, command type and time."""
    where = pages.Where()
    if metadata:
        where.add("t.metadata @> {}::jsonb", metadata)
    if types:
        where.add("t.kind = ANY({}::text[])", types)
    if since is not None:
        where.add("t.created_at >= {}", since)
    if until is not None:
        where.add("t.created_at < {}", until)
    if principal.wallet_id is not None:
        where.add(
            "EXISTS (SELECT 1 FROM postings p JOIN accounts a ON a.id = p.account_id"
            " WHERE p.transaction_id = t.id AND a.wallet_id = {})",
            principal.wallet_id,
        )
    if cursor:
        where.add("(t.created_at, t.id) < ({}, {})", *pages.decode(cursor, "t", pages.KEYSET))
    sql = f"{_SELECT} WHERE {where.sql} ORDER BY t.created_at DESC, t.id DESC LIMIT {where.arg(limit + 1)}"
    rows = await pool.fetch(sql, *where.args)
    last = rows[limit - 1] if len(rows) > limit else None
    return docs.TransactionPage(
        transactions=await with_postings(pool, currencies, rows[:limit], principal),
        next_cursor=pages.encode("t", last["created_at"], last["id"]) if last else None,
    )
