"""API keys verified from memory, forgotten the moment PostgreSQL says they changed.

Without it every request costs a database round trip (find the key, take a rate-limit token: a row
update). Here a gateway keeps each key it has verified, and a dedicated connection LISTENs on
``ledger_api_keys``, where a trigger (migration 0008) names every key whose row changed: revoked,
re-scoped, re-limited, deleted. The cache is only ever used while that connection is known to be up:
it is emptied and bypassed from the moment the connection is lost (termination, or a keepalive that
fails) until it is listening again, so a change made while no notification could arrive is read from
the database. A key read from the database is cached only if no notification arrived while it was
being read (``epoch``), so a revocation that raced the read is not overwritten by the older row.

Commands do not depend on this at all: the worker reads the caller's key in the batch's transaction
and refuses a revoked key's command there (ledger_worker/callers.py). What the cache can delay, by
the few milliseconds a notification takes, is a read served to a key revoked just before.

A public id that matches no key is remembered too (a bounded set, for a minute at most), so a caller
sending made-up tokens costs one database read per id, not one per request; a key created under such an id
is announced like any change, so the set never hides a key that exists.

Rate limits lease tokens from the shared bucket (``ledger_take_tokens``): a key may take at once what
its rate refills in ``LEASE_SECONDS`` (at most ``MAX_LEASE``, at least one), spent from memory until
used up or expired. Every token is still taken from the one bucket, so no gateway, nor all of them
together, lets a key past its limit; a lease can only make a key's limit stricter for up to
``LEASE_SECONDS`` when several gateways hold tokens of one key. A key at 10/s leases one token at a
time, exactly as before; a key at 10,000/s costs one database call per 1,000 requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from uuid import UUID

import asyncpg

from contracts.keys import Scope

log = logging.getLogger("http_gateway.keycache")

CHANNEL = "ledger_api_keys"
#: A lease is what the key's rate refills in this long; unspent tokens then expire.
LEASE_SECONDS = 0.1
MAX_LEASE = 1000
#: ``last_used_at`` is written at most this often per key and gateway.
TOUCH_SECONDS = 60.0
#: The listening connection is checked this often; a failed check empties and bypasses the cache.
KEEPALIVE_SECONDS = 5.0
RECONNECT_SECONDS = 1.0
#: Public ids found in no key row, remembered so a flood of made-up tokens costs no database read each:
#: at most this many (the oldest forgotten first), each for at most ``UNKNOWN_SECONDS``. A key created
#: with such an id is announced on ``CHANNEL`` (migration 0011) and forgotten here at once.
MAX_UNKNOWN = 10_000
UNKNOWN_SECONDS = 60.0

TOUCH = """
UPDATE api_keys SET last_used_at = clock_timestamp()
 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < clock_timestamp() - interval '60 seconds')
"""
TAKE = "SELECT granted, retry_after FROM ledger_take_tokens($1, $2, $3, $4)"


@dataclass(slots=True)
class CachedKey:
    """What authentication needs of one key row, and this gateway's lease of its tokens."""

    id: UUID
    prefix: str
    secret_hash: bytes
    scopes: frozenset[Scope]
    wallet_id: UUID | None
    revoked: bool
    rate_per_second: float | None
    rate_burst: int | None
    tokens: int = 0
    lease_expires: float = 0.0
    #: The bucket was empty: no token before this (monotonic) time, so no need to ask before it.
    empty_until: float = 0.0
    touched: float = field(default_factory=time.monotonic)
    #: One lease request at a time per key: concurrent requests wait for it instead of each asking.
    leasing: asyncio.Lock = field(default_factory=asyncio.Lock)

    def lease_size(self) -> int:
        if self.rate_per_second is None or self.rate_burst is None:
            return 1
        return max(1, min(self.rate_burst, MAX_LEASE, math.floor(self.rate_per_second * LEASE_SECONDS)))

    def take_leased(self) -> bool:
        if self.tokens > 0 and time.monotonic() < self.lease_expires:
            self.tokens -= 1
            return True
        return False

    async def take(self, pool: asyncpg.Pool, min_rate: float) -> float:
        """0 if the request may proceed (a token from this gateway's lease, else from a new lease), else
        the seconds until the bucket has a token."""
        if self.rate_per_second is None or self.rate_burst is None or self.take_leased():
            return 0.0
        async with self.leasing:
            if self.take_leased():  # leased by the request this one waited for
                return 0.0
            now = time.monotonic()
            if now < self.empty_until:
                return self.empty_until - now
            row = await pool.fetchrow(
                TAKE, self.id, max(self.rate_per_second, min_rate), self.rate_burst, self.lease_size()
            )
            if row is None or not row["granted"]:
                wait = float(row["retry_after"]) if row is not None else 1.0
                self.empty_until = time.monotonic() + wait
                return wait
            # This request spends one token of the lease; the rest stay for the next ones.
            self.tokens, self.lease_expires = row["granted"] - 1, time.monotonic() + LEASE_SECONDS
            return 0.0


class KeyCache:
    """Keys by public id, valid while the ``LISTEN`` connection is up (``enabled=False``: never used)."""

    def __init__(self, dsn: str, *, enabled: bool) -> None:
        self._dsn = dsn
        self._enabled = enabled
        self._keys: dict[str, CachedKey] = {}
        self._unknown: OrderedDict[str, float] = OrderedDict()  # public id -> monotonic time it expires
        self._live = False
        self._epoch = 0
        self._task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()

    @property
    def live(self) -> bool:
        return self._live

    @property
    def epoch(self) -> int:
        """Advances with every notification and every change of the listener's state."""
        return self._epoch

    def get(self, public_id: str) -> CachedKey | None:
        return self._keys.get(public_id) if self._live else None

    def put(self, public_id: str, key: CachedKey, *, epoch: int) -> None:
        """Keep ``key``, read from the database when the epoch was ``epoch``, unless something changed since."""
        if self._live and epoch == self._epoch:
            self._keys[public_id] = key

    def unknown(self, public_id: str) -> bool:
        """Whether ``public_id`` was found in no key row a moment ago (and nothing about it changed since)."""
        expires = self._unknown.get(public_id) if self._live else None
        if expires is None:
            return False
        if expires < time.monotonic():
            del self._unknown[public_id]
            return False
        return True

    def put_unknown(self, public_id: str, *, epoch: int) -> None:
        """Remember that no key has ``public_id``, read when the epoch was ``epoch``, unless something changed."""
        if not self._live or epoch != self._epoch:
            return
        self._unknown[public_id] = time.monotonic() + UNKNOWN_SECONDS
        self._unknown.move_to_end(public_id)
        while len(self._unknown) > MAX_UNKNOWN:
            self._unknown.popitem(last=False)

    def forget(self, key_id: UUID) -> None:
        """Drop a key this process just changed, without waiting for its notification."""
        self._epoch += 1
        for public_id in [p for p, k in self._keys.items() if k.id == key_id]:
            del self._keys[public_id]

    def touch(self, pool: asyncpg.Pool, key: CachedKey) -> None:
        """Write ``last_used_at`` in the background, at most once a ``TOUCH_SECONDS`` per key."""
        now = time.monotonic()
        if now - key.touched < TOUCH_SECONDS:
            return
        key.touched = now
        task = asyncio.create_task(self._touch(pool, key.id))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def start(self) -> None:
        if self._enabled:
            self._task = asyncio.create_task(self._listen_forever(), name="key-cache-listener")

    async def close(self) -> None:
        self._down()
        for task in [*self._background, *([self._task] if self._task else [])]:
            task.cancel()
        await asyncio.gather(*self._background, *([self._task] if self._task else []), return_exceptions=True)

    def _forget(self, _conn: object, _pid: int, _channel: str, public_id: str) -> None:
        self._epoch += 1
        if public_id == "*":
            self._keys.clear()
            self._unknown.clear()
        else:
            self._keys.pop(public_id, None)
            self._unknown.pop(public_id, None)

    def _down(self, *_: object) -> None:
        if self._live:
            log.warning("API key cache off: the notification connection is down")
        self._live = False
        self._epoch += 1
        self._keys.clear()
        self._unknown.clear()

    async def _listen_forever(self) -> None:
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self._dsn, server_settings={"application_name": "ledger-gateway-keys"})
                conn.add_termination_listener(self._down)
                await conn.add_listener(CHANNEL, self._forget)
                self._epoch += 1
                self._keys.clear()
                self._unknown.clear()
                self._live = True
                while True:
                    await asyncio.sleep(KEEPALIVE_SECONDS)
                    await conn.fetchval("SELECT 1", timeout=KEEPALIVE_SECONDS)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a lost or refused connection: bypass the cache, then listen again
                log.debug("API key notifications: %s", type(exc).__name__)
            finally:
                self._down()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.terminate()
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _touch(self, pool: asyncpg.Pool, key_id: UUID) -> None:
        try:
            await pool.execute(TOUCH, key_id)
        except Exception as exc:  # last_used_at is informational: never fail or log a request for it
            log.debug("last_used_at of key %s not written: %s", key_id, type(exc).__name__)
