"""Write a batch back: one set-based part per table, all sent as one statement (``Script``).

The book gives the objects that changed; the commands' outcomes give the rows they added. Events are
serialised here, into the envelope subscribers receive, and given their outbox partition.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import uuid4

import asyncpg

from contracts.commands import payload_digest
from contracts.errors import Unavailable
from contracts.events import EventEnvelope
from ledger_common.outbox import PARTITIONS, EventRow, add_events, partition_of
from ledger_common.script import Script
from ledger_worker.book import Book
from ledger_worker.model import Account, Hold, Intent, Wallet
from ledger_worker.outcome import Outcome
from ledger_worker.recon import store as recon_store
from ledger_worker.run import Ran


class LostRace(Unavailable):
    """Another delivery of one of the batch's commands committed first: run the batch again."""


async def store(
    conn: asyncpg.Connection, book: Book, outcomes: Sequence[Ran], traced: Sequence[str | None] | None = None
) -> None:
    """Insert and update everything the batch did; raises :class:`LostRace` on a duplicate command id.

    ``traced``: with tracing on, each outcome's ``traceparent``, stored on its events' outbox rows.
    """
    changed = book.changed
    done = [o for _, _, o in outcomes]
    if book.new_currencies:
        await conn.executemany(
            "INSERT INTO currencies (code, name, exponent) VALUES ($1, $2, $3)",
            [(c.code, c.name, c.exponent) for c in book.new_currencies],
        )
    wallets = [w for w in changed if isinstance(w, Wallet)]
    accounts = [a for a in changed if isinstance(a, Account)]
    script = Script()  # everything below in one statement: one round trip (ledger_common/script.py)
    _insert_wallets(script, [w for w in wallets if w.new])
    _insert_accounts(script, [a for a in accounts if a.new])
    _update_wallets(script, [w for w in wallets if not w.new])
    _update_accounts(script, [a for a in accounts if not a.new], book)
    _insert_transactions(script, done, book.now)
    _write_holds(script, [h for h in changed if isinstance(h, Hold)], book)
    _write_intents(script, [i for i in changed if isinstance(i, Intent)], book)
    key_spend = [row for o in done for row in o.key_spend]
    if key_spend:
        script.add(
            "key_spending",
            "INSERT INTO key_spend (key_id, currency, amount, command_id, created_at)"
            " SELECT k, c, a, i, $5 FROM unnest($1::uuid[], $2::text[], $3::numeric[], $4::text[]) AS t(k, c, a, i)",
            *_cols(key_spend, "key_id", "currency", "amount", "command_id"),
            book.now,
        )
    recon_store.add_parts(script, done, book)
    rows = [row for o in done for row in event_rows(o, book.now)]
    # Off: None, and the outbox part leaves the column out (NULL) at no cost per row.
    parents = None if traced is None else [t for o, t in zip(done, traced, strict=True) for _ in o.events]
    add_events(script, rows, occurred_at=book.now, traceparents=parents)
    _insert_commands(script, outcomes)
    if await script.run(conn, "SELECT count(*) FROM new_commands") != len(outcomes):
        raise LostRace


def event_rows(out: Outcome, now: datetime) -> list[EventRow]:
    """The command's events as subscribers receive them, each in its stream's outbox partition."""
    rows = []
    for e in out.events:
        # model_construct: the fields come from this code, already typed; validating them again per
        # event was a tenth of the worker's CPU. Every e2e test parses what subscribers receive.
        envelope = EventEnvelope.model_construct(
            event_id=uuid4(),
            schema_version=1,
            type=e.type,
            occurred_at=now,
            command_id=out.command_id,
            principal=out.principal,
            account_id=e.account_id,
            wallet_id=e.wallet_id,
            sequence=e.sequence,
            payload=e.payload,
        )
        stream = e.account_id or e.wallet_id
        partition = partition_of(stream) if stream else zlib.crc32(out.command_id.encode()) % PARTITIONS
        body = envelope.model_dump_json().encode()
        ids = (envelope.event_id, e.type, out.command_id, e.account_id, e.wallet_id, e.sequence)
        rows.append(EventRow(*ids, partition, body, out.principal or ""))
    return rows


def _cols(rows: Sequence[object], *names: str) -> list[list[Any]]:
    """Column arrays for ``unnest`` from a list of records."""
    return [[getattr(r, n) for r in rows] for n in names]


def _insert_wallets(script: Script, wallets: list[Wallet]) -> None:
    if wallets:
        script.add(
            "new_wallets",
            "INSERT INTO wallets (id, owner_id, kind, handle, external_ref, status, allow_credits, metadata,"
            " last_sequence) SELECT i, o, k, h, e, s, c, m::jsonb, q FROM unnest($1::uuid[], $2::text[],"
            " $3::text[], $4::text[], $5::text[], $6::text[], $7::bool[], $8::text[], $9::bigint[])"
            " AS t(i, o, k, h, e, s, c, m, q)",
            *_cols(wallets, "id", "owner_id", "kind", "handle", "external_ref", "status", "allow_credits"),
            [json.dumps(w.metadata) for w in wallets],
            [w.last_sequence for w in wallets],
        )


def _update_wallets(script: Script, wallets: list[Wallet]) -> None:
    if wallets:
        script.add(
            "changed_wallets",
            "UPDATE wallets AS w SET status = t.s, allow_credits = t.c, metadata = t.m::jsonb, last_sequence = t.q,"
            " updated_at = now() FROM unnest($1::uuid[], $2::text[], $3::bool[], $4::text[], $5::bigint[])"
            " AS t(i, s, c, m, q) WHERE w.id = t.i",
            *_cols(wallets, "id", "status", "allow_credits"),
            [json.dumps(w.metadata) for w in wallets],
            [w.last_sequence for w in wallets],
        )


_ACCOUNT_STATE = (
    "balance",
    "held",
    "min_balance",
    "status",
    "allow_credits",
    "max_per_transaction",
    "daily_debit_amount",
    "daily_debit_count",
    "last_sequence",
    "last_hash",
)
_ACCOUNT_TYPES = "$2::numeric[], $3::numeric[], $4::numeric[], $5::text[], $6::bool[], $7::numeric[], $8::numeric[], $9::int[], $10::bigint[], $11::bytea[]"  # noqa: E501
_ACCOUNT_ALIASES = "b, h, mb, s, c, mt, da, dc, q, lh"


def _insert_accounts(script: Script, accounts: list[Account]) -> None:
    if accounts:
        script.add(
            "new_accounts",
            f"INSERT INTO accounts (id, {', '.join(_ACCOUNT_STATE)}, wallet_id, currency, kind)"  # noqa: S608
            f" SELECT i, {_ACCOUNT_ALIASES}, w, cur, k FROM unnest($1::uuid[], {_ACCOUNT_TYPES},"
            f" $12::uuid[], $13::text[], $14::text[]) AS t(i, {_ACCOUNT_ALIASES}, w, cur, k)",
            *_cols(accounts, "id", *_ACCOUNT_STATE, "wallet_id", "currency", "kind"),
        )


def _update_accounts(script: Script, accounts: list[Account], book: Book) -> None:
    if accounts:
        sets = ", ".join(f"{c} = t.{a}" for c, a in zip(_ACCOUNT_STATE, _ACCOUNT_ALIASES.split(", "), strict=True))
        script.add(
            "changed_accounts",
            f"UPDATE accounts AS a SET {sets}, updated_at = $12 FROM unnest($1::uuid[], {_ACCOUNT_TYPES})"  # noqa: S608
            f" AS t(i, {_ACCOUNT_ALIASES}) WHERE a.id = t.i",
            *_cols(accounts, "id", *_ACCOUNT_STATE),
            book.now,
        )


def _insert_transactions(script: Script, done: list[Outcome], now: datetime) -> None:
    txs = [t for o in done for t in o.transactions]
    if not txs:
        return
    postings = [p for o in done for p in o.postings]
    script.add(
        "new_transactions",
        "INSERT INTO transactions (id, command_id, kind, principal, currency, amount, description, metadata,"
        " reverses_id, hold_id, intent_id, created_at) SELECT i, c, k, p, cur, a, d, m::jsonb, r, h, n, $12"
        " FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::numeric[], $7::text[],"
        " $8::text[], $9::uuid[], $10::uuid[], $11::uuid[]) AS t(i, c, k, p, cur, a, d, m, r, h, n)",
        *_cols(txs, "id", "command_id", "kind", "principal", "currency", "amount", "description"),
        [json.dumps(t.metadata) for t in txs],
        *_cols(txs, "reverses_id", "hold_id", "intent_id"),
        now,
    )
    # WITH ORDINALITY + ORDER BY: posting ids follow the order the hash chains were computed in.
    script.add(
        "new_postings",
        "INSERT INTO postings (transaction_id, account_id, currency, amount, balance_after, hash, created_at)"
        " SELECT t, a, c, m, b, h, $7 FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::numeric[],"
        " $5::numeric[], $6::bytea[]) WITH ORDINALITY AS x(t, a, c, m, b, h, n) ORDER BY n",
        *_cols(postings, "transaction_id", "account_id", "currency", "amount", "balance_after", "hash"),
        now,
    )


def _write_holds(script: Script, holds: list[Hold], book: Book) -> None:
    new = [h for h in holds if h.new]
    if new:
        script.add(
            "new_holds",
            "INSERT INTO holds (id, account_id, currency, amount, command_id, captured_amount, status, expires_at,"
            " recipient_account_id, intent_id, transaction_id, description, metadata, finished_at, created_at)"
            " SELECT i, a, c, m, cmd, cap, s, e, r, n, t, d, meta::jsonb, f, $15 FROM unnest($1::uuid[], $2::uuid[],"
            " $3::text[], $4::numeric[], $5::text[], $6::numeric[], $7::text[], $8::timestamptz[], $9::uuid[],"
            " $10::uuid[], $11::uuid[], $12::text[], $13::text[], $14::timestamptz[])"
            " AS x(i, a, c, m, cmd, cap, s, e, r, n, t, d, meta, f)",
            *_cols(new, "id", "account_id", "currency", "amount", "command_id", "captured_amount", "status"),
            *_cols(new, "expires_at", "recipient_account_id", "intent_id", "transaction_id", "description"),
            [json.dumps(h.metadata) for h in new],
            [h.finished_at for h in new],
            book.now,
        )
    old = [h for h in holds if not h.new]
    if old:
        # Every column a rule may change, so a new rule changing a hold needs no change here.
        script.add(
            "changed_holds",
            "UPDATE holds AS h SET amount = x.m, expires_at = x.e, status = x.s, captured_amount = x.cap,"
            " transaction_id = x.t, recipient_account_id = x.r, finished_at = x.f FROM unnest($1::uuid[],"
            " $2::numeric[], $3::timestamptz[], $4::text[], $5::numeric[], $6::uuid[], $7::uuid[], $8::timestamptz[])"
            " AS x(i, m, e, s, cap, t, r, f) WHERE h.id = x.i",
            *_cols(old, "id", "amount", "expires_at", "status", "captured_amount", "transaction_id"),
            *_cols(old, "recipient_account_id", "finished_at"),
        )


def _write_intents(script: Script, intents: list[Intent], book: Book) -> None:
    new = [i for i in intents if i.new]
    if new:
        script.add(
            "new_intents",
            "INSERT INTO payment_intents (id, merchant_account_id, currency, amount, command_id, description,"
            " status, expires_at, payer_account_id, hold_id, paid_amount, refunded_amount, metadata, created_at)"
            " SELECT i, ma, c, a, cmd, d, s, e, p, h, pa, ra, m::jsonb, $14 FROM unnest($1::uuid[], $2::uuid[],"
            " $3::text[], $4::numeric[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::uuid[],"
            " $10::uuid[], $11::numeric[], $12::numeric[], $13::text[])"
            " AS x(i, ma, c, a, cmd, d, s, e, p, h, pa, ra, m)",
            *_cols(new, "id", "merchant_account_id", "currency", "amount", "command_id", "description", "status"),
            *_cols(new, "expires_at", "payer_account_id", "hold_id", "paid_amount", "refunded_amount"),
            [json.dumps(i.metadata) for i in new],
            book.now,
        )
    old = [i for i in intents if not i.new]
    if old:
        script.add(
            "changed_intents",
            "UPDATE payment_intents AS p SET status = x.s, payer_account_id = x.pa, hold_id = x.h, paid_amount = x.pd,"
            " refunded_amount = x.rf, updated_at = $7 FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::uuid[],"
            " $5::numeric[], $6::numeric[]) AS x(i, s, pa, h, pd, rf) WHERE p.id = x.i",
            *_cols(old, "id", "status", "payer_account_id", "hold_id", "paid_amount", "refunded_amount"),
            book.now,
        )


def _insert_commands(script: Script, outcomes: Sequence[Ran]) -> None:
    """The idempotency records; a command id another delivery committed first is not counted."""
    script.add(
        "new_commands",
        "INSERT INTO commands (command_id, command_type, payload_digest, status, result, transaction_id, principal)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::uuid[], $7::text[])"
        " ON CONFLICT (principal, command_id) DO NOTHING RETURNING 1",
        [c.command_id for c, _, _ in outcomes],
        [c.type for c, _, _ in outcomes],
        [payload_digest(c) for c, _, _ in outcomes],
        [r.status for _, r, _ in outcomes],
        [r.model_dump(mode="json") for _, r, _ in outcomes],
        [r.transaction_id for _, r, _ in outcomes],
        [c.principal or "" for c, _, _ in outcomes],
    )
