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
from datetime import datetime
from typing import Any

import asyncpg

from contracts.commands import Command, payload_digest
from contracts.ids import SystemRole
from contracts.results import CommandResult, Refusal
from ledger_worker.load import collect, ensure_system_accounts, load, load_currencies
from ledger_worker.model import Currency
from ledger_worker.run import run
from ledger_worker.store import LostRace, store

log = logging.getLogger("ledger_worker")


class Applier:
    """Applies batches; keeps the process-wide caches (currencies, known system accounts)."""

    def __init__(self) -> None:
        self._currencies: dict[str, Currency] = {}
        self._system_ready: set[tuple[SystemRole, str]] = set()

    async def apply(self, conn: asyncpg.Connection, cmds: Sequence[Command]) -> list[CommandResult]:
        """Apply ``cmds`` exactly once each; results in the same order."""
        try:
            return await self._apply_batch(conn, cmds)
        except (LostRace, asyncpg.IntegrityConstraintViolationError) as exc:
            if len(cmds) > 1:
                log.info("batch of %d hit %s; applying one by one", len(cmds), type(exc).__name__)
            elif not isinstance(exc, (LostRace, asyncpg.UniqueViolationError)):
                raise
        results: list[CommandResult] = []
        for cmd in cmds:
            try:
                results += await self._apply_batch(conn, [cmd])
            except (LostRace, asyncpg.UniqueViolationError):
                # A concurrent commit took the id or name first: the committed state now decides
                # (the stored result is replayed, or the rule refuses, e.g. handle_taken).
                results += await self._apply_batch(conn, [cmd])
        return results

    async def _apply_batch(self, conn: asyncpg.Connection, cmds: Sequence[Command]) -> list[CommandResult]:
        needs = collect(cmds)
        await self._prepare(conn, needs.currencies, needs.system)
        results: list[CommandResult | None] = [None] * len(cmds)
        known: list[Currency] = []
        async with conn.transaction():
            now, stored = await _lookup(conn, cmds)
            fresh: dict[str, int] = {}
            for i, cmd in enumerate(cmds):
                if cmd.command_id in stored:
                    results[i] = _replay(cmd, *stored[cmd.command_id])
                elif cmd.command_id not in fresh:
                    fresh[cmd.command_id] = i
            todo = [cmds[i] for i in fresh.values()]
            if todo:
                todo_needs = needs if len(todo) == len(cmds) else collect(todo)  # replays lock nothing
                book = await load(conn, todo_needs, now=now, currencies=self._currencies)
                outcomes = [run(book, cmd) for cmd in todo]
                await store(conn, book, outcomes)
                known = list(book.currencies.values())
                for (cmd, result, _), i in zip(outcomes, fresh.values(), strict=True):
                    results[i] = result
                    stored[cmd.command_id] = (payload_digest(cmd), result)
        self._currencies.update((c.code, c) for c in known)  # codes and exponents never change
        for i, cmd in enumerate(cmds):  # the same id twice in one batch: the second is a replay
            if results[i] is None:
                results[i] = _replay(cmd, *stored[cmd.command_id])
        return [r for r in results if r is not None]

    async def _prepare(
        self, conn: asyncpg.Connection, currencies: set[str], system: set[tuple[SystemRole, str]]
    ) -> None:
        """Refresh the currency cache for unknown codes; create missing system accounts (committed)."""
        if not self._currencies or currencies - self._currencies.keys():
            self._currencies = await load_currencies(conn)
        missing = {(r, c) for r, c in system if c in self._currencies} - self._system_ready
        if missing:
            await ensure_system_accounts(conn, missing)
            self._system_ready |= missing


async def _lookup(conn: asyncpg.Connection, cmds: Sequence[Command]) -> tuple[datetime, dict[str, tuple[str, Any]]]:
    """The transaction's clock, and the stored outcome of any command id already applied."""
    rows = await conn.fetch(
        "SELECT now() AS now, c.command_id, c.payload_digest, c.result FROM (SELECT 1) AS one"
        " LEFT JOIN commands c ON c.command_id = ANY($1::text[])",
        [c.command_id for c in cmds],
    )
    stored = {r["command_id"]: (r["payload_digest"], r["result"]) for r in rows if r["command_id"] is not None}
    return rows[0]["now"], stored


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
