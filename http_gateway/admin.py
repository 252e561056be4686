"""Key administration: create (secret shown once), list, revoke, set limits. Scope ``admin``.

A caller can only hand out what it holds: a new key's scopes must be a subset of the caller's, and
a wallet-bound caller can only create keys bound to its own wallet.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Query

from contracts.keys import CreatedKey, KeyLimits, KeySpec, KeyView, Scope
from http_gateway.auth import Principal, authorize_wallet, require
from http_gateway.deps import PoolDep, SettingsDep
from http_gateway.problems import Problem
from ledger_common import keystore

router = APIRouter(prefix="/admin/keys", tags=["admin"])
Admin = Annotated[Principal, require(Scope.ADMIN)]


@router.post("", status_code=201, response_model=CreatedKey)
async def create_key(spec: KeySpec, pool: PoolDep, settings: SettingsDep, principal: Admin) -> CreatedKey:
    """Create a key. The response's ``secret`` is the bearer token; it is never shown again."""
    beyond = set(spec.scopes) - principal.scopes
    if beyond:
        raise Problem(403, "forbidden", "a key cannot be given scopes its creator lacks", scopes=sorted(beyond))
    if principal.wallet_id is not None:
        authorize_wallet(principal, spec.wallet_id)
    async with pool.acquire() as conn:
        try:
            return await keystore.create_key(
                conn,
                spec,
                principal=principal.name,
                pepper=settings.api_key_pepper.get_secret_value().encode(),
                environment=settings.environment,
            )
        except keystore.WalletNotFound:
            raise Problem(404, "wallet_not_found", f"wallet {spec.wallet_id} does not exist") from None


@router.get("", response_model=list[KeyView])
async def list_keys(pool: PoolDep, principal: Admin, include_revoked: Annotated[bool, Query()] = True) -> list[KeyView]:
    """Every key (never its secret), with its limits and when it was last used (to the minute)."""
    async with pool.acquire() as conn:
        keys = await keystore.list_keys(conn, include_revoked=include_revoked)
    return [k for k in keys if principal.wallet_id is None or k.wallet_id == principal.wallet_id]


@router.delete("/{key_id}", response_model=KeyView)
async def revoke_key(key_id: UUID, pool: PoolDep, principal: Admin) -> KeyView:
    """Revoke a key: every gateway refuses it from its next request on. Revoking twice is harmless."""
    async with pool.acquire() as conn:
        await _own(conn, key_id, principal)
        return await keystore.revoke_key(conn, key_id, principal=principal.name)


@router.put("/{key_id}/limits", response_model=KeyView)
async def set_limits(key_id: UUID, limits: KeyLimits, pool: PoolDep, principal: Admin) -> KeyView:
    """Replace a key's request rate limit and its per-currency spending limits."""
    async with pool.acquire() as conn:
        await _own(conn, key_id, principal)
        return await keystore.set_limits(conn, key_id, limits, principal=principal.name)


async def _own(conn: asyncpg.Connection, key_id: UUID, principal: Principal) -> None:
    """404 for an unknown key; 403 if a wallet-bound admin reaches for another wallet's key."""
    try:
        key = await keystore.get_key(conn, key_id)
    except keystore.KeyNotFound:
        raise Problem(404, "key_not_found", f"key {key_id} does not exist") from None
    if principal.wallet_id is not None:
        authorize_wallet(principal, key.wallet_id)
