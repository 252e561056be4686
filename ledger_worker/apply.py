"""Apply a batch of commands in one PostgreSQL transaction: idempotency records, postings, balances, outbox.

This is where exactly-once effect is made: each command's ``commands`` row (primary key = command
id) commits atomically with everything it did, so a redelivered command finds it and gets the
stored result back (``replayed``) instead of being applied twice.

Many commands share one transaction (one lock round, one commit, a few set-based statements) and
run one after another against the locked working set in memory, so a refusal never sinks the
batch. If the batch as a whole hits a constraint (a concurrent delivery of the same command id,
a handle taken by another worker a moment ago), it is retried one command per transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import asyncpg

from contracts.commands import Command, payload_digest
from contracts.ids import command_scope
from contracts.results import CommandResult, Refusal
from ledger_common import metrics
from ledger_worker.callers import load_callers
from ledger_worker.load import collect, load, load_currencies
from ledger_worker.model import Caller, Currency
from ledger_worker.recon import load as recon_load
from ledger_worker.run import run
from ledger_worker.store import LostRace, store

log = logging.getLogger("ledger_worker")


class Applier:
    """Applies batches; keeps the process-wide cache of currencies."""

    def __init__(self) -> None:
        self._currencies: dict[str, Currency] = {}

    async def apply(
        self,
        conn: asyncpg.Connection,
        cmds: Sequence[Command],
        forged: Sequence[str | None] | None = None,
        traced: Sequence[str | None] | None = None,
    ) -> list[CommandResult]:
        """Apply ``cmds`` exactly once each (once per principal and command id); results in the same order.

        ``forged[i]`` is a principal the body of ``cmds[i]`` claimed and its publisher may not speak for
        (``callers.identify``): the command is recorded as refused. ``traced[i]``, with tracing on, is the
        ``traceparent`` of the span of ``cmds[i]``, stored with its events' outbox rows for the relay.
        """
        claims = list(forged) if forged is not None else [None] * len(cmds)
        try:
            results = await self._apply_batch(conn, cmds, claims, traced)
        except (LostRace, asyncpg.IntegrityConstraintViolationError) as exc:
            if len(cmds) > 1:
                metrics.BATCH_FALLBACKS.labels("conflict").inc()
                log.info("batch of %d hit %s; applying one by one", len(cmds), type(exc).__name__)
            elif not isinstance(exc, (LostRace, asyncpg.UniqueViolationError)):
                raise
        else:
            metrics.count_results(results)
            return results
        results = []
        for i, (cmd, claim) in enumerate(zip(cmds, claims, strict=True)):
            one = None if traced is None else [traced[i]]
            try:
                results += await self._apply_batch(conn, [cmd], [claim], one)
            except (LostRace, asyncpg.UniqueViolationError):
                # A concurrent commit took the id or name first: the committed state now decides
                # (the stored result is replayed, or the rule refuses, e.g. handle_taken).
                results += await self._apply_batch(conn, [cmd], [claim], one)
        metrics.count_results(results)
        return results

    async def _apply_batch(
        self,
        conn: asyncpg.Connection,
        cmds: Sequence[Command],
        claims: Sequence[str | None],
        traced: Sequence[str | None] | None = None,
    ) -> list[CommandResult]:
        needs = collect(cmds)
        if not self._currencies or needs.currencies - self._currencies.keys():
            self._currencies = await load_currencies(conn)  # a code not seen yet: registered since?
        results: list[CommandResult | None] = [None] * len(cmds)
        known: list[Currency] = []
        keys = [command_scope(c.principal, c.command_id) for c in cmds]
        async with conn.transaction():
            now, stored = await _lookup(conn, cmds)
            fresh: dict[str, int] = {}
            for i, (cmd, key) in enumerate(zip(cmds, keys, strict=True)):
                if key in stored:
                    results[i] = _replay(cmd, *stored[key])
                elif key not in fresh:
                    fresh[key] = i
            todo = [cmds[i] for i in fresh.values()]
            if todo:
                todo_needs = needs if len(todo) == len(cmds) else collect(todo)  # replays lock nothing
                await recon_load.add_needs(conn, todo_needs)
                book = await load(conn, todo_needs, now=now, currencies=self._currencies)
                await recon_load.load(conn, book, todo_needs, recon_load.bounds(todo))
                callers = await load_callers(conn, {c.principal for c in todo})
                outcomes = [run(book, cmds[i], _caller(callers, cmds[i], claims[i])) for i in fresh.values()]
                await store(conn, book, outcomes, None if traced is None else [traced[i] for i in fresh.values()])
                known = list(book.currencies.values())
                for (cmd, result, _), i in zip(outcomes, fresh.values(), strict=True):
                    results[i] = result
                    stored[keys[i]] = (payload_digest(cmd), result)
        self._currencies.update((c.code, c) for c in known)  # codes and exponents never change
        for i, cmd in enumerate(cmds):  # the same id twice in one batch: the second is a replay
            if results[i] is None:
                results[i] = _replay(cmd, *stored[keys[i]])
        return [r for r in results if r is not None]


async def _lookup(conn: asyncpg.Connection, cmds: Sequence[Command]) -> tuple[datetime, dict[str, tuple[str, Any]]]:
    """The transaction's clock, and the stored outcome of any (principal, command id) already applied."""
    rows = await conn.fetch(
        "SELECT now() AS now, c.principal, c.command_id, c.payload_digest, c.result FROM (SELECT 1) AS one"
        " LEFT JOIN (SELECT * FROM unnest($1::text[], $2::text[]) AS k(p, i)) AS k ON TRUE"
        " LEFT JOIN commands c ON c.principal = k.p AND c.command_id = k.i",
        [c.principal or "" for c in cmds],
        [c.command_id for c in cmds],
    )
    stored = {
        command_scope(r["principal"], r["command_id"]): (r["payload_digest"], r["result"])
        for r in rows
        if r["command_id"] is not None
    }
    return rows[0]["now"], stored


def _caller(callers: dict[str | None, Caller], cmd: Command, forged: str | None) -> Caller:
    caller = callers[cmd.principal]
    return caller if forged is None else replace(caller, forged=forged)


def _replay(cmd: Command, digest: str, result: Any) -> CommandResult:
    if digest != payload_digest(cmd):
        return CommandResult(
            command_id=cmd.command_id,
            command_type=cmd.type,
            status="refused",
            refusal=Refusal.IDEMPOTENCY_CONFLICT,
            detail="this command id was already used with a different payload",
        )
    stored = result if isinstance(result, CommandResult) else CommandResult.model_validate(result)
    return stored.model_copy(update={"replayed": True})
