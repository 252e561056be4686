"""Every scope the contracts declare can be stored: the database's CHECK lists follow the enum."""

from __future__ import annotations

import asyncpg

from contracts.keys import ALL_SCOPES, KeySpec
from ledger_common import keystore, publishers


async def test_a_key_and_a_publisher_may_hold_every_declared_scope(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        key = await keystore.create_key(
            conn, KeySpec(name="all", scopes=tuple(sorted(ALL_SCOPES))), principal="test", pepper=b"p" * 32,
            environment="test",
        )  # fmt: skip
        assert set(key.scopes) == ALL_SCOPES
        granted = await publishers.grant(conn, "every-scope-test", ALL_SCOPES, wallet_id=None)
        assert set(granted.scopes) == ALL_SCOPES
        assert await publishers.revoke(conn, "every-scope-test")
