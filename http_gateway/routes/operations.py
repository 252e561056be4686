"""What an operator watches and repairs: the outbox, the dead letters of both sources, the last audit.

Scope ``admin`` and a key bound to no wallet: these show and change state across every wallet. Dead
commands are read from the broker as ``ledger dlq`` reads them (nothing consumed; docs/topology.md says
what the gateway's broker user may do there); dead events are outbox rows. Replays and purges are
recorded in ``admin_audit``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Annotated, Any, Literal

import aio_pika
import asyncpg
from fastapi import APIRouter, Path, Query

from contracts import http as docs
from contracts.keys import Scope
from http_gateway.auth import UNBOUND, Principal, require
from http_gateway.deps import BusDep, PoolDep, SettingsDep
from http_gateway.problems import RETRY_AFTER, Problem
from ledger_common import outbox as outbox_state
from ledger_common.dead_letters import commands as dead_commands
from ledger_common.dead_letters import events as dead_events
from ledger_common.dead_letters.model import DeadLetter

router = APIRouter(prefix="/admin", tags=["admin"])
Admin = Annotated[Principal, require(Scope.ADMIN)]
Source = Literal["commands", "events"]
LetterId = Annotated[str, Path(min_length=1, max_length=200, description="A message id, an outbox id or event id")]

_LATEST_AUDIT = "SELECT * FROM audit_runs ORDER BY ran_at DESC, id DESC LIMIT 1"
_AUDIT = "INSERT INTO admin_audit (principal, action, key_id, details) VALUES ($1, $2, NULL, $3)"


@contextmanager
def _broker() -> Iterator[None]:
    """The broker refusing or unreachable is a 503: the dead commands are there, only not readable now."""
    try:
        yield
    except (OSError, aio_pika.exceptions.AMQPError) as exc:
        raise Problem(
            503,
            "service_unavailable",
            f"the broker's dead-letter queue cannot be read ({type(exc).__name__}); retry",
            headers={"Retry-After": RETRY_AFTER},
        ) from None


def view(letter: DeadLetter) -> docs.DeadLetter:
    return docs.DeadLetter(
        id=letter.id,
        source=letter.source,
        reason=letter.reason,
        routing_key_or_type=letter.routing_key,
        attempts=letter.attempts,
        size=letter.size,
        body_preview=letter.body,
        dead_at=letter.dead_at,
        event_id=letter.extra.get("event_id"),
        command_id=letter.extra.get("command_id"),
        published_by=letter.published_by,
    )


@router.get("/operations", operation_id="operations.get", response_model=docs.Operations, dependencies=[UNBOUND])
async def operations(pool: PoolDep, bus: BusDep, settings: SettingsDep, principal: Admin) -> docs.Operations:
    """The outbox backlog and its oldest row's age, dead letters per source, the latest ``ledger audit``."""
    outbox = await pool.fetchrow(outbox_state.STATE)
    audit = await pool.fetchrow(_LATEST_AUDIT)
    commands: int | None = None  # the answer is still useful without the broker's count
    connection = bus.connection  # the bus's: no broker connection per request
    if connection is not None:
        with suppress(OSError, aio_pika.exceptions.AMQPError):
            commands = await dead_commands.count(connection, settings.topology.commands_dead_queue)
    return docs.Operations(
        outbox=docs.OutboxState(backlog=outbox["backlog"], oldest_age_seconds=outbox["oldest"], dead=outbox["dead"]),
        dead_letters=docs.DeadLetterCounts(commands=commands, events=outbox["dead"]),
        audit=None if audit is None else docs.AuditRun(**{k: audit[k] for k in docs.AuditRun.model_fields}),
    )


@router.get(
    "/dead_letters", operation_id="dead_letters.list", response_model=docs.DeadLetterPage, dependencies=[UNBOUND]
)
async def list_dead_letters(
    pool: PoolDep,
    settings: SettingsDep,
    principal: Admin,
    source: Annotated[Source, Query(description="`commands` (broker queue) or `events` (outbox)")] = "commands",
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many, oldest first")] = 100,
) -> docs.DeadLetterPage:
    """Dead letters of one source, oldest first; reading dead commands consumes none of them."""
    if source == "commands":
        with _broker():
            letters = await dead_commands.scan(settings)
    else:
        async with pool.acquire() as conn:
            letters = await dead_events.find(conn, None, limit=limit + 1)
    shown = [view(letter) for letter in letters[:limit]]
    return docs.DeadLetterPage(source=source, dead_letters=shown, has_more=len(letters) > limit)


def _not_found(source: Source, letter_id: str) -> Problem:
    return Problem(404, "dead_letter_not_found", f"no dead {source[:-1]} with id {letter_id!r}")


async def _record(
    db: asyncpg.Pool | asyncpg.Connection, principal: Principal, action: str, shown: docs.DeadLetter
) -> None:
    details: dict[str, Any] = json.loads(shown.model_dump_json(exclude={"body_preview"}))
    await db.execute(_AUDIT, principal.name, action, details)


@router.post(
    "/dead_letters/{source}/{letter_id}/replay",
    operation_id="dead_letters.replay",
    response_model=docs.DeadLetterAction,
    dependencies=[UNBOUND],
)
async def replay_dead_letter(
    source: Source, letter_id: LetterId, pool: PoolDep, settings: SettingsDep, principal: Admin
) -> docs.DeadLetterAction:
    """Send one dead letter through again: an event back in the outbox's line (its own ``event_id``), a
    command republished to ``ledger.commands`` and removed only once the broker confirmed the copy.

    A command that still does not decode, or that another broker user than the gateway's first published,
    is refused (409 ``not_replayable``): replay it with ``ledger dlq replay``."""
    if source == "events":
        async with pool.acquire() as conn, conn.transaction():
            found = await dead_events.find(conn, [letter_id], limit=1)
            if not found:
                raise _not_found(source, letter_id)
            await dead_events.replay(conn, [found[0].id])
            shown = view(found[0])
            await _record(conn, principal, "dead_letter.replayed", shown)
        return docs.DeadLetterAction(action="replayed", dead_letter=shown)
    with _broker():
        outcome = await dead_commands.replay(settings, lambda key: key == letter_id, only_from=settings.gateway_users)
    if outcome.skipped:
        why = outcome.skipped[0][1]
        raise Problem(409, "not_replayable", f"dead command {letter_id!r} was not replayed: {why}")
    if not outcome.done:
        raise _not_found(source, letter_id)
    shown = view(outcome.done[0])
    await _record(pool, principal, "dead_letter.replayed", shown)
    return docs.DeadLetterAction(action="replayed", dead_letter=shown)


@router.delete(
    "/dead_letters/{source}/{letter_id}",
    operation_id="dead_letters.purge",
    response_model=docs.DeadLetterAction,
    dependencies=[UNBOUND],
)
async def purge_dead_letter(
    source: Source, letter_id: LetterId, pool: PoolDep, settings: SettingsDep, principal: Admin
) -> docs.DeadLetterAction:
    """Drop one dead command for good. Dead events cannot be purged (409 ``not_purgeable``): an event is
    part of the ledger's record; replay it."""
    if source == "events":
        raise Problem(409, "not_purgeable", "dead events cannot be purged: an event is part of the ledger's record")
    with _broker():
        outcome = await dead_commands.purge(settings, lambda key: key == letter_id)
    if not outcome.done:
        raise _not_found(source, letter_id)
    shown = view(outcome.done[0])
    await _record(pool, principal, "dead_letter.purged", shown)
    return docs.DeadLetterAction(action="purged", dead_letter=shown)
