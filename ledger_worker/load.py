"""Load and lock what a batch of commands touches, in one global order, so batches cannot deadlock.

Lock order: wallets a command changes, then payment intents, then holds, then accounts (each set by
id). Everything else is read without a lock: wallets only named as parties (their status lives on
their locked accounts), and past transactions, which never change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from contracts.base import WalletRefParts
from contracts.catalogue import SPECS
from contracts.commands import Command
from contracts.ids import (
    SYSTEM_ROLES,
    SystemRole,
    command_scope,
    derived_id,
    object_id,
    principal_key,
    system_account_id,
    wallet_account_id,
)
from contracts.refs import Declared, walk
from ledger_worker.book import Book
from ledger_worker.model import Account, Currency, Hold, Intent, KeyLimit, PastTransaction, Wallet


@dataclass
class Needs:
    """Every object a batch may touch, collected from its commands before anything is read."""

    account_ids: set[UUID] = field(default_factory=set)
    wallet_refs: set[str] = field(default_factory=set)
    locked_wallet_refs: set[str] = field(default_factory=set)
    hold_ids: set[UUID] = field(default_factory=set)
    intent_ids: set[UUID] = field(default_factory=set)
    transaction_ids: set[UUID] = field(default_factory=set)
    system: set[tuple[SystemRole, str]] = field(default_factory=set)
    currencies: set[str] = field(default_factory=set)
    types: set[str] = field(default_factory=set)
    key_ids: set[UUID] = field(default_factory=set)
    #: Statement sources and breaks (ledger_worker.recon.load locks them after everything above).
    recon_sources: set[str] = field(default_factory=set)
    recon_breaks: set[UUID] = field(default_factory=set)

    def add(self, declared: Declared, value: Any, scope: str) -> None:
        """Note what one declared reference names (an absent ``new`` id: the id derived for it)."""
        ref = declared.ref
        if value is None:
            if not ref.new or ref.kind in ("handle", "external_ref"):
                return
            value = derived_id("wallet" if ref.kind == "wallet_id" else ref.kind, scope)
        match ref.kind:
            case "account":
                self.account_ids.add(value)
                if ref.new:  # a standalone account's wallet has the account's id
                    self.wallet_refs.add(str(value))
            case "wallet":
                (self.locked_wallet_refs if ref.lock else self.wallet_refs).add(value)
            case "wallet_id":
                self.wallet_refs.add(str(value))
            case "handle":
                self.wallet_refs.add(value)
            case "external_ref":
                self.wallet_refs.add(f"ext:{value}")
            case "hold":
                self.hold_ids.add(value)
            case "intent":
                self.intent_ids.add(value)
            case "transaction":
                self.transaction_ids.add(value)
            case "recon_source":
                self.recon_sources.add(value)
            case "recon_break":
                self.recon_breaks.add(value)
            case "currency":
                self.currencies.update(value if isinstance(value, tuple) else (value,))
                if ref.new:  # registering a currency opens its system accounts: load any taken id
                    self.system.update((role, value) for role in SYSTEM_ROLES)


def collect(cmds: Sequence[Command]) -> Needs:
    """What ``cmds`` reference, as their payloads and catalogue entries declare it."""
    needs = Needs()
    for cmd in cmds:
        spec = SPECS[cmd.type]
        for declared, value in walk(cmd.payload):
            needs.add(declared, value, command_scope(cmd.principal, cmd.command_id))
        if spec.system is not None:
            needs.system.add((spec.system, cmd.payload.currency))  # type: ignore[attr-defined]
        for kind in spec.derives:
            needs.hold_ids.add(object_id(kind, principal=cmd.principal, command_id=cmd.command_id))
        needs.types.add(cmd.type)
        if key_id := principal_key(cmd.principal):
            needs.key_ids.add(key_id)
    needs.wallet_refs -= needs.locked_wallet_refs
    return needs


async def load(conn: asyncpg.Connection, needs: Needs, *, now: datetime, currencies: dict[str, Currency]) -> Book:
    """Read and lock the batch's working set into a new book (inside the batch's transaction)."""
    book = Book(now=now, currencies=dict(currencies))
    book.load(await _key_limits(conn, needs.key_ids, now=now))
    wallets = await _wallets(conn, needs.locked_wallet_refs, lock=True)
    wallets += await _wallets(conn, needs.wallet_refs, lock=False)
    book.load(wallets)
    hold_ids = set(needs.hold_ids)
    intent_ids = set(needs.intent_ids)
    if hold_ids:  # an intent's hold brings its intent, which must be locked before the hold
        rows = await conn.fetch("SELECT intent_id FROM holds WHERE id = ANY($1::uuid[])", list(hold_ids))
        intent_ids.update(r["intent_id"] for r in rows if r["intent_id"])
    intents = await _locked(conn, "payment_intents", intent_ids, Intent)
    hold_ids.update(i.hold_id for i in intents if i.hold_id)
    holds = await _locked(conn, "holds", hold_ids, Hold)
    past = await _past(conn, needs.transaction_ids)
    account_ids = set(needs.account_ids) | {system_account_id(c, r) for r, c in needs.system}
    account_ids.update(i.merchant_account_id for i in intents)
    account_ids.update(i.payer_account_id for i in intents if i.payer_account_id)
    account_ids.update(h.account_id for h in holds)
    account_ids.update(h.recipient_account_id for h in holds if h.recipient_account_id)
    account_ids.update(a for t in past for a, _ in t.postings)
    # The accounts a credited wallet would open: if another wallet's account took such an id, the
    # rule sees it and refuses (account_exists) instead of the batch failing on the primary key.
    account_ids.update(wallet_account_id(w.id, c) for w in wallets for c in needs.currencies)
    # New limits apply at once: a batch that sets limits reads every account's 24 h window.
    every_window = "account.set_limits" in needs.types
    accounts = await _accounts(conn, account_ids, [w.id for w in wallets], now=now, every_window=every_window)
    book.load([*intents, *holds, *past, *accounts])
    seen = needs.currencies | {a.currency for a in accounts} | {i.currency for i in intents}
    if seen - book.currencies.keys():  # registered by another worker since our cache was filled
        book.currencies.update(await load_currencies(conn))
    return book


async def load_currencies(conn: asyncpg.Connection) -> dict[str, Currency]:
    rows = await conn.fetch("SELECT code, name, exponent FROM currencies")
    return {r["code"]: Currency(r["code"], r["name"], r["exponent"]) for r in rows}


async def _key_limits(conn: asyncpg.Connection, key_ids: set[UUID], *, now: datetime) -> list[KeyLimit]:
    """Spending limits of the batch's API keys, with their 24 h spend, read under the keys' row locks.

    Keys come first in the lock order; locking them serialises batches of one limited key, so
    parallel spends cannot both fit under a limit that only one of them fits under.
    """
    if not key_ids:
        return []
    rows = await conn.fetch(
        "SELECT key_id, currency, per_transaction_max, per_day_max FROM api_key_spending_limits"
        " WHERE key_id = ANY($1::uuid[])",
        list(key_ids),
    )
    if not rows:
        return []
    limits = {(r["key_id"], r["currency"]): KeyLimit(**dict(r)) for r in rows}
    await conn.execute(
        "SELECT 1 FROM api_keys WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE", list({k for k, _ in limits})
    )
    for r in await conn.fetch(
        "SELECT key_id, currency, sum(amount) AS spent FROM key_spend WHERE key_id = ANY($1::uuid[])"
        " AND created_at > $2::timestamptz - interval '24 hours' GROUP BY key_id, currency",
        list({k for k, _ in limits}),
        now,
    ):
        if (r["key_id"], r["currency"]) in limits:
            limits[(r["key_id"], r["currency"])].spent_24h = r["spent"]
    return list(limits.values())


_READ_WALLETS = (
    "SELECT id, owner_id, kind, handle, external_ref, status, allow_credits, metadata, last_sequence"
    " FROM wallets WHERE id = ANY($1::uuid[]) OR handle = ANY($2::text[]) OR external_ref = ANY($3::text[])"
)
_LOCK_WALLETS = _READ_WALLETS + " ORDER BY id FOR UPDATE"


async def _wallets(conn: asyncpg.Connection, refs: set[str], *, lock: bool) -> list[Wallet]:
    if not refs:
        return []
    parts = [WalletRefParts.parse(r) for r in refs]
    rows = await conn.fetch(
        _LOCK_WALLETS if lock else _READ_WALLETS,
        [p.wallet_id for p in parts if p.wallet_id],
        [p.handle for p in parts if p.handle],
        [p.external_ref for p in parts if p.external_ref],
    )
    return [Wallet(**dict(r)) for r in rows]


_COLUMNS = {
    "payment_intents": "id, merchant_account_id, currency, amount, command_id, description, status, expires_at,"
    " payer_account_id, hold_id, paid_amount, refunded_amount, metadata",
    "holds": "id, account_id, currency, amount, command_id, captured_amount, status, expires_at,"
    " recipient_account_id, intent_id, transaction_id, description, metadata, finished_at",
}


async def _locked(conn: asyncpg.Connection, table: str, ids: set[UUID], cls: type[Any]) -> list[Any]:
    if not ids:
        return []
    sql = f"SELECT {_COLUMNS[table]} FROM {table} WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE"  # noqa: S608
    return [cls(**dict(r)) for r in await conn.fetch(sql, list(ids))]


async def _past(conn: asyncpg.Connection, ids: set[UUID]) -> list[PastTransaction]:
    if not ids:
        return []
    rows = await conn.fetch(
        "SELECT t.id, t.kind, t.currency, t.reverses_id IS NOT NULL AS is_reversal,"
        " EXISTS (SELECT 1 FROM transactions r WHERE r.reverses_id = t.id) AS reversed,"
        " array_agg(p.account_id ORDER BY p.id) AS accounts, array_agg(p.amount ORDER BY p.id) AS amounts"
        " FROM transactions t JOIN postings p ON p.transaction_id = t.id WHERE t.id = ANY($1::uuid[])"
        " GROUP BY t.id",
        list(ids),
    )
    return [
        PastTransaction(
            id=r["id"],
            kind=r["kind"],
            currency=r["currency"] or "",
            postings=tuple(zip(r["accounts"], r["amounts"], strict=True)),
            reversed=r["reversed"],
            is_reversal=r["is_reversal"],
        )
        for r in rows
    ]


async def _accounts(
    conn: asyncpg.Connection, ids: set[UUID], wallet_ids: list[UUID], *, now: datetime, every_window: bool
) -> list[Account]:
    if not ids and not wallet_ids:
        return []
    # ORDER BY id: every batch takes account row locks in the same order, so none deadlock.
    rows = await conn.fetch(
        "SELECT id, wallet_id, currency, kind, balance, held, min_balance, status, allow_credits,"
        " max_per_transaction, daily_debit_amount, daily_debit_count, last_sequence, last_hash FROM accounts"
        " WHERE id = ANY($1::uuid[]) OR wallet_id = ANY($2::uuid[]) ORDER BY id FOR UPDATE",
        list(ids),
        wallet_ids,
    )
    accounts = [Account(**dict(r)) for r in rows]
    limited = {a.id: a for a in accounts if a.has_daily_limits or (every_window and a.kind == "user")}
    if limited:
        # Read under the row locks: no concurrent debit of these accounts can land in between.
        for r in await conn.fetch(
            "SELECT account_id, -sum(amount) AS total, count(*) AS n FROM postings"
            " WHERE account_id = ANY($1::uuid[]) AND amount < 0 AND created_at > $2::timestamptz - interval '24 hours'"
            " GROUP BY account_id",
            list(limited),
            now,
        ):
            limited[r["account_id"]].debited_24h, limited[r["account_id"]].debits_24h = r["total"], r["n"]
    return accounts
