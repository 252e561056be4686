"""Reconciliation reads and configuration: sources, statement imports, runs, breaks and matches.

Runs, explanations and resolutions are commands (``contracts.recon``, routes made from the catalogue).
Declaring a source and importing a statement are not: they record what the outside says, move no money
and are idempotent by themselves (a source by its name, a file by its SHA-256), so they are written here
under the ``reconcile`` scope, for keys bound to no wallet. An upload has a bound of its own
(``MAX_STATEMENT_BYTES``, http_gateway/streamed.py): nothing reads it before its key and scope are checked,
and it is streamed to a temporary file as it arrives (never held), hashed on the way, then imported from
there as ``ledger recon import`` does.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from starlette.requests import ClientDisconnect

from contracts.bounds import MAX_STATEMENT_BYTES
from contracts.keys import Scope
from contracts.recon import BreakReason, BreakState, SourceConfig, SourceName
from contracts.recon_views import (
    BalanceCheck,
    BreakPage,
    BreakView,
    Imported,
    MatchView,
    OpenBreakCount,
    OpenBreaks,
    RunPage,
    RunView,
    SourceView,
)
from http_gateway import pages
from http_gateway.auth import UNBOUND, Principal, require
from http_gateway.deps import PoolDep
from http_gateway.problems import Problem
from http_gateway.streamed import streamed_body
from ledger_common.recon import queries
from ledger_common.recon.importer import SourceNotFound, StatementError, define_source, import_statement

#: The oldest age a break filter may ask for: 100 years (``now() - age`` must stay a timestamp PostgreSQL holds;
#: 999999999999 seconds was a 500).
MAX_AGE_SECONDS = 100 * 365 * 86400

router = APIRouter(prefix="/recon", tags=["reconciliation"], dependencies=[UNBOUND])
Reconciler = Annotated[Principal, require(Scope.RECONCILE)]
Name = Annotated[SourceName, PathParam(description="The statement source's name")]


@router.put("/sources/{source}", operation_id="recon.define_source", response_model=SourceView)
async def put_source(source: Name, config: SourceConfig, pool: PoolDep, principal: Reconciler) -> SourceView:
    """Declare a statement source (or replace its mapping and rules): the ledger account it mirrors."""
    async with pool.acquire() as conn:
        if await conn.fetchval("SELECT currency FROM accounts WHERE id = $1", config.account_id) != config.currency:
            raise Problem(422, "account_not_found", f"no {config.currency} account {config.account_id}")
        await define_source(conn, source, config)
        return await _source(conn, source)


@router.get("/sources/{source}", operation_id="recon.get_source", response_model=SourceView)
async def get_source(source: Name, pool: PoolDep, principal: Reconciler) -> SourceView:
    """A statement source's declaration."""
    async with pool.acquire() as conn:
        return await _source(conn, source)


@router.post(
    "/sources/{source}/files",
    operation_id="recon.import_file",
    response_model=Imported,
    openapi_extra=streamed_body(
        MAX_STATEMENT_BYTES, "The file's bytes, whatever its type (CSV or JSON lines, as the source declares)"
    ),
)
async def import_file(
    source: Name,
    request: Request,
    pool: PoolDep,
    principal: Reconciler,
    name: Annotated[str, Query(max_length=200, description="The file's name, for people")] = "upload",
) -> Imported:
    """Import a statement file (CSV or JSON lines, as the source declares, up to 512 MiB): once per
    distinct content."""
    # Known before a byte is read, and no database connection held while a slow client sends.
    if await pool.fetchval("SELECT id FROM recon_sources WHERE name = $1", source) is None:
        raise Problem(404, "source_not_found", f"no statement source {source!r}")
    with _upload_slot(request), tempfile.TemporaryDirectory() as tmp:  # the importer streams from disk
        path = Path(tmp) / "statement"
        digest = await _save(request, path)
        async with pool.acquire() as conn:
            try:
                done = await import_statement(conn, source, path, name, sha256=digest)
            except SourceNotFound as exc:
                raise Problem(404, "source_not_found", str(exc)) from None
            except StatementError as exc:
                raise Problem(422, "invalid_statement", str(exc)) from None
    return Imported(file_id=done.file_id, lines=done.lines, created=done.created)


@contextmanager
def _upload_slot(request: Request) -> Iterator[None]:
    """One of the gateway's ``GATEWAY_MAX_UPLOADS`` upload slots for the time of one upload, or a 429 before
    a byte of its body is read: each upload may spool up to 512 MiB to disk."""
    state = request.app.state
    if state.uploads >= state.settings.gateway_max_uploads:
        raise Problem(
            429,
            "too_many_uploads",
            f"this gateway is receiving {state.settings.gateway_max_uploads} statements already; retry later",
            headers={"Retry-After": "5"},
        )
    state.uploads += 1
    try:
        yield
    finally:
        state.uploads -= 1


async def _save(request: Request, path: Path) -> bytes:
    """The body written to ``path`` as it arrives (a chunk at a time: uvicorn holds at most 64 KiB of it
    before it stops reading the socket), and its SHA-256, so the importer need not read the file for it."""
    digest = hashlib.sha256()
    with path.open("wb") as f:
        try:
            async for chunk in request.stream():
                f.write(chunk)
                digest.update(chunk)
        except ClientDisconnect:  # an upload given up: nothing to import, and no error of the gateway's
            raise Problem(400, "upload_incomplete", "the connection closed before the file was all sent") from None
    return digest.digest()


@router.get("/sources/{source}/balances", operation_id="recon.balances", response_model=BalanceCheck)
async def check_balances(
    source: Name,
    pool: PoolDep,
    principal: Reconciler,
    since: Annotated[date | None, Query(alias="from", description="First value date")] = None,
    until: Annotated[date | None, Query(alias="to", description="Last value date")] = None,
) -> BalanceCheck:
    """Per statement day: the statement's closing balance against the ledger account's then, and the drift."""
    found = await queries.balances(pool, source, since, until)
    if found is None:
        raise Problem(404, "source_not_found", f"no statement source {source!r}")
    return BalanceCheck.model_validate(found)


@router.get("/runs", operation_id="recon.runs", response_model=RunPage)
async def list_runs(
    pool: PoolDep,
    principal: Reconciler,
    source: Annotated[SourceName | None, Query()] = None,
    limit: pages.Limit = 50,
) -> RunPage:
    """Reconciliation runs, newest first."""
    return RunPage(runs=[RunView.model_validate(r) for r in await queries.runs(pool, source, limit)])


@router.get("/breaks", operation_id="recon.breaks", response_model=BreakPage)
async def list_breaks(
    pool: PoolDep,
    principal: Reconciler,
    source: Annotated[SourceName | None, Query()] = None,
    state: Annotated[BreakState | None, Query()] = None,
    reason: Annotated[BreakReason | None, Query()] = None,
    older_than: Annotated[
        int | None, Query(ge=0, le=MAX_AGE_SECONDS, description="Only breaks open longer than this (seconds)")
    ] = None,
    cursor: pages.Cursor = None,
    limit: pages.Limit = 50,
) -> BreakPage:
    """Breaks, oldest first: each with its statement line and ledger posting, its age and state."""
    after = pages.decode(cursor, "b", pages.KEYSET) if cursor else None
    rows = await queries.breaks(
        pool, source=source, state=state, reason=reason, older_than=older_than, after=after, limit=limit + 1
    )
    last = rows[limit - 1] if len(rows) > limit else None
    return BreakPage(
        breaks=[BreakView.model_validate(r) for r in rows[:limit]],
        next_cursor=pages.encode("b", last["opened_at"], last["break_id"]) if last else None,
    )


@router.get("/open_breaks", operation_id="recon.open_breaks", response_model=OpenBreaks)
async def open_breaks(pool: PoolDep, principal: Reconciler) -> OpenBreaks:
    """Open breaks counted by source, reason and age (under a day, a day to a week, over a week)."""
    counts = await queries.open_by_age(pool)
    return OpenBreaks(counts=[OpenBreakCount(source=s, reason=r, age=a, count=n) for s, r, a, n in counts])


@router.get("/breaks/{break_id}", operation_id="recon.get_break", response_model=BreakView)
async def get_break(break_id: UUID, pool: PoolDep, principal: Reconciler) -> BreakView:
    """A break with its statement line and ledger posting side by side."""
    rows = await queries.breaks(pool, break_id=break_id, limit=1)
    if not rows:
        raise Problem(404, "break_not_found", f"break {break_id} does not exist")
    return BreakView.model_validate(rows[0])


@router.get("/matches/{match_id}", operation_id="recon.get_match", response_model=MatchView)
async def get_match(match_id: UUID, pool: PoolDep, principal: Reconciler) -> MatchView:
    """A match: its statement lines and its ledger postings side by side."""
    found = await queries.match(pool, match_id)
    if found is None:
        raise Problem(404, "match_not_found", f"match {match_id} does not exist")
    return MatchView.model_validate(found)


async def _source(conn: asyncpg.Connection, name: str) -> SourceView:
    row = await conn.fetchrow("SELECT name, config, created_at, updated_at FROM recon_sources WHERE name = $1", name)
    if row is None:
        raise Problem(404, "source_not_found", f"no statement source {name!r}")
    return SourceView.model_validate(dict(row))
