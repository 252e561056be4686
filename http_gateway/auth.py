"""Who is asking, and may they: the ``Principal`` of a request and the scope and wallet checks.

One dependency (``authenticate``) resolves the bearer token to a ``Principal``: from the gateway's
key cache, which PostgreSQL's notifications keep current (http_gateway/keycache.py), or else in one
database round trip that also takes a rate-limit token. Each route declares the one scope it needs
with ``require(Scope.X)``; ``create_app`` refuses to start if a ``/v1`` route declares none.
"""

from __future__ import annotations

import hmac
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends, params
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.routing import BaseRoute

from contracts.base import Party
from contracts.ids import SYSTEM_ROLES, system_wallet_id
from contracts.keys import ALL_SCOPES, Scope
from http_gateway import lookup
from http_gateway.deps import KeysDep, PoolDep, SettingsDep
from http_gateway.keycache import CachedKey, KeyCache
from http_gateway.problems import Problem
from ledger_common.apikeys import hash_secret, parse_token
from ledger_common.logs import PRINCIPAL

log = logging.getLogger("http_gateway.auth")

SERVICE = "service"
_SYSTEM_WALLETS: set[UUID | None] = {system_wallet_id(role) for role in SYSTEM_ROLES}

# One statement: find the key by its public id, touch last_used_at at most once a minute, and take a
# token from its bucket, only if the secret's hash matches (a guessed public id must not drain the
# bucket of the real key). Python then compares the hash again in constant time: that is the check.
_AUTHENTICATE = """
WITH k AS (
    SELECT id, prefix, secret_hash, scopes, wallet_id, revoked_at, rate_per_second, rate_burst
      FROM api_keys WHERE public_id = $1
), valid AS (
    SELECT id FROM k WHERE secret_hash = $2 AND revoked_at IS NULL
), touched AS (
    UPDATE api_keys SET last_used_at = clock_timestamp()
     WHERE id = (SELECT id FROM valid)
       AND (last_used_at IS NULL OR last_used_at < clock_timestamp() - interval '60 seconds')
)
SELECT k.id, k.prefix, k.secret_hash, k.scopes, k.wallet_id, k.revoked_at, k.rate_per_second, k.rate_burst,
       CASE WHEN k.rate_per_second IS NOT NULL AND k.id IN (SELECT id FROM valid)
            THEN ledger_take_token(k.id, greatest(k.rate_per_second, $3), k.rate_burst) END AS retry_after
  FROM k
"""
#: The least rate ``ledger_take_token`` is given. A smaller one (a key may be given any rate above 0)
#: made its double precision arithmetic fail, the refill underflowing or the wait overflowing: a 500 on
#: every request of the key. At this rate not one token comes back in 10^280 years, so for every key
#: it changes nothing but that.
MIN_RATE = 1e-300
#: The longest ``Retry-After`` a 429 names (a day), however far off the next token is.
MAX_RETRY_AFTER = 86_400


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: an API key (with its scopes and optional wallet) or the bootstrap ``service``."""

    key_id: UUID | None
    scopes: frozenset[Scope]
    wallet_id: UUID | None = None

    @property
    def name(self) -> str:
        """What commands and audit rows record as who asked: ``key:<id>`` or ``service``."""
        return f"key:{self.key_id}" if self.key_id is not None else SERVICE


SERVICE_PRINCIPAL = Principal(key_id=None, scopes=ALL_SCOPES)
_UNAUTHORIZED = "a valid bearer token is required"


#: Declares the bearer scheme in OpenAPI; a missing token is answered by us, as a problem document.
_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <API key or SERVICE_API_KEY>`")


async def authenticate(
    settings: SettingsDep,
    pool: PoolDep,
    keys: KeysDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Resolve ``Authorization: Bearer <token>``: 401 if missing, unknown or revoked; 429 if over its rate."""
    token = credentials.credentials.strip() if credentials is not None else ""
    if not token:
        raise Problem(401, "unauthorized", _UNAUTHORIZED)
    service_key = settings.service_api_key.get_secret_value()
    if hmac.compare_digest(token.encode(), service_key.encode()):
        PRINCIPAL.set(SERVICE_PRINCIPAL.name)  # this request's log lines say who (JSON logs)
        return SERVICE_PRINCIPAL
    parsed = parse_token(token)
    if parsed is None:
        raise Problem(401, "unauthorized", _UNAUTHORIZED)
    digest = hash_secret(settings.api_key_pepper.get_secret_value().encode(), parsed)
    if keys.unknown(parsed.public_id):
        raise Problem(401, "unauthorized", _UNAUTHORIZED)  # found in no key row a moment ago
    key = keys.get(parsed.public_id)
    if key is None:
        key, retry_after = await _from_database(pool, keys, parsed.public_id, digest)
    else:
        retry_after = None  # the token is taken below, once the key is known to be valid
    if key is None or not hmac.compare_digest(key.secret_hash, digest) or key.prefix != parsed.prefix:
        log.info("refused API key %s: unknown key or wrong secret", parsed.prefix)  # the prefix is public
        raise Problem(401, "unauthorized", _UNAUTHORIZED)
    if key.revoked:
        log.info("refused API key %s (%s): revoked", parsed.prefix, key.id)
        raise Problem(401, "unauthorized", _UNAUTHORIZED)
    if retry_after is None:
        retry_after = await key.take(pool, MIN_RATE)
        keys.touch(pool, key)
    if retry_after:
        wait = max(1, math.ceil(min(retry_after, MAX_RETRY_AFTER)))
        log.info("rate limited API key %s (%s) for %d s", parsed.prefix, key.id, wait)
        raise Problem(429, "rate_limited", "this key's request rate is exceeded", headers={"Retry-After": str(wait)})
    log.debug("authenticated API key %s (%s)", parsed.prefix, key.id)
    principal = Principal(key_id=key.id, scopes=key.scopes, wallet_id=key.wallet_id)
    PRINCIPAL.set(principal.name)
    return principal


async def _from_database(
    pool: PoolDep, keys: KeyCache, public_id: str, digest: bytes
) -> tuple[CachedKey | None, float | None]:
    """The key (cached for the next requests) and, if it is valid and limited, the wait for its token (0: taken)."""
    epoch = keys.epoch
    row = await pool.fetchrow(_AUTHENTICATE, public_id, digest, MIN_RATE)
    if row is None:
        keys.put_unknown(public_id, epoch=epoch)
        return None, None
    key = CachedKey(
        id=row["id"],
        prefix=row["prefix"],
        secret_hash=row["secret_hash"],
        scopes=frozenset(Scope(s) for s in row["scopes"]),
        wallet_id=row["wallet_id"],
        revoked=row["revoked_at"] is not None,
        rate_per_second=row["rate_per_second"],
        rate_burst=row["rate_burst"],
    )
    keys.put(public_id, key, epoch=epoch)
    return key, row["retry_after"] or 0.0


Authenticated = Annotated[Principal, Depends(authenticate)]


def require(scope: Scope) -> params.Depends:
    """The dependency a route declares: ``principal: Annotated[Principal, require(Scope.TRANSFER)]``
    or ``dependencies=[require(Scope.READ)]``. 403 when the key lacks ``scope``."""

    async def check(principal: Authenticated) -> Principal:
        if scope not in principal.scopes:
            raise Problem(403, "forbidden", f"this key lacks the {scope.value!r} scope", required_scope=scope.value)
        return principal

    check.required_scope = scope  # type: ignore[attr-defined]  # read by required_scope()
    dependency: params.Depends = Depends(check)
    return dependency


def required_scope(route: APIRoute) -> Scope | None:
    """The scope a route declared with ``require``, or None if it declared none."""
    pending = list(route.dependant.dependencies)
    while pending:
        dep = pending.pop()
        scope = getattr(dep.call, "required_scope", None)
        if isinstance(scope, Scope):
            return scope
        pending.extend(dep.dependencies)
    return None


def endpoints(routes: Sequence[BaseRoute]) -> list[tuple[str, str, Scope | None]]:
    """Every (method, full path, required scope) of an app, through included routers
    (``app.routes`` alone holds included routers as single entries)."""
    out: list[tuple[str, str, Scope | None]] = []
    for ctx in iter_route_contexts(routes):
        route = ctx.original_route
        if isinstance(route, APIRoute):
            out.extend((m, ctx.path or route.path, required_scope(route)) for m in sorted(ctx.methods or ()))
    return out


def check_every_route_declares_a_scope(routes: Sequence[BaseRoute], *, prefix: str = "/v1") -> None:
    """Refuse to start an app with an endpoint under ``prefix`` that forgot its ``require``."""
    found = endpoints(routes)
    missing = [f"{m} {p}" for m, p, scope in found if p.startswith(prefix) and scope is None]
    if missing:
        raise RuntimeError(f"routes without a required scope: {', '.join(missing)}")
    if not any(p.startswith(prefix) for _, p, _ in found):
        raise RuntimeError(f"no routes under {prefix}: the check would prove nothing")


def authorize_wallet(principal: Principal, wallet_id: UUID | None) -> None:
    """403 unless ``principal`` may act on ``wallet_id`` (service keys may act on any wallet)."""
    if principal.wallet_id is not None and wallet_id != principal.wallet_id:
        raise Problem(403, "wrong_wallet", "this key is bound to another wallet")


def authorize_any(principal: Principal, wallet_ids: Iterable[UUID | None]) -> None:
    """403 unless ``principal`` may act on at least one of ``wallet_ids`` (e.g. the merchant or the payer)."""
    if principal.wallet_id is not None and principal.wallet_id not in set(wallet_ids):
        raise Problem(403, "wrong_wallet", "this key is bound to another wallet")


def require_unbound(principal: Principal) -> None:
    """403 for a wallet-bound key: the route acts across wallets (wallet lifecycle, limits, currencies,
    reversals), which only service keys may do."""
    if principal.wallet_id is not None:
        raise Problem(403, "wrong_wallet", "only a key not bound to a wallet may do this")


async def _unbound(principal: Authenticated) -> None:
    require_unbound(principal)


#: A route dependency: the caller's key is bound to no wallet (else 403 ``wrong_wallet``).
UNBOUND = Depends(_unbound)


def require_bound(principal: Principal) -> UUID:
    """The wallet of a wallet-bound key; 403 ``wallet_key_required`` for a service key."""
    if principal.wallet_id is None:
        raise Problem(403, "wallet_key_required", "/wallets/me needs a key bound to a wallet; use /wallets/{wallet}")
    return principal.wallet_id


async def authorize_accounts(
    pool: PoolDep, principal: Principal, account_ids: Iterable[UUID | None], *, any_of: bool = False
) -> None:
    """403 unless ``principal`` may act on these accounts: all of them (a write's source account), or
    with ``any_of`` at least one (reading a transaction or command that touched the key's wallet).
    An account that does not exist belongs to no wallet: a bound key gets 403, never a hint it is missing."""
    parties = [Party(account_id=a, wallet=None) for a in account_ids if a is not None]
    await authorize_parties(pool, principal, parties, any_of=any_of)


async def authorize_parties(
    pool: PoolDep,
    principal: Principal,
    parties: Iterable[Party | None],
    *,
    any_of: bool = False,
    treasury_side: bool = False,
) -> None:
    """403 unless every party (an account id or a wallet reference), or with ``any_of`` at least one,
    is in the key's wallet. Service keys may act on any. ``treasury_side``: a side the capability table
    lets a ``treasury`` key fill with a system account (the debit side of a transfer or of legs); reads
    never pass it, so treasury lets no key read the system accounts."""
    if principal.wallet_id is None:
        return
    named = [p for p in parties if p is not None]
    accounts = [p.account_id for p in named if p.account_id is not None]
    refs = [p.wallet for p in named if p.wallet is not None]
    found = await lookup.owners(pool, accounts=accounts, wallets=refs)
    # A system account may stand where the table allows it for `treasury` keys; the worker decides.
    treasury = treasury_side and Scope.TREASURY in principal.scopes
    allowed = {principal.wallet_id} | (_SYSTEM_WALLETS if treasury else set())
    mine = [found.get(k) in allowed for k in [str(a) for a in accounts] + [lookup.wallet_ref_key(r) for r in refs]]
    if not mine or not (any(mine) if any_of else all(mine)):
        raise Problem(403, "wrong_wallet", "this key is bound to another wallet")
