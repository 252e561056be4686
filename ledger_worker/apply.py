"""Apply one command in one PostgreSQL transaction: idempotency record, postings, balances, outbox.

This is where exactly-once effect is made: the ``commands`` row (primary key = command id) commits
atomically with everything the command did, so a redelivered command finds it and replays the
stored result instead of applying twice.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID, uuid4

import asyncpg

from contracts.commands import Command, DepositCommand, OpenAccountCommand, WithdrawCommand, payload_digest
from contracts.events import AccountOpened, BalanceChanged, CommandRefused, EventEnvelope
from contracts.results import AccountBalance, CommandResult, Refusal
from ledger_common.outbox import PARTITIONS, OutboxRow, partition_of, write_outbox
from ledger_worker.domain import (
    AccountState,
    Posting,
    Refused,
    derived_account_id,
    legs,
    plan,
    system_account_id,
)


class _LostRace(Exception):
    """Another delivery of the same command committed first; replay its result."""


async def apply_command(conn: asyncpg.Connection, cmd: Command) -> CommandResult:
    """Apply ``cmd`` exactly once and return its result (or the stored one, marked replayed)."""
    stored = await _stored_result(conn, cmd)
    if stored is not None:
        return stored
    if isinstance(cmd, (DepositCommand, WithdrawCommand)):
        await _ensure_system_account(conn, cmd.payload.currency)
    try:
        async with conn.transaction():
            result, events = await _execute(conn, cmd)
            await _record(conn, cmd, result, events)
    except (_LostRace, asyncpg.UniqueViolationError):
        # A concurrent delivery of the same command id committed first (both passed the
        # lookup above); its commit is the one that counts.
        stored = await _stored_result(conn, cmd)
        assert stored is not None
        return stored
    return result


async def _stored_result(conn: asyncpg.Connection, cmd: Command) -> CommandResult | None:
    row = await conn.fetchrow("SELECT payload_digest, result FROM commands WHERE command_id = $1", cmd.command_id)
    if row is None:
        return None
    if row["payload_digest"] != payload_digest(cmd):
        return CommandResult(
            command_id=cmd.command_id,
            command_type=cmd.type,
            status="refused",
            refusal=Refusal.IDEMPOTENCY_CONFLICT,
            detail="this command id was already used with a different payload",
        )
    return CommandResult.model_validate(row["result"]).model_copy(update={"replayed": True})


async def _execute(conn: asyncpg.Connection, cmd: Command) -> tuple[CommandResult, list[OutboxRow]]:
    if isinstance(cmd, OpenAccountCommand):
        return await _open_account(conn, cmd)
    payload = cmd.payload
    debit_id, credit_id = legs(payload)
    accounts = await _lock_accounts(conn, [debit_id, credit_id])
    outcome = plan(payload, accounts)
    primary = credit_id if cmd.type == "deposit" else debit_id
    if isinstance(outcome, Refused):
        return _refused(cmd, outcome, primary if primary in accounts else None)
    return await _post(conn, cmd, accounts, outcome)


async def _open_account(conn: asyncpg.Connection, cmd: OpenAccountCommand) -> tuple[CommandResult, list[OutboxRow]]:
    account_id = cmd.payload.account_id or derived_account_id(cmd.command_id)
    created = await conn.fetchval(
        "INSERT INTO accounts (id, currency, kind, last_sequence) VALUES ($1, $2, 'user', 1)"
        " ON CONFLICT (id) DO NOTHING RETURNING true",
        account_id,
        cmd.payload.currency,
    )
    if not created:
        return _refused(cmd, Refused(Refusal.ACCOUNT_EXISTS, f"account {account_id} already exists"), None)
    result = CommandResult(
        command_id=cmd.command_id,
        command_type=cmd.type,
        status="applied",
        account_id=account_id,
        balances=(AccountBalance(account_id=account_id, currency=cmd.payload.currency, balance=0),),
    )
    event = _event(cmd, "account.opened", account_id, 1, AccountOpened(currency=cmd.payload.currency))
    return result, [event]


_known_system_accounts: set[str] = set()


async def _ensure_system_account(conn: asyncpg.Connection, currency: str) -> None:
    """Create the currency's system account in its own committed statement, before the command's
    transaction: caching it as known while still uncommitted let a concurrent command miss it."""
    if currency in _known_system_accounts:
        return
    await conn.execute(
        "INSERT INTO accounts (id, currency, kind, min_balance) VALUES ($1, $2, 'system', NULL)"
        " ON CONFLICT (id) DO NOTHING",
        system_account_id(currency),
        currency,
    )
    _known_system_accounts.add(currency)


async def _lock_accounts(conn: asyncpg.Connection, ids: Sequence[UUID]) -> dict[UUID, AccountState]:
    # ORDER BY id makes every transaction take row locks in the same order: no deadlocks.
    rows = await conn.fetch(
        "SELECT id, currency, kind, balance, min_balance, last_sequence FROM accounts"
        " WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
        list(ids),
    )
    return {r["id"]: AccountState(**dict(r)) for r in rows}


async def _post(
    conn: asyncpg.Connection,
    cmd: Command,
    accounts: dict[UUID, AccountState],
    postings: tuple[Posting, Posting],
) -> tuple[CommandResult, list[OutboxRow]]:
    transaction_id = uuid4()
    currency: str = cmd.payload.currency
    await conn.execute(
        "INSERT INTO transactions (id, command_id, kind, principal) VALUES ($1, $2, $3, $4)",
        transaction_id,
        cmd.command_id,
        cmd.type,
        cmd.principal,
    )
    await conn.execute(
        "INSERT INTO postings (transaction_id, account_id, currency, amount, balance_after)"
        " SELECT $1, a, $2, m, b FROM unnest($3::uuid[], $4::bigint[], $5::bigint[]) AS t(a, m, b)",
        transaction_id,
        currency,
        [p.account_id for p in postings],
        [p.amount for p in postings],
        [p.balance_after for p in postings],
    )
    events: list[OutboxRow] = []
    sequences: list[int] = []
    balances: list[AccountBalance] = []
    for posting, other in (postings, postings[::-1]):
        account = accounts[posting.account_id]
        sequence = account.last_sequence
        if account.kind == "user":  # system accounts have no event stream
            sequence += 1
            change = BalanceChanged(
                command_type=cmd.type,
                transaction_id=transaction_id,
                amount=abs(posting.amount),
                currency=currency,
                balance_after=posting.balance_after,
                counterparty_account_id=other.account_id,
            )
            kind = "account.credited" if posting.amount > 0 else "account.debited"
            events.append(_event(cmd, kind, account.id, sequence, change))
            balances.append(AccountBalance(account_id=account.id, currency=currency, balance=posting.balance_after))
        sequences.append(sequence)
    await conn.execute(
        "UPDATE accounts AS a SET balance = t.b, last_sequence = t.s"
        " FROM unnest($1::uuid[], $2::bigint[], $3::bigint[]) AS t(id, b, s) WHERE a.id = t.id",
        [p.account_id for p in postings],
        [p.balance_after for p in postings],
        sequences,
    )
    result = CommandResult(
        command_id=cmd.command_id,
        command_type=cmd.type,
        status="applied",
        transaction_id=transaction_id,
        balances=tuple(balances),
    )
    return result, events


def _refused(cmd: Command, refused: Refused, account_id: UUID | None) -> tuple[CommandResult, list[OutboxRow]]:
    result = CommandResult(
        command_id=cmd.command_id,
        command_type=cmd.type,
        status="refused",
        refusal=refused.refusal,
        detail=refused.detail,
        account_id=account_id,
    )
    payload = CommandRefused(command_type=cmd.type, refusal=refused.refusal, detail=refused.detail)
    return result, [_event(cmd, "command.refused", account_id, None, payload)]


def _event(
    cmd: Command,
    kind: str,
    account_id: UUID | None,
    sequence: int | None,
    payload: AccountOpened | BalanceChanged | CommandRefused,
) -> OutboxRow:
    envelope = EventEnvelope.model_validate(
        {
            "event_id": uuid4(),
            "type": kind,
            "occurred_at": datetime.now(UTC),
            "command_id": cmd.command_id,
            "account_id": account_id,
            "sequence": sequence,
            "payload": payload,
        }
    )
    if account_id is not None:
        partition = partition_of(account_id)
    else:
        partition = zlib.crc32(cmd.command_id.encode()) % PARTITIONS
    return OutboxRow(envelope.event_id, kind, partition, envelope.model_dump_json().encode())


async def _record(conn: asyncpg.Connection, cmd: Command, result: CommandResult, events: list[OutboxRow]) -> None:
    inserted = await conn.fetchval(
        "INSERT INTO commands (command_id, command_type, payload_digest, status, result, transaction_id)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (command_id) DO NOTHING RETURNING true",
        cmd.command_id,
        cmd.type,
        payload_digest(cmd),
        result.status,
        result.model_dump(mode="json"),
        result.transaction_id,
    )
    if not inserted:
        raise _LostRace
    await write_outbox(conn, command_id=cmd.command_id, rows=events)
