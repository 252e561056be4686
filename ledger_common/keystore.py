"""API key administration, shared by the admin API and ``ledger keys``.

Every change is written with its audit row and its ``key.*`` outbox event in one transaction, so the
audit trail, the event stream and the keys never disagree. No secret or hash leaves this module
except the new token returned once by ``create_key``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import UUID, uuid4

import asyncpg

from contracts.errors import NotFound
from contracts.keys import CreatedKey, KeyEvent, KeyEventType, KeyLimits, KeySpec, KeyView, RateLimit, SpendingLimit
from ledger_common.apikeys import hash_secret, new_key, token_of
from ledger_common.outbox import EventRow, partition_of, write_events

_COLUMNS = (
    "id, name, prefix, scopes, wallet_id, created_at, created_by, revoked_at, last_used_at, rate_per_second, rate_burst"
)


class KeyNotFound(NotFound):
    """No key has this id."""

    code = "key_not_found"


class WalletNotFound(NotFound):
    """A key was to be bound to a wallet that does not exist."""

    code = "wallet_not_found"


async def create_key(
    conn: asyncpg.Connection, spec: KeySpec, *, principal: str, pepper: bytes, environment: str
) -> CreatedKey:
    """Create a key; the returned ``secret`` is the only copy of the token anywhere."""
    key_id, parsed = uuid4(), new_key(environment)
    rate = spec.rate_limit
    if spec.wallet_id is not None and not await conn.fetchval("SELECT 1 FROM wallets WHERE id = $1", spec.wallet_id):
        raise WalletNotFound(spec.wallet_id)
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO api_keys (id, name, prefix, public_id, secret_hash, scopes, wallet_id,"
            " rate_per_second, rate_burst, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            key_id,
            spec.name,
            parsed.prefix,
            parsed.public_id,
            hash_secret(pepper, parsed),
            [s.value for s in spec.scopes],
            spec.wallet_id,
            rate.per_second if rate else None,
            rate.burst if rate else None,
            principal,
        )
        view = await _record(conn, key_id, "key.created", principal)
    return CreatedKey(**view.model_dump(), secret=token_of(parsed))


async def list_keys(conn: asyncpg.Connection, *, include_revoked: bool = True) -> list[KeyView]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM api_keys WHERE $1 OR revoked_at IS NULL ORDER BY created_at, id",  # noqa: S608 - constant
        include_revoked,
    )
    limits = await _spending_limits(conn, [r["id"] for r in rows])
    return [_view(r, limits.get(r["id"], ())) for r in rows]


async def get_key(conn: asyncpg.Connection, key_id: UUID) -> KeyView:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM api_keys WHERE id = $1", key_id)  # noqa: S608 - constant
    if row is None:
        raise KeyNotFound(key_id)
    return _view(row, (await _spending_limits(conn, [key_id])).get(key_id, ()))


async def revoke_key(conn: asyncpg.Connection, key_id: UUID, *, principal: str) -> KeyView:
    """Revoke at once (every gateway checks on every request); revoking twice changes nothing."""
    async with conn.transaction():
        revoked = await conn.fetchval(
            "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING true", key_id
        )
        if not revoked:
            return await get_key(conn, key_id)
        await conn.execute("DELETE FROM api_key_buckets WHERE key_id = $1", key_id)
        return await _record(conn, key_id, "key.revoked", principal)


async def set_limits(conn: asyncpg.Connection, key_id: UUID, limits: KeyLimits, *, principal: str) -> KeyView:
    """Replace every limit of a key (rate limit and spending limits) at once."""
    rate = limits.rate_limit
    async with conn.transaction():
        found = await conn.fetchval(
            "UPDATE api_keys SET rate_per_second = $2, rate_burst = $3 WHERE id = $1 RETURNING true",
            key_id,
            rate.per_second if rate else None,
            rate.burst if rate else None,
        )
        if not found:
            raise KeyNotFound(key_id)
        # A new rate applies from a full bucket rather than from the old rate's state.
        await conn.execute("DELETE FROM api_key_buckets WHERE key_id = $1", key_id)
        await conn.execute("DELETE FROM api_key_spending_limits WHERE key_id = $1", key_id)
        await conn.executemany(
            "INSERT INTO api_key_spending_limits (key_id, currency, per_transaction_max, per_day_max)"
            " VALUES ($1, $2, $3, $4)",
            [(key_id, s.currency, s.per_transaction_max, s.per_day_max) for s in limits.spending_limits],
        )
        return await _record(conn, key_id, "key.limits_changed", principal)


async def _record(conn: asyncpg.Connection, key_id: UUID, action: KeyEventType, principal: str) -> KeyView:
    """The audit row and the outbox event for a change, in the caller's transaction."""
    view = await get_key(conn, key_id)
    event = KeyEvent(event_id=uuid4(), type=action, occurred_at=datetime.now(UTC), principal=principal, key=view)
    audit_id = await conn.fetchval(
        "INSERT INTO admin_audit (principal, action, key_id, details) VALUES ($1, $2, $3, $4) RETURNING id",
        principal,
        action,
        key_id,
        json.loads(view.model_dump_json()),
    )
    body = event.model_dump_json().encode()
    row = EventRow(event.event_id, action, f"admin:{audit_id}", None, None, None, partition_of(key_id), body)
    await write_events(conn, [row], occurred_at=event.occurred_at)
    return view


async def _spending_limits(conn: asyncpg.Connection, key_ids: list[UUID]) -> dict[UUID, tuple[SpendingLimit, ...]]:
    rows = await conn.fetch(
        "SELECT key_id, currency, per_transaction_max, per_day_max FROM api_key_spending_limits"
        " WHERE key_id = ANY($1::uuid[]) ORDER BY key_id, currency",
        key_ids,
    )
    out: dict[UUID, tuple[SpendingLimit, ...]] = {}
    for r in rows:
        limit = SpendingLimit(
            currency=r["currency"], per_transaction_max=r["per_transaction_max"], per_day_max=r["per_day_max"]
        )
        out[r["key_id"]] = (*out.get(r["key_id"], ()), limit)
    return out


def _view(row: asyncpg.Record, spending: tuple[SpendingLimit, ...]) -> KeyView:
    rate = None
    if row["rate_per_second"] is not None:
        rate = RateLimit(per_second=row["rate_per_second"], burst=row["rate_burst"])
    fields = {k: row[k] for k in ("id", "name", "prefix", "wallet_id", "created_at", "created_by")}
    return KeyView(
        **fields,
        scopes=tuple(row["scopes"]),
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_at"],
        rate_limit=rate,
        spending_limits=spending,
    )
