"""Load what reconciliation commands touch: before the batch's accounts (the accounts a resolution posts
to), and after them (sources and breaks, locked in that order, then each run's lines and postings).

Lock order, after the ledger's own (``ledger_worker.load``): statement sources, then breaks, each by id.
A run locks its source, so two runs of one source never interleave; lines and postings are read without
locks (lines only gain a match under the source's lock; postings never change).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import asyncpg

from contracts.commands import Command
from contracts.recon import RunReconciliation
from ledger_common.recon.engine import Item, Line
from ledger_common.recon.sources import SourceConfig
from ledger_worker.book import Book
from ledger_worker.load import Needs
from ledger_worker.recon.data import ReconBreak, RunInput

#: Rows fetched per round trip while a run's lines and postings stream in.
CHUNK = 50_000
_BREAK = (
    "SELECT b.id, b.source_id, s.name AS source, s.account_id, (s.config->'rules'->>'sign')::int AS sign, b.reason,"
    " b.line_id, b.posting_id, b.transaction_id, b.amount, b.expected, b.detail, b.opened_at, b.state, b.run_id,"
    " b.closed_at, b.explanation, b.resolution, b.resolving_transaction_id, b.closed_by"
    " FROM recon_breaks b JOIN recon_sources s ON s.id = b.source_id"
)


async def add_needs(conn: asyncpg.Connection, needs: Needs) -> None:
    """The source accounts (and currencies) the batch's resolutions may post to, so the ledger's loader
    locks them in its own order."""
    ids = needs.recon_breaks
    if not ids or "break.resolve" not in needs.types:
        return
    for row in await conn.fetch(
        "SELECT s.account_id, s.currency FROM recon_breaks b JOIN recon_sources s ON s.id = b.source_id"
        " WHERE b.id = ANY($1::uuid[])",
        list(ids),
    ):
        needs.account_ids.add(row["account_id"])
        needs.currencies.add(row["currency"])


async def load(conn: asyncpg.Connection, book: Book, needs: Needs, until: dict[str, date]) -> None:
    """Lock the batch's sources and breaks into ``book.recon``; read each run's inputs."""
    names, break_ids = sorted(needs.recon_sources), needs.recon_breaks
    if not names and not break_ids:
        return
    sources = await conn.fetch(
        "SELECT id, name, config FROM recon_sources WHERE name = ANY($1::text[]) ORDER BY id FOR UPDATE", names
    )
    rows = await conn.fetch(
        f"{_BREAK} WHERE (b.id = ANY($1::uuid[]) OR (b.source_id = ANY($2::uuid[]) AND b.state = 'open'))"
        " ORDER BY b.id FOR UPDATE OF b",
        list(break_ids),
        [s["id"] for s in sources],
    )
    breaks = {r["id"]: ReconBreak(**dict(r)) for r in rows}
    book.recon.breaks.update(breaks)
    for s in sources:
        config = SourceConfig.model_validate(s["config"])
        run = RunInput(s["id"], s["name"], config, [], [], {}, [b for b in breaks.values() if b.source_id == s["id"]])
        run.until = until.get(s["name"])
        await _read_lines(conn, run)
        await _read_settled(conn, run)
        await _read_items(conn, run)
        book.recon.runs[s["name"]] = run


_LINES = (
    "SELECT l.id, l.amount, l.value_date, l.currency, l.reference, l.description FROM recon_lines l"
    " WHERE l.source_id = $1 AND l.match_id IS NULL AND ($2::date IS NULL OR l.value_date <= $2)"
    " AND NOT EXISTS (SELECT 1 FROM recon_breaks b"
    " WHERE b.line_id = l.id AND b.state <> 'open' AND b.resolution IS DISTINCT FROM 'superseded')"
)
_REFERENCES = {"description": "t.description", "command_id": "t.command_id", "id": "t.id::text"}


async def _read_lines(conn: asyncpg.Connection, run: RunInput) -> None:
    """The source's lines no match or closed break settled."""
    async for r in _chunks(conn, _LINES, run.source_id, run.until):
        run.lines.append(Line(r[0], r[1], r[2].toordinal(), r[3], r[4], r[5]))


async def _read_settled(conn: asyncpg.Connection, run: RunInput) -> None:
    """The keys of matched lines sharing a reference with an open line: a copy of one is a duplicate."""
    refs = sorted({x.reference for x in run.lines if x.reference})
    if not refs:
        return
    rows = await conn.fetch(
        "SELECT DISTINCT currency, reference, amount, value_date FROM recon_lines WHERE source_id = $1"
        " AND match_id IS NOT NULL AND reference = ANY($2::text[])",
        run.source_id,
        refs,
    )
    run.settled = frozenset((r[0], r[1], r[2], r[3].toordinal()) for r in rows)


async def _read_items(conn: asyncpg.Connection, run: RunInput) -> None:
    """The account's postings no match, closed break or break resolution settled, signed as the statement."""
    rules = run.config.rules
    field = rules.ledger_reference
    ref = _REFERENCES.get(field) or "t.metadata->>$4"
    sql = (
        f"SELECT p.id, p.transaction_id, p.amount, (p.created_at AT TIME ZONE 'UTC')::date, coalesce({ref}, '')"  # noqa: S608
        " FROM postings p JOIN transactions t ON t.id = p.transaction_id WHERE p.account_id = $1"
        " AND ($2::date IS NULL OR p.created_at < ($2::date + $3::int + 1)::timestamp AT TIME ZONE 'UTC')"
        " AND NOT EXISTS (SELECT 1 FROM recon_matched_postings m WHERE m.posting_id = p.id)"
        " AND NOT EXISTS (SELECT 1 FROM recon_breaks b WHERE b.posting_id = p.id AND b.state <> 'open'"
        " AND b.resolution IS DISTINCT FROM 'superseded')"
        " AND NOT EXISTS (SELECT 1 FROM recon_breaks b WHERE b.resolving_transaction_id = p.transaction_id)"
    )
    args: list[Any] = [run.config.account_id, run.until, rules.window_days]
    if ref.endswith("$4"):
        args.append(field.removeprefix("metadata:"))
    currency = run.config.currency
    async for r in _chunks(conn, sql, *args):
        run.items.append(Item(r[0], r[2] * rules.sign, r[3].toordinal(), currency, r[4]))
        run.transactions[r[0]] = r[1]


async def _chunks(conn: asyncpg.Connection, sql: str, *args: Any) -> Any:
    cursor = await conn.cursor(sql, *args)
    while rows := await cursor.fetch(CHUNK):
        for r in rows:
            yield r


def bounds(cmds: Sequence[Command]) -> dict[str, date]:
    """The ``until`` to read each source's lines to: the latest of the batch's runs of it, none if one of them
    is unbounded (each rule then keeps only the lines up to its own)."""
    out: dict[str, date] = {}
    unbounded: set[str] = set()
    for cmd in cmds:
        p = cmd.payload
        if isinstance(p, RunReconciliation):
            if p.until is None:
                unbounded.add(p.source)
            else:
                out[p.source] = max(p.until, out.get(p.source, p.until))
    return {k: v for k, v in out.items() if k not in unbounded}
