"""Reads the gateway needs before it can authorise or build a command: who owns what, one query each."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import asyncpg

from contracts.base import WalletRefParts

WALLET_COLUMNS = (
    "id, owner_id, kind, handle, external_ref, status, allow_credits, metadata, created_at, updated_at, last_sequence"
)

ACCOUNT_COLUMNS = (
    "id, wallet_id, currency, kind, status, allow_credits, balance, held, min_balance, max_per_transaction,"
    " daily_debit_amount, daily_debit_count, created_at, updated_at"
)


def wallet_ref_key(ref: str) -> str:
    """One spelling per wallet reference: ids in lower case, handles and external refs as written."""
    parts = WalletRefParts.parse(ref)
    return str(parts.wallet_id) if parts.wallet_id is not None else ref


async def find_wallet(db: asyncpg.Pool | asyncpg.Connection, ref: str) -> asyncpg.Record | None:
    """The wallet a :data:`contracts.base.WalletRef` names, or None."""
    parts = WalletRefParts.parse(ref)
    return await db.fetchrow(
        f"SELECT {WALLET_COLUMNS} FROM wallets WHERE id = $1 OR handle = $2 OR external_ref = $3",  # noqa: S608
        parts.wallet_id,
        parts.handle,
        parts.external_ref,
    )


async def owners(pool: asyncpg.Pool, *, accounts: Iterable[UUID] = (), wallets: Iterable[str] = ()) -> dict[str, UUID]:
    """The wallet id behind each account id (keyed ``str(id)``) and each wallet reference (keyed by
    :func:`wallet_ref_key`) that exists, in one round trip."""
    account_ids = list(set(accounts))
    parts = [WalletRefParts.parse(r) for r in set(wallets)]
    if not account_ids and not parts:
        return {}
    rows = await pool.fetch(
        "SELECT id::text AS ref, wallet_id FROM accounts WHERE id = ANY($1::uuid[])"
        " UNION ALL SELECT id::text, id FROM wallets WHERE id = ANY($2::uuid[])"
        " UNION ALL SELECT '@' || handle, id FROM wallets WHERE handle = ANY($3::text[])"
        " UNION ALL SELECT 'ext:' || external_ref, id FROM wallets WHERE external_ref = ANY($4::text[])",
        account_ids,
        [p.wallet_id for p in parts if p.wallet_id is not None],
        [p.handle for p in parts if p.handle is not None],
        [p.external_ref for p in parts if p.external_ref is not None],
    )
    return {r["ref"]: r["wallet_id"] for r in rows}


async def accounts_of(pool: asyncpg.Pool, party: str) -> list[UUID]:
    """The accounts an account id or a wallet reference stands for (none if it names nothing)."""
    parts = WalletRefParts.parse(party)
    rows = await pool.fetch(
        "SELECT a.id FROM accounts a JOIN wallets w ON w.id = a.wallet_id"
        " WHERE a.id = $1 OR w.id = $1 OR w.handle = $2 OR w.external_ref = $3",
        parts.wallet_id,
        parts.handle,
        parts.external_ref,
    )
    return [r["id"] for r in rows]


async def hold(pool: asyncpg.Pool, hold_id: UUID) -> asyncpg.Record | None:
    """A hold with the wallets of its account and of its recipient."""
    return await pool.fetchrow(
        "SELECT h.id, h.account_id, a.wallet_id, h.currency, h.amount, h.captured_amount, h.status, h.expires_at,"
        " h.recipient_account_id, r.wallet_id AS recipient_wallet_id, h.intent_id, h.transaction_id, h.description,"
        " h.metadata, h.created_at, h.finished_at FROM holds h JOIN accounts a ON a.id = h.account_id"
        " LEFT JOIN accounts r ON r.id = h.recipient_account_id WHERE h.id = $1",
        hold_id,
    )


async def intent(pool: asyncpg.Pool, intent_id: UUID) -> asyncpg.Record | None:
    """A payment intent with the wallets of its merchant and of its payer."""
    return await pool.fetchrow(
        "SELECT i.id, i.merchant_account_id, m.wallet_id AS merchant_wallet_id, i.currency, i.amount, i.description,"
        " i.status, i.expires_at, i.payer_account_id, p.wallet_id AS payer_wallet_id, i.hold_id, i.paid_amount,"
        " i.refunded_amount, i.metadata, i.created_at, i.updated_at FROM payment_intents i"
        " JOIN accounts m ON m.id = i.merchant_account_id LEFT JOIN accounts p ON p.id = i.payer_account_id"
        " WHERE i.id = $1",
        intent_id,
    )


async def account(pool: asyncpg.Pool, account_id: UUID) -> asyncpg.Record | None:
    return await pool.fetchrow(f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1", account_id)  # noqa: S608
