"""A key never widens its own limits nor makes a key wider than itself, on the real gateway and database.

An ``admin`` key with a rate limit and a USD spending limit: it cannot change its own limits
(``own_limits``); what it creates or changes has at most its scopes and rate limit and, in USD, at
most its per-transaction and 24-hour maxima (none counts as wider: ``wider_than_caller``, with
``wider`` naming each field); bound to a wallet, it reaches only that wallet's keys (``wrong_wallet``).
The check reads the caller's row in the change's transaction: a change of the caller that commits
while the request waits on it is the one the request is judged by. The ``service`` principal is not
bound by any of this. Nothing refused is written.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest

from contracts.keys import KeyLimits, SpendingLimit
from ledger_cli.processes import Processes
from ledger_common import keystore
from tests.e2e.access import bearer, idem, make_key
from tests.e2e.api import Wallet, new_wallet

pytestmark = pytest.mark.e2e

RATE = {"per_second": 50.0, "burst": 100}  # ample for the tests' own requests
USD = {"currency": "USD", "per_transaction_max": 500, "per_day_max": 2000}
LIMITS = {"rate_limit": RATE, "spending_limits": [USD]}


async def _limited_admin(
    client: httpx.AsyncClient, wallet: Wallet | None, scopes: tuple[str, ...] = ("admin", "read", "transfer")
) -> dict[str, Any]:
    """An admin key (made by the service) with ``RATE`` and the ``USD`` spending limit."""
    key = await make_key(client, list(scopes), wallet_id=wallet.id if wallet else None, name="limited admin")
    r = await client.put(f"/v1/admin/keys/{key['id']}/limits", json=LIMITS)
    assert r.status_code == 200, r.text
    return key


@pytest.fixture
async def bare(system: Processes) -> AsyncIterator[httpx.AsyncClient]:
    """A client with no credentials of its own: each request names its key."""
    async with httpx.AsyncClient(base_url=system.base_url, timeout=30) as c:
        yield c


def _problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert (r.status_code, r.headers["content-type"]) == (status, "application/problem+json"), r.text
    doc: dict[str, Any] = r.json()
    assert doc["code"] == code, doc
    return doc


async def _wider(r: httpx.Response, *fields: str) -> dict[str, Any]:
    doc = _problem(r, 403, "wider_than_caller")
    assert doc["wider"] == list(fields), doc
    assert "wider than this key" in doc["detail"], doc
    return doc


async def _written(pool: asyncpg.Pool) -> tuple[int, int, int]:
    return (
        await pool.fetchval("SELECT count(*) FROM api_keys"),
        await pool.fetchval("SELECT count(*) FROM admin_audit"),
        await pool.fetchval("SELECT count(*) FROM api_key_spending_limits"),
    )


async def _view(client: httpx.AsyncClient, key_id: str) -> dict[str, Any]:
    r = await client.get("/v1/admin/keys")
    assert r.status_code == 200, r.text
    found: dict[str, Any] = next(k for k in r.json() if k["id"] == key_id)
    return found


async def test_a_key_cannot_change_its_own_limits(
    client: httpx.AsyncClient, bare: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    admin = await _limited_admin(client, await new_wallet(client))
    as_admin = bearer(admin["secret"])
    before = await _written(pool)
    lifts: list[dict[str, Any]] = [
        {"rate_limit": None, "spending_limits": []},  # lifting them
        {"rate_limit": {"per_second": 1000.0, "burst": 1000}, "spending_limits": [USD]},
        {"rate_limit": {"per_second": 1.0, "burst": 1}, "spending_limits": [USD]},  # even narrowing them
    ]
    for limits in lifts:
        r = await bare.put(f"/v1/admin/keys/{admin['id']}/limits", json=limits, headers=as_admin)
        assert "its own limits" in _problem(r, 403, "own_limits")["detail"]
    assert await _written(pool) == before
    mine = await _view(client, admin["id"])
    assert (mine["rate_limit"], mine["spending_limits"]) == (RATE, [USD])
    # The service may change them (it is not an API key).
    r = await client.put(f"/v1/admin/keys/{admin['id']}/limits", json={"rate_limit": None, "spending_limits": []})
    assert r.status_code == 200, r.text


async def test_a_new_key_is_never_wider_than_its_creator(
    client: httpx.AsyncClient, bare: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    wallet, other = await new_wallet(client), await new_wallet(client)
    admin = await _limited_admin(client, wallet)
    as_admin = bearer(admin["secret"])

    def spec(**fields: Any) -> dict[str, Any]:
        return {"name": "child", "scopes": ["read"], "wallet_id": wallet.id, "rate_limit": RATE, **fields}

    before = await _written(pool)
    r = await bare.post("/v1/admin/keys", json=spec(rate_limit=None), headers=as_admin)
    assert "no rate limit (this key: 50/s, burst 100)" in (await _wider(r, "rate_limit"))["detail"]
    r = await bare.post("/v1/admin/keys", json=spec(rate_limit={**RATE, "per_second": 50.5}), headers=as_admin)
    assert "rate 50.5/s > 50/s" in (await _wider(r, "rate_limit.per_second"))["detail"]
    r = await bare.post("/v1/admin/keys", json=spec(rate_limit={**RATE, "burst": 101}), headers=as_admin)
    await _wider(r, "rate_limit.burst")
    r = await bare.post("/v1/admin/keys", json=spec(rate_limit={"per_second": 500, "burst": 1000}), headers=as_admin)
    await _wider(r, "rate_limit.per_second", "rate_limit.burst")
    r = await bare.post("/v1/admin/keys", json=spec(scopes=["read", "deposit", "wallets"]), headers=as_admin)
    assert (await _wider(r, "scopes"))["scopes"] == ["deposit", "wallets"]
    r = await bare.post("/v1/admin/keys", json=spec(scopes=["deposit"], rate_limit=None), headers=as_admin)
    await _wider(r, "scopes", "rate_limit")  # every wider field is named at once
    for elsewhere in (other.id, None, str(uuid.uuid4())):  # another wallet, none, one that does not exist
        r = await bare.post("/v1/admin/keys", json=spec(wallet_id=elsewhere), headers=as_admin)
        _problem(r, 403, "wrong_wallet")
    assert await _written(pool) == before, "a refused creation wrote something"

    # Within its bounds: created, with the creator's spending limits, which it could not have done without.
    for rate in (RATE, {"per_second": 0.5, "burst": 2}):
        r = await bare.post("/v1/admin/keys", json=spec(rate_limit=rate), headers=as_admin)
        assert r.status_code == 201, r.text
        child = r.json()
        assert (child["rate_limit"], child["spending_limits"], child["wallet_id"]) == (rate, [USD], wallet.id)
        assert child["created_by"] == f"key:{admin['id']}"
    spent = await pool.fetch(
        "SELECT per_transaction_max, per_day_max FROM api_key_spending_limits WHERE key_id = $1",
        uuid.UUID(child["id"]),
    )
    assert [tuple(r) for r in spent] == [(500, 2000)]
    # A caller without a rate limit gives any rate, or none.
    free = await make_key(client, ["admin", "read"], name="unlimited admin")
    r = await bare.post("/v1/admin/keys", json=spec(wallet_id=None, rate_limit=None), headers=bearer(free["secret"]))
    assert (r.status_code, r.json()["rate_limit"], r.json()["spending_limits"]) == (201, None, []), r.text


async def test_limits_a_key_sets_are_within_its_own_and_a_narrower_key_works(
    client: httpx.AsyncClient, bare: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    wallet = await new_wallet(client, funded=100_000)
    admin = await _limited_admin(client, wallet)
    as_admin = bearer(admin["secret"])
    body = {"name": "agent", "scopes": ["transfer"], "wallet_id": wallet.id, "rate_limit": RATE}
    r = await bare.post("/v1/admin/keys", json=body, headers=as_admin)
    assert r.status_code == 201, r.text
    child = r.json()
    limits = f"/v1/admin/keys/{child['id']}/limits"
    per_tx, per_day = "spending_limits.USD.per_transaction_max", "spending_limits.USD.per_day_max"

    before = await _written(pool)
    r = await bare.put(limits, json={"rate_limit": None, "spending_limits": []}, headers=as_admin)
    await _wider(r, "rate_limit", per_tx, per_day)
    r = await bare.put(limits, json={**LIMITS, "spending_limits": [{**USD, "per_day_max": 2001}]}, headers=as_admin)
    assert "USD per_day_max 2001 > 2000" in (await _wider(r, per_day))["detail"]
    only_daily = {"currency": "USD", "per_day_max": 100}  # no per-transaction maximum where the caller has one
    r = await bare.put(limits, json={**LIMITS, "spending_limits": [only_daily]}, headers=as_admin)
    assert "no USD per_transaction_max (this key: 500)" in (await _wider(r, per_tx))["detail"]
    eur = {"currency": "EUR", "per_transaction_max": 1, "per_day_max": 1}
    r = await bare.put(limits, json={**LIMITS, "spending_limits": [eur]}, headers=as_admin)
    await _wider(r, per_tx, per_day)  # limits in another currency do not bound USD
    r = await bare.put(limits, json={**LIMITS, "rate_limit": {**RATE, "per_second": 50.01}}, headers=as_admin)
    await _wider(r, "rate_limit.per_second")
    assert await _written(pool) == before, "a refused change wrote something"
    assert (await _view(client, child["id"]))["spending_limits"] == [USD]

    # Narrower in every field (and limited in a currency the caller is not): accepted, and enforced.
    narrow = {
        "rate_limit": {"per_second": 0.01, "burst": 3},
        "spending_limits": [eur, {"currency": "USD", "per_transaction_max": 100, "per_day_max": 150}],
    }
    r = await bare.put(limits, json=narrow, headers=as_admin)
    assert r.status_code == 200, r.text
    assert r.json()["spending_limits"] == narrow["spending_limits"] and r.json()["rate_limit"] == narrow["rate_limit"]
    audit = await pool.fetch("SELECT principal, action FROM admin_audit WHERE key_id = $1", uuid.UUID(child["id"]))
    assert [tuple(a) for a in audit] == [(f"key:{admin['id']}", a) for a in ("key.created", "key.limits_changed")]
    as_child = bearer(child["secret"])
    spend = {"wallet": wallet.handle, "amount": 100, "currency": "USD"}
    r = await bare.post("/v1/spends", json=spend, headers={**as_child, **idem()})
    assert (r.status_code, r.json()["status"]) == (200, "applied"), r.text
    r = await bare.post("/v1/spends", json={**spend, "amount": 101}, headers={**as_child, **idem()})
    assert r.json()["code"] == "exceeds_key_limit", r.text  # over its own per-transaction maximum
    r = await bare.post("/v1/spends", json={**spend, "amount": 60}, headers={**as_child, **idem()})
    assert r.json()["code"] == "exceeds_key_limit" and "per 24 h" in r.text, r.text  # over its own daily maximum
    r = await bare.post("/v1/spends", json={**spend, "amount": 1}, headers={**as_child, **idem()})
    assert r.status_code == 429, r.text  # its fourth request: over its own burst of 3


async def test_a_bound_key_reaches_only_its_own_wallets_keys_and_may_revoke_itself(
    client: httpx.AsyncClient, bare: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    wallet, other = await new_wallet(client), await new_wallet(client)
    admin = await _limited_admin(client, wallet)
    as_admin = bearer(admin["secret"])
    theirs = await make_key(client, ["read"], wallet_id=other.id, name="other wallet's")
    unbound = await make_key(client, ["read"], name="service's")
    before = await _written(pool)
    for target in (theirs, unbound):
        r = await bare.put(f"/v1/admin/keys/{target['id']}/limits", json=LIMITS, headers=as_admin)
        _problem(r, 403, "wrong_wallet")
        _problem(await bare.delete(f"/v1/admin/keys/{target['id']}", headers=as_admin), 403, "wrong_wallet")
    missing = uuid.uuid4()
    _problem(await bare.delete(f"/v1/admin/keys/{missing}", headers=as_admin), 404, "key_not_found")
    _problem(await bare.put(f"/v1/admin/keys/{missing}/limits", json=LIMITS, headers=as_admin), 404, "key_not_found")
    assert await _written(pool) == before
    assert [k["id"] for k in (await bare.get("/v1/admin/keys", headers=as_admin)).json()] == [admin["id"]]

    # Revoking only narrows: a key may revoke itself, and is refused from then on.
    r = await bare.delete(f"/v1/admin/keys/{admin['id']}", headers=as_admin)
    assert r.status_code == 200 and r.json()["revoked_at"] is not None, r.text
    _problem(await bare.get("/v1/admin/keys", headers=as_admin), 401, "unauthorized")
    audit = await pool.fetchval(
        "SELECT principal FROM admin_audit WHERE key_id = $1 AND action = 'key.revoked'", uuid.UUID(admin["id"])
    )
    assert audit == f"key:{admin['id']}"


@asynccontextmanager
async def _held(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A transaction of the service's, committed on leaving (the test's requests wait on it meanwhile)."""
    async with pool.acquire() as conn:
        held = conn.transaction()
        await held.start()
        try:
            yield conn
        finally:
            await held.commit()


async def _waiting_for_the_callers_row(pool: asyncpg.Pool, request: asyncio.Task[httpx.Response]) -> None:
    """Until a backend of this database waits for a lock in a ``FOR SHARE`` query: the admin change's
    read of the caller's row (not its authentication, which takes no row lock of the key)."""
    deadline = time.monotonic() + 20
    sql = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock' AND query LIKE '%FOR SHARE%'"
    )
    while not await pool.fetchval(sql):
        assert not request.done(), request.result().text
        assert time.monotonic() < deadline, "the request never waited for the caller's row"
        await asyncio.sleep(0.02)


async def test_the_caller_is_judged_as_committed_when_its_change_is_written(
    client: httpx.AsyncClient, bare: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    """A change of the caller that commits while the request waits for the caller's row is the one the
    request is judged by: limits lowered under it, a revocation under it."""
    wallet = await new_wallet(client)
    # No rate limit: changing one resets the key's bucket, and its authentication would wait on that.
    admin = await make_key(client, ["admin", "read"], wallet_id=wallet.id, name="admin limited in USD")
    r = await client.put(f"/v1/admin/keys/{admin['id']}/limits", json={"rate_limit": None, "spending_limits": [USD]})
    assert r.status_code == 200, r.text
    admin_id, as_admin = uuid.UUID(admin["id"]), bearer(admin["secret"])
    body = {"name": "agent", "scopes": ["read"], "wallet_id": wallet.id}
    child = (await bare.post("/v1/admin/keys", json=body, headers=as_admin)).json()  # and the key is used now

    # The service lowers the admin's limits; meanwhile the admin gives its child the old ones.
    async with _held(pool) as conn:
        lowered = SpendingLimit(currency="USD", per_transaction_max=50, per_day_max=200)
        await keystore.set_limits(conn, admin_id, KeyLimits(spending_limits=(lowered,)), principal="test")
        put = asyncio.create_task(bare.put(f"/v1/admin/keys/{child['id']}/limits", json=LIMITS, headers=as_admin))
        await _waiting_for_the_callers_row(pool, put)
    await _wider(await put, "spending_limits.USD.per_transaction_max", "spending_limits.USD.per_day_max")

    # Created while its creator's limits are being lowered: it starts with the lowered ones.
    async with _held(pool) as conn:
        lower = SpendingLimit(currency="USD", per_transaction_max=10, per_day_max=20)
        await keystore.set_limits(conn, admin_id, KeyLimits(spending_limits=(lower,)), principal="test")
        post = asyncio.create_task(bare.post("/v1/admin/keys", json=body, headers=as_admin))
        await _waiting_for_the_callers_row(pool, post)
    r = await post
    assert r.status_code == 201 and r.json()["spending_limits"] == [lower.model_dump()], r.text

    # Revoked while its request waits: refused as any revoked key is, and nothing is revoked.
    async with _held(pool) as conn:
        await keystore.revoke_key(conn, admin_id, principal="test")
        revoke = asyncio.create_task(bare.delete(f"/v1/admin/keys/{child['id']}", headers=as_admin))
        await _waiting_for_the_callers_row(pool, revoke)
    _problem(await revoke, 401, "unauthorized")
    assert (await _view(client, child["id"]))["revoked_at"] is None
