"""The event log over HTTP: ``GET /v1/events`` (from a position or a time, filtered, long-polled) and the
named readers whose lag the ledger watches.

What a key reads is what it may read elsewhere (``_visible``): a key bound to a wallet, only that wallet's
events (as ``GET /v1/wallets/{wallet}/events``); a key bound to none, every wallet's events and
``currency.registered``, its own ``command.refused`` only (``GET /v1/commands/{id}`` shows a caller only
its own outcomes), and ``key.*`` only with the ``admin`` scope (``GET /v1/admin/keys`` needs it).

A page never scans without bound: filtered by wallet it follows the ``(wallet_id, position)`` index;
otherwise it looks at most ``SCAN`` positions and says how far it looked (``next_after``), so a rare
type costs a few more requests, never a slow one.
"""

from __future__ import annotations

import time
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Body, Path, Query, Request

from contracts import log as docs
from contracts.base import WalletRef
from contracts.events import EVENT_TYPES, parse_event
from contracts.keys import KEY_EVENT_TYPES, KeyEvent, Scope
from http_gateway import pages
from http_gateway.auth import UNBOUND, Principal, require
from http_gateway.deps import PoolDep
from http_gateway.log_waiter import LogWaiter
from http_gateway.problems import Problem
from http_gateway.routes.wallets import resolve
from ledger_common import event_log

router = APIRouter(tags=["events"])
Reader = Annotated[Principal, require(Scope.READ)]
#: Positions one page looks at, at most, when no wallet narrows it.
SCAN = 10_000
_TYPES = (*EVENT_TYPES, *KEY_EVENT_TYPES)
Name = Annotated[docs.ReaderName, Path(description="The reader's name (unique across keys)")]

_COLUMNS = "l.position, l.logged_at, e.type, e.body"
_BY_WALLET = f"""
SELECT h.head, x.* FROM (SELECT head FROM event_log_state) h LEFT JOIN LATERAL (
    SELECT {_COLUMNS} FROM event_log l JOIN events e ON e.id = l.event_pk
     WHERE l.wallet_id = $1 AND l.position > $2 AND ($3::text[] IS NULL OR e.type = ANY($3))
     ORDER BY l.position LIMIT $4) x ON true
"""  # noqa: S608 - constant
_BY_WINDOW = f"""
SELECT h.head, x.* FROM (SELECT head FROM event_log_state) h LEFT JOIN LATERAL (
    SELECT {_COLUMNS} FROM event_log l JOIN events e ON e.id = l.event_pk
     WHERE l.position > $1 AND l.position <= $4 AND ($2::text[] IS NULL OR e.type = ANY($2))
       AND (e.type NOT LIKE 'key.%' OR $5) AND (e.type <> 'command.refused' OR e.principal = $6 OR $5)
     ORDER BY l.position LIMIT $3) x ON true
"""  # noqa: S608 - constant
_CLAIM = """
INSERT INTO event_readers AS r (name, principal, transport, position) VALUES ($1, $2, $3, $4)
ON CONFLICT (name) DO UPDATE SET transport = excluded.transport, position = excluded.position, updated_at = now()
 WHERE r.principal = excluded.principal
RETURNING name
"""
_MINE = "SELECT count(*) FROM event_readers WHERE principal = $1 AND name <> $2"


async def _waiter(request: Request) -> LogWaiter:
    waiter: LogWaiter = request.app.state.log_waiter
    return waiter


@router.get("/events", operation_id="events.list", response_model=docs.LogPage)
async def read_log(
    request: Request,
    pool: PoolDep,
    principal: Reader,
    after: Annotated[int | None, Query(ge=0, lt=2**63, description="The last position already read (0: all)")] = None,
    since: Annotated[pages.Moment | None, Query(description="Instead of `after`: from the first logged then")] = None,
    types: Annotated[list[str] | None, Query(alias="type", description="Event types (repeatable)")] = None,
    wallet: Annotated[WalletRef | None, Query(description="Only this wallet's events")] = None,
    wait: Annotated[int, Query(ge=0, le=30, description="Whole seconds to wait for an event when none is there")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="Events per page")] = 100,
    reader: Annotated[docs.ReaderName | None, Query(description="Record `after` as this reader's position")] = None,
) -> docs.LogPage:
    """The event log from ``after`` (or ``since``), oldest first; waits up to ``wait`` s for new events."""
    if after is not None and since is not None:
        raise Problem(422, "validation_error", "give `after` or `since`, not both")
    if types is not None and not set(types) <= set(_TYPES):
        raise Problem(422, "validation_error", f"unknown event type in {sorted(set(types) - set(_TYPES))}")
    wallet_id = principal.wallet_id if wallet is None else (await resolve(pool, principal, wallet))["id"]
    start = after if after is not None else (await event_log.position_at(pool, since) if since is not None else 0)
    if reader is not None:
        await _claim(pool, principal, reader, "http", start)
    deadline = time.monotonic() + wait
    while True:
        if wallet_id is not None:
            rows = await pool.fetch(_BY_WALLET, wallet_id, start, types, limit)
        else:
            admin = Scope.ADMIN in principal.scopes
            window = min(start + SCAN, 2**63 - 1)  # the last position this page may look at
            rows = await pool.fetch(_BY_WINDOW, start, types, limit, window, admin, principal.name)
        page = _page(rows, start, limit, bounded=wallet_id is None)
        if page.events or page.next_after > start or time.monotonic() >= deadline:
            return page
        await (await _waiter(request)).wait(deadline - time.monotonic())


def _page(rows: list[asyncpg.Record], after: int, limit: int, *, bounded: bool) -> docs.LogPage:
    head = rows[0]["head"]
    if after > head:
        raise Problem(409, "position_ahead", f"the log ends at position {head}: this position is not its", head=head)
    found = [r for r in rows if r["position"] is not None]
    entries = [
        docs.LogEntry(
            position=r["position"],
            logged_at=r["logged_at"],
            event=KeyEvent.model_validate_json(r["body"]) if r["type"].startswith("key.") else parse_event(r["body"]),
        )
        for r in found
    ]
    if len(found) == limit:
        covered = found[-1]["position"]
    else:
        covered = min(after + SCAN, head) if bounded else head
    return docs.LogPage(events=entries, next_after=covered, head=head)


async def _claim(pool: asyncpg.Pool, principal: Principal, name: str, transport: str, position: int) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(7362, hashtext($1))", principal.name)  # its count holds
        if await conn.fetchval(_MINE, principal.name, name) >= event_log.MAX_READERS_PER_PRINCIPAL:
            raise Problem(409, "too_many_readers", f"a key has at most {event_log.MAX_READERS_PER_PRINCIPAL} readers")
        if await conn.fetchval(_CLAIM, name, principal.name, transport, position) is None:
            raise Problem(409, "reader_taken", f"reader {name!r} belongs to another key")


async def _readers(pool: asyncpg.Pool, principal: str | None) -> list[docs.Reader]:
    rows = await pool.fetch(event_log.READERS)
    return [docs.Reader(**dict(r)) for r in rows if principal is None or r["principal"] == principal]


@router.put("/readers/{name}", operation_id="readers.report", response_model=docs.Reader)
async def report_reader(
    name: Name, pool: PoolDep, principal: Reader, body: Annotated[docs.ReaderPosition, Body()]
) -> docs.Reader:
    """Record the last position a named reader handled (what its lag is measured from)."""
    await _claim(pool, principal, name, body.transport, body.position)
    return next(r for r in await _readers(pool, principal.name) if r.name == name)


@router.delete("/readers/{name}", operation_id="readers.forget", response_model=docs.Reader)
async def forget_reader(name: Name, pool: PoolDep, principal: Reader) -> docs.Reader:
    """Forget one of the key's readers (its lag is no longer measured or alerted on)."""
    mine = [r for r in await _readers(pool, principal.name) if r.name == name]
    if not mine:
        raise Problem(404, "reader_not_found", f"this key has no reader {name!r}")
    await pool.execute("DELETE FROM event_readers WHERE name = $1 AND principal = $2", name, principal.name)
    return mine[0]


@router.get("/admin/readers", operation_id="readers.list", response_model=docs.ReaderList, dependencies=[UNBOUND])
async def list_readers(pool: PoolDep, principal: Annotated[Principal, require(Scope.ADMIN)]) -> docs.ReaderList:
    """Every named reader and how far behind the log's head it is."""
    return docs.ReaderList(readers=await _readers(pool, None), head=await event_log.head(pool))
