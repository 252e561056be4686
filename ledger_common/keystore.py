"""API key administration, shared by the admin API and ``ledger keys``.

Every change is written with its audit row and its ``key.*`` outbox event in one transaction, so the
audit trail, the event stream and the keys never disagree. No secret or hash leaves this module
except the new token returned once by ``create_key``.

A key never hands out more than it holds. When the change is asked for by an API key (``caller``; the
bootstrap ``service`` principal and the CLI pass none and are not bound by this), the caller's own row
is read in the change's transaction under a row lock, and the change is refused if the key it creates
or changes would be wider than the caller: scopes it lacks, another wallet than its own, a higher (or
no) rate limit where it has one, a higher (or no) spending limit in a currency where it has one. A key
may not change its own limits; it may revoke itself (revoking only narrows). Every change of a key's
limits or revocation updates its ``api_keys`` row first, so the caller's ``FOR SHARE`` lock waits for,
and then sees, any concurrent change of the caller.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from contracts.errors import NotFound, Rejected
from contracts.keys import (
    CreatedKey,
    KeyEvent,
    KeyEventType,
    KeyLimits,
    KeySpec,
    KeyView,
    RateLimit,
    Scope,
    SpendingLimit,
)
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


class Refused(Rejected):
    """The calling key may not make this change; ``extra`` says what exactly (for the problem document)."""

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail, self.extra = detail, extra


class WiderThanCaller(Refused):
    """The key created or changed would be wider than the caller (``extra["wider"]`` names the fields)."""

    code = "wider_than_caller"


class OwnLimits(Refused):
    """A key asked to change its own limits."""

    code = "own_limits"


class WrongWallet(Refused):
    """A wallet-bound key reached for a key of another wallet (or for a key bound to none)."""

    code = "wrong_wallet"


class CallerRevoked(Refused):
    """The calling key was revoked after it was authenticated, by a change that committed first."""

    code = "unauthorized"


async def create_key(
    conn: asyncpg.Connection,
    spec: KeySpec,
    *,
    principal: str,
    pepper: bytes,
    environment: str,
    caller: UUID | None = None,
) -> CreatedKey:
    """Create a key; the returned ``secret`` is the only copy of the token anywhere.

    With a ``caller`` key, the new key's scopes, wallet and rate limit must be within the caller's, and
    it starts with the caller's spending limits (a ``KeySpec`` carries none, and a key without them
    would be wider); ``set_limits`` may narrow them afterwards."""
    key_id, parsed = uuid4(), new_key(environment)
    rate = spec.rate_limit
    async with conn.transaction():
        inherited: tuple[SpendingLimit, ...] = ()
        if caller is not None:
            me = await _caller(conn, (await _lock(conn, share=caller)).get(caller), limits=True)
            _same_wallet(me, spec.wallet_id)
            _not_wider(me, "the new key", scopes=spec.scopes, rate=rate, spending=me.spending_limits)
            inherited = me.spending_limits
        if spec.wallet_id is not None and not await conn.fetchval(
            "SELECT 1 FROM wallets WHERE id = $1", spec.wallet_id
        ):
            raise WalletNotFound(spec.wallet_id)
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
        await _insert_spending(conn, key_id, inherited)
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


async def revoke_key(conn: asyncpg.Connection, key_id: UUID, *, principal: str, caller: UUID | None = None) -> KeyView:
    """Revoke at once (every gateway checks on every request); revoking twice changes nothing.

    A ``caller`` key may revoke itself or any key of its wallet (any key if it is bound to none)."""
    async with conn.transaction():
        if caller is not None:
            rows = await _lock(conn, share=caller, update=key_id)
            if key_id not in rows:
                raise KeyNotFound(key_id)
            me = await _caller(conn, rows.get(caller), limits=False)
            _same_wallet(me, rows[key_id]["wallet_id"])
        revoked = await conn.fetchval(
            "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING true", key_id
        )
        if not revoked:
            return await get_key(conn, key_id)
        await conn.execute("DELETE FROM api_key_buckets WHERE key_id = $1", key_id)
        return await _record(conn, key_id, "key.revoked", principal)


async def set_limits(
    conn: asyncpg.Connection, key_id: UUID, limits: KeyLimits, *, principal: str, caller: UUID | None = None
) -> KeyView:
    """Replace every limit of a key (rate limit and spending limits) at once.

    A ``caller`` key may not change its own limits, and the new ones must be within its own."""
    rate = limits.rate_limit
    async with conn.transaction():
        if caller is not None:
            if caller == key_id:
                raise OwnLimits("a key cannot change its own limits")
            rows = await _lock(conn, share=caller, update=key_id)
            if key_id not in rows:
                raise KeyNotFound(key_id)
            me = await _caller(conn, rows.get(caller), limits=True)
            _same_wallet(me, rows[key_id]["wallet_id"])
            _not_wider(me, "the key's new limits", rate=rate, spending=limits.spending_limits)
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
        await _insert_spending(conn, key_id, limits.spending_limits)
        return await _record(conn, key_id, "key.limits_changed", principal)


def wider(
    caller: KeyView,
    *,
    scopes: Iterable[Scope] = (),
    rate: RateLimit | None,
    spending: Sequence[SpendingLimit],
) -> list[tuple[str, str]]:
    """What of ``scopes``, ``rate`` and ``spending`` would be wider than ``caller``'s own, as (field, why)
    pairs; empty when none is. A limit the caller has is a bound: the same limit missing is wider. A
    limit the caller lacks bounds nothing (a caller without a rate limit may give any rate)."""
    out: list[tuple[str, str]] = []
    beyond = sorted(set(scopes) - set(caller.scopes))
    if beyond:
        out.append(("scopes", f"scopes {', '.join(beyond)} that this key lacks"))
    mine = caller.rate_limit
    if mine is not None:
        if rate is None:
            out.append(("rate_limit", f"no rate limit (this key: {mine.per_second:g}/s, burst {mine.burst})"))
        else:
            if rate.per_second > mine.per_second:
                out.append(("rate_limit.per_second", f"rate {rate.per_second:g}/s > {mine.per_second:g}/s"))
            if rate.burst > mine.burst:
                out.append(("rate_limit.burst", f"burst {rate.burst} > {mine.burst}"))
    given = {s.currency: s for s in spending}
    for bound in caller.spending_limits:
        new = given.get(bound.currency)
        for part in ("per_transaction_max", "per_day_max"):
            limit, value = getattr(bound, part), getattr(new, part) if new is not None else None
            field = f"spending_limits.{bound.currency}.{part}"
            if limit is not None and value is None:
                out.append((field, f"no {bound.currency} {part} (this key: {limit})"))
            elif limit is not None and value > limit:
                out.append((field, f"{bound.currency} {part} {value} > {limit}"))
    return out


def _not_wider(
    caller: KeyView,
    what: str,
    *,
    scopes: Iterable[Scope] = (),
    rate: RateLimit | None,
    spending: Sequence[SpendingLimit],
) -> None:
    scopes = tuple(scopes)
    found = wider(caller, scopes=scopes, rate=rate, spending=spending)
    if not found:
        return
    extra: dict[str, Any] = {"wider": [field for field, _ in found]}
    if any(field == "scopes" for field, _ in found):
        extra["scopes"] = sorted(set(scopes) - set(caller.scopes))
    raise WiderThanCaller(f"{what} would be wider than this key: {'; '.join(why for _, why in found)}", **extra)


def _same_wallet(caller: KeyView, wallet_id: UUID | None) -> None:
    if caller.wallet_id is not None and wallet_id != caller.wallet_id:
        raise WrongWallet("this key is bound to another wallet")


async def _lock(conn: asyncpg.Connection, *, share: UUID, update: UUID | None = None) -> dict[UUID, asyncpg.Record]:
    """Lock the caller's row ``FOR SHARE`` (it stays as it is until we commit) and the changed key's
    ``FOR NO KEY UPDATE`` (what its UPDATE takes anyway; the caller's own, if it is the changed key),
    in id order, the worker's order for keys too, so two changes never wait on each other crosswise."""
    modes = {share: "FOR SHARE"}
    if update is not None:
        modes[update] = "FOR NO KEY UPDATE"
    rows: dict[UUID, asyncpg.Record] = {}
    for key_id in sorted(modes):
        sql = f"SELECT {_COLUMNS} FROM api_keys WHERE id = $1 {modes[key_id]}"  # noqa: S608 - constant
        row = await conn.fetchrow(sql, key_id)
        if row is not None:
            rows[key_id] = row
    return rows


async def _caller(conn: asyncpg.Connection, row: asyncpg.Record | None, *, limits: bool) -> KeyView:
    """The calling key as it is now (locked), with its spending limits if ``limits``; refused if it
    has been revoked since it was authenticated."""
    if row is None or row["revoked_at"] is not None:
        raise CallerRevoked("this key has been revoked")
    spending = (await _spending_limits(conn, [row["id"]])).get(row["id"], ()) if limits else ()
    return _view(row, spending)


async def _insert_spending(conn: asyncpg.Connection, key_id: UUID, limits: Sequence[SpendingLimit]) -> None:
    await conn.executemany(
        "INSERT INTO api_key_spending_limits (key_id, currency, per_transaction_max, per_day_max)"
        " VALUES ($1, $2, $3, $4)",
        [(key_id, s.currency, s.per_transaction_max, s.per_day_max) for s in limits],
    )


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
