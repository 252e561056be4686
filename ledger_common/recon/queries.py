"""Reads of reconciliation state, shared by the gateway's routes, the CLI and the console: runs, breaks
(with both sides and their age), matches (both sides). Rows are shaped as ``contracts.recon_views``."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import (
    Any,
    TypeAlias,
)
from uuid import UUID

import asyncpg

Db: TypeAlias = asyncpg.Pool | asyncpg.Connection

_LINE = (
    "json_build_object('line_id', l.id, 'file_id', l.file_id, 'line_no', l.line_no, 'value_date', l.value_date,"
    " 'amount', l.amount, 'currency', l.currency, 'reference', l.reference, 'description', l.description,"
    " 'match_id', l.match_id)"
)
_POSTING = (
    "json_build_object('posting_id', p.id, 'transaction_id', p.transaction_id, 'amount', p.amount, 'currency',"
    " p.currency, 'posted_at', p.created_at, 'description', t.description, 'metadata', t.metadata)"
)
_SIDES = (
    f"CASE WHEN l.id IS NULL THEN NULL ELSE {_LINE} END AS line, CASE WHEN p.id IS NULL THEN NULL ELSE {_POSTING} END"
)
_BREAKS = (
    "SELECT b.id AS break_id, s.name AS source, b.reason, b.state,"  # noqa: S608 - constant fragments only
    " b.opened_at, b.closed_at, b.amount, b.expected, b.detail, b.explanation, b.resolution,"
    " b.resolving_transaction_id, b.closed_by,"
    " extract(epoch FROM coalesce(b.closed_at, now()) - b.opened_at)::bigint AS age_seconds, "
    + _SIDES
    + " AS posting FROM recon_breaks b JOIN recon_sources s ON s.id = b.source_id"
    " LEFT JOIN recon_lines l ON l.id = b.line_id"
    " LEFT JOIN postings p ON p.id = b.posting_id LEFT JOIN transactions t ON t.id = p.transaction_id"
)


def _plain(row: asyncpg.Record) -> dict[str, Any]:
    out = dict(row)
    for side in ("line", "posting"):
        if isinstance(out.get(side), str):  # json (not jsonb) arrives as text
            out[side] = json.loads(out[side])
    return out


async def breaks(
    db: Db,
    *,
    source: str | None = None,
    state: str | None = None,
    reason: str | None = None,
    older_than: int | None = None,
    break_id: UUID | None = None,
    after: tuple[datetime, UUID] | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Breaks, oldest first, filtered; each with its line and posting."""
    where: list[str] = []
    args: list[Any] = []
    for fragment, value in (
        ("s.name = ${}", source),
        ("b.state = ${}", state),
        ("b.reason = ${}", reason),
        ("b.id = ${}", break_id),
        ("b.opened_at <= now() - make_interval(secs => ${})", older_than),
    ):
        if value is not None:
            args.append(value)
            where.append(fragment.format(len(args)))
    if after is not None:
        args += list(after)
        where.append(f"(b.opened_at, b.id) > (${len(args) - 1}, ${len(args)})")
    args.append(limit)
    sql = f"{_BREAKS} WHERE {' AND '.join(where) or 'TRUE'} ORDER BY b.opened_at, b.id LIMIT ${len(args)}"
    return [_plain(r) for r in await db.fetch(sql, *args)]


async def runs(db: Db, source: str | None, limit: int) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT r.id AS run_id, s.name AS source, r.command_id, r.principal, r.finished_at, r.summary"
        " FROM recon_runs r JOIN recon_sources s ON s.id = r.source_id WHERE ($1::text IS NULL OR s.name = $1)"
        " ORDER BY r.finished_at DESC, r.id LIMIT $2",
        source,
        limit,
    )
    return [dict(r) for r in rows]


async def match(db: Db, match_id: UUID) -> dict[str, Any] | None:
    """A match with its statement lines and ledger postings."""
    row = await db.fetchrow(
        "SELECT m.id AS match_id, s.name AS source, m.kind, m.difference, m.created_at FROM recon_matches m"
        " JOIN recon_sources s ON s.id = m.source_id WHERE m.id = $1",
        match_id,
    )
    if row is None:
        return None
    lines = await db.fetch(
        f"SELECT {_LINE} AS side FROM recon_lines l WHERE l.match_id = $1 ORDER BY l.id",  # noqa: S608
        match_id,
    )
    postings = await db.fetch(
        f"SELECT {_POSTING} AS side FROM recon_matched_postings m JOIN postings p ON p.id = m.posting_id"  # noqa: S608
        " JOIN transactions t ON t.id = p.transaction_id WHERE m.match_id = $1 ORDER BY p.id",
        match_id,
    )
    return {
        **dict(row),
        "lines": [json.loads(r["side"]) for r in lines],
        "postings": [json.loads(r["side"]) for r in postings],
    }


async def open_by_age(db: Db) -> list[tuple[str, str, str, int]]:
    """Open breaks counted by source, reason and age bucket (the metrics gauge, the console)."""
    rows = await db.fetch(
        "SELECT s.name, b.reason, CASE WHEN now() - b.opened_at < interval '1 day' THEN 'lt_1d'"
        " WHEN now() - b.opened_at < interval '7 days' THEN '1d_7d' ELSE 'gt_7d' END AS age, count(*) AS n"
        " FROM recon_breaks b JOIN recon_sources s ON s.id = b.source_id WHERE b.state = 'open'"
        " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


async def balances(db: Db, source: str, since: date | None = None, until: date | None = None) -> dict[str, Any] | None:
    """Per day with a closing balance on the statement: that balance, the ledger account's at the end of the
    day (UTC, in the statement's sign) and the drift between them."""
    found = await db.fetchrow("SELECT id, account_id, currency, config FROM recon_sources WHERE name = $1", source)
    if found is None:
        return None
    sign = int(found["config"]["rules"]["sign"])
    rows = await db.fetch(
        "SELECT d.day, d.closing_balance, coalesce(b.balance_after, 0) AS ledger FROM"
        " (SELECT DISTINCT ON (value_date) value_date AS day, closing_balance FROM recon_lines"
        "  WHERE source_id = $1 AND closing_balance IS NOT NULL"
        "  AND ($3::date IS NULL OR value_date >= $3) AND ($4::date IS NULL OR value_date <= $4)"
        "  ORDER BY value_date, id DESC) AS d"
        " LEFT JOIN LATERAL (SELECT p.balance_after FROM postings p WHERE p.account_id = $2"
        "  AND p.created_at < (d.day + 1)::timestamp AT TIME ZONE 'UTC' ORDER BY p.id DESC LIMIT 1) AS b ON TRUE"
        " ORDER BY d.day",
        found["id"],
        found["account_id"],
        since,
        until,
    )
    days = [
        {
            "day": r["day"],
            "statement_balance": r["closing_balance"],
            "ledger_balance": r["ledger"] * sign,
            "drift": r["closing_balance"] - r["ledger"] * sign,
        }
        for r in rows
    ]
    return {"source": source, "currency": found["currency"], "days": days}
