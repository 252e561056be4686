"""Key administration: create (secret shown once), list, revoke, set limits. Scope ``admin``.

A key can only hand out what it holds. For a caller that is an API key (the bootstrap ``service``
principal is not bound by this), checked against the caller's key row in the change's transaction:

- a new key's scopes are a subset of the caller's, its rate limit at most the caller's (none only if
  the caller has none), and it starts with the caller's spending limits;
- new limits of another key are at most the caller's: the rate limit, and in every currency where the
  caller has a spending limit, both its per-transaction and its 24-hour maximum (none counts as wider);
- a key cannot change its own limits (403 ``own_limits``); it may revoke itself;
- a wallet-bound caller creates, changes and revokes only keys of its own wallet (403 ``wrong_wallet``).

Anything wider is 403 ``wider_than_caller``, with ``wider`` naming each field that is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from contracts.keys import CreatedKey, KeyLimits, KeySpec, KeyView, Scope
from http_gateway.auth import Principal, require
from http_gateway.deps import KeysDep, PoolDep, SettingsDep
from http_gateway.problems import Problem
from ledger_common import keystore

router = APIRouter(prefix="/admin/keys", tags=["admin"])
Admin = Annotated[Principal, require(Scope.ADMIN)]


@router.post("", operation_id="keys.create", status_code=201, response_model=CreatedKey)
async def create_key(spec: KeySpec, pool: PoolDep, settings: SettingsDep, principal: Admin) -> CreatedKey:
    """Create a key. The response's ``secret`` is the bearer token; it is never shown again.

    A key created by a key has at most its creator's scopes and rate limit, and starts with its
    creator's spending limits (narrow them with ``PUT /v1/admin/keys/{id}/limits``)."""
    async with pool.acquire() as conn:
        with _refusals(None):
            return await keystore.create_key(
                conn,
                spec,
                principal=principal.name,
                pepper=settings.api_key_pepper.get_secret_value().encode(),
                environment=settings.environment,
                caller=principal.key_id,
            )


@router.get("", operation_id="keys.list", response_model=list[KeyView])
async def list_keys(pool: PoolDep, principal: Admin, include_revoked: Annotated[bool, Query()] = True) -> list[KeyView]:
    """Every key (never its secret), with its limits and when it was last used (to the minute)."""
    async with pool.acquire() as conn:
        keys = await keystore.list_keys(conn, include_revoked=include_revoked)
    return [k for k in keys if principal.wallet_id is None or k.wallet_id == principal.wallet_id]


@router.delete("/{key_id}", operation_id="keys.revoke", response_model=KeyView)
async def revoke_key(key_id: UUID, pool: PoolDep, keys: KeysDep, principal: Admin) -> KeyView:
    """Revoke a key (the calling key itself too): its commands are refused from now on, its requests by
    this gateway at once and by the others when notified (milliseconds). Revoking twice is harmless."""
    async with pool.acquire() as conn:
        with _refusals(key_id):
            view = await keystore.revoke_key(conn, key_id, principal=principal.name, caller=principal.key_id)
    keys.forget(key_id)
    return view


@router.put("/{key_id}/limits", operation_id="keys.set_limits", response_model=KeyView)
async def set_limits(key_id: UUID, limits: KeyLimits, pool: PoolDep, keys: KeysDep, principal: Admin) -> KeyView:
    """Replace a key's request rate limit and its per-currency spending limits, within the caller's
    own; a key cannot change its own."""
    async with pool.acquire() as conn:
        with _refusals(key_id):
            view = await keystore.set_limits(conn, key_id, limits, principal=principal.name, caller=principal.key_id)
    keys.forget(key_id)
    return view


@contextmanager
def _refusals(key_id: UUID | None) -> Iterator[None]:
    """The keystore's refusals as problem documents: 404 for an unknown key or wallet, 401 for a caller
    revoked since it was authenticated, 403 for the rest."""
    try:
        yield
    except keystore.KeyNotFound:
        raise Problem(404, "key_not_found", f"key {key_id} does not exist") from None
    except keystore.WalletNotFound as exc:
        raise Problem(404, "wallet_not_found", f"wallet {exc} does not exist") from None
    except keystore.Refused as exc:
        status = 401 if isinstance(exc, keystore.CallerRevoked) else 403
        raise Problem(status, exc.code, exc.detail, **exc.extra) from None
