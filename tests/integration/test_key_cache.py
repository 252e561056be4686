"""The gateway's API key cache against a real PostgreSQL: what it keeps, what makes it forget, and the
rate-limit leases it takes from the shared bucket (http_gateway/keycache.py, migration 0008)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from contracts.keys import KeyLimits, KeySpec, RateLimit, Scope
from http_gateway.keycache import CachedKey, KeyCache
from ledger_common import keystore

PEPPER = b"p" * 32


async def _eventually(check: Callable[[], object | Awaitable[object]], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.02)


@pytest.fixture
async def cache(database_url: str) -> AsyncIterator[KeyCache]:
    keys = KeyCache(database_url, enabled=True)
    await keys.start()
    await _eventually(lambda: keys.live)
    yield keys
    await keys.close()


async def _key(pool: asyncpg.Pool, rate: RateLimit | None = None) -> tuple[uuid.UUID, str]:
    async with pool.acquire() as conn:
        created = await keystore.create_key(
            conn,
            KeySpec(name="cache test", scopes=(Scope.READ,), rate_limit=rate),
            principal="test",
            pepper=PEPPER,
            environment="test",
        )
    public_id = created.prefix.rsplit("_", 1)[1]
    return created.id, public_id


def _cached(key_id: uuid.UUID, rate: float | None = None, burst: int | None = None) -> CachedKey:
    return CachedKey(
        id=key_id,
        prefix="lk_test_x",
        secret_hash=b"h",
        scopes=frozenset({Scope.READ}),
        wallet_id=None,
        revoked=False,
        rate_per_second=rate,
        rate_burst=burst,
    )


async def test_a_change_to_a_key_makes_every_cache_forget_it_and_last_used_at_does_not(
    cache: KeyCache, pool: asyncpg.Pool
) -> None:
    (a, a_public), (b, b_public) = await _key(pool), await _key(pool)
    cache.put(a_public, _cached(a), epoch=cache.epoch)
    cache.put(b_public, _cached(b), epoch=cache.epoch)
    await pool.execute("UPDATE api_keys SET last_used_at = now() WHERE id = $1", a)  # no notification
    async with pool.acquire() as conn:
        await keystore.revoke_key(conn, b, principal="test")
    await _eventually(lambda: cache.get(b_public) is None)
    # Notifications arrive in commit order: b's came after a's touch, so a's touch sent none.
    assert cache.get(a_public) is not None
    async with pool.acquire() as conn:
        await keystore.set_limits(conn, a, KeyLimits(rate_limit=RateLimit(per_second=1, burst=1)), principal="test")
    await _eventually(lambda: cache.get(a_public) is None)


async def test_a_read_that_raced_a_notification_is_not_cached(cache: KeyCache, pool: asyncpg.Pool) -> None:
    (a, a_public), (b, _) = await _key(pool), await _key(pool)
    before = cache.epoch
    async with pool.acquire() as conn:
        await keystore.revoke_key(conn, b, principal="test")
    await _eventually(lambda: cache.epoch != before)
    cache.put(a_public, _cached(a), epoch=before)  # read before the revocation was heard of
    assert cache.get(a_public) is None


async def test_the_cache_is_emptied_and_bypassed_while_its_connection_is_down(
    cache: KeyCache, pool: asyncpg.Pool
) -> None:
    a, a_public = await _key(pool)
    cache.put(a_public, _cached(a), epoch=cache.epoch)
    listeners = await pool.fetch(
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'ledger-gateway-keys'"
        " AND datname = current_database()"
    )
    assert listeners
    # A change made while nobody listens sends a notification no one hears: the cache must not be trusted.
    for row in listeners:
        await pool.execute("SELECT pg_terminate_backend($1)", row["pid"])
    await _eventually(lambda: not cache.live or cache.get(a_public) is None)
    assert cache.get(a_public) is None
    await _eventually(lambda: cache.live)  # listening again, and empty
    assert cache.get(a_public) is None
    cache.put(a_public, _cached(a), epoch=cache.epoch)
    assert cache.get(a_public) is not None


async def test_a_disabled_cache_keeps_nothing(database_url: str, pool: asyncpg.Pool) -> None:
    keys = KeyCache(database_url, enabled=False)
    await keys.start()
    a, a_public = await _key(pool)
    keys.put(a_public, _cached(a), epoch=keys.epoch)
    assert keys.get(a_public) is None
    await keys.close()


async def test_leases_come_from_the_one_bucket_and_never_exceed_it(pool: asyncpg.Pool) -> None:
    key_id, _ = await _key(pool, RateLimit(per_second=0.001, burst=20))  # no refill within the test
    take = "SELECT granted, retry_after FROM ledger_take_tokens($1, 0.001, 20, $2)"
    granted = [tuple(await pool.fetchrow(take, key_id, 8)) for _ in range(4)]
    assert [g for g, _ in granted] == [8, 8, 4, 0]
    assert granted[-1][1] > 0
    # Two gateways' caches drawing on one key: together they get the burst, not more.
    first, second = _cached(key_id, 1_000, 5), _cached(key_id, 1_000, 5)
    await pool.execute("DELETE FROM api_key_buckets WHERE key_id = $1", key_id)
    await pool.execute("UPDATE api_keys SET rate_per_second = 0.001, rate_burst = 5 WHERE id = $1", key_id)
    first.rate_per_second = second.rate_per_second = 0.001  # lease size 1: exactly today's limit
    waits = [await (first if i % 2 else second).take(pool, 1e-300) for i in range(8)]
    assert [w == 0 for w in waits] == [True] * 5 + [False] * 3
    big = _cached(key_id, 10_000, 10_000)
    assert big.lease_size() == 1000  # a fast key: one database call per thousand requests


async def test_concurrent_requests_of_one_key_share_one_lease(pool: asyncpg.Pool) -> None:
    key_id, _ = await _key(pool, RateLimit(per_second=100_000, burst=100_000))
    key = _cached(key_id, 100_000, 100_000)
    waits = await asyncio.gather(*(key.take(pool, 1e-300) for _ in range(200)))
    assert all(w == 0 for w in waits)
    left = await pool.fetchval("SELECT tokens FROM api_key_buckets WHERE key_id = $1", key_id)
    assert 100_000 - left < 1000 + 50  # one lease of 1000 (plus the refill meanwhile), not 200 leases


async def test_an_unknown_public_id_is_remembered_until_a_key_has_it(cache: KeyCache, pool: asyncpg.Pool) -> None:
    """A flood of made-up tokens costs one read per public id; a key created with that id (here: a copy of a
    real key row given it) is announced on insert and forgotten as unknown at once (migration 0011)."""
    key_id, _ = await _key(pool)
    public_id = uuid.uuid4().hex[:12]
    cache.put_unknown(public_id, epoch=cache.epoch)
    assert cache.unknown(public_id) and not cache.unknown(uuid.uuid4().hex[:12])
    await pool.execute(
        "INSERT INTO api_keys (id, name, prefix, public_id, secret_hash, scopes, created_by)"
        " SELECT $2, name, 'lk_test_' || $3, $3, secret_hash, scopes, created_by FROM api_keys WHERE id = $1",
        key_id,
        uuid.uuid4(),
        public_id,
    )
    await _eventually(lambda: not cache.unknown(public_id))


async def test_unknown_public_ids_are_bounded_and_expire(cache: KeyCache, monkeypatch: pytest.MonkeyPatch) -> None:
    from http_gateway import keycache

    monkeypatch.setattr(keycache, "MAX_UNKNOWN", 3)
    ids = [uuid.uuid4().hex[:12] for _ in range(4)]
    for public_id in ids:
        cache.put_unknown(public_id, epoch=cache.epoch)
    assert [cache.unknown(p) for p in ids] == [False, True, True, True]  # the oldest went first
    stale = cache.epoch
    cache.forget(uuid.uuid4())  # any change since the read: the read is not remembered
    cache.put_unknown(ids[0], epoch=stale)
    assert not cache.unknown(ids[0])
    monkeypatch.setattr(keycache, "UNKNOWN_SECONDS", -1.0)
    cache.put_unknown(ids[0], epoch=cache.epoch)
    assert not cache.unknown(ids[0])  # expired at once
