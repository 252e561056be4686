"""A write whose reply was lost (http_gateway/outcomes.py): answered from its recorded outcome, against real
PostgreSQL; never from another body's record under the same key, and a record not there in time is a 202."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import asyncpg

from http_gateway import outcomes
from tests.ledger import apply_one, cmd, funded_wallet


async def test_the_recorded_outcome_answers_a_lost_reply(pool: asyncpg.Pool) -> None:
    _, account = await funded_wallet(pool, 0)
    asked_at = datetime.now(UTC) - timedelta(seconds=5)  # before it was recorded: not a replay
    deposit = cmd("deposit", account_id=str(account), amount=250, currency="USD")
    applied = await apply_one(pool, deposit)
    found = await outcomes.recorded(pool, deposit, asked_at=asked_at, until=time.monotonic())
    assert found is not None and not found.replayed
    assert found.result.model_dump(exclude={"replayed"}) == applied.model_dump(exclude={"replayed"})
    later = await outcomes.recorded(pool, deposit, asked_at=datetime.now(UTC) + timedelta(seconds=5), until=0)
    assert later is not None and later.replayed  # recorded before this request began


async def test_another_body_under_the_same_key_or_no_record_in_time_is_not_an_answer(pool: asyncpg.Pool) -> None:
    _, account = await funded_wallet(pool, 0)
    first = cmd("deposit", account_id=str(account), amount=1, currency="USD")
    await apply_one(pool, first)
    other = first.model_copy(update={"payload": first.payload.model_copy(update={"amount": 2})})
    now = datetime.now(UTC)
    assert await outcomes.recorded(pool, other, asked_at=now, until=time.monotonic()) is None
    never = cmd("deposit", account_id=str(account), amount=3, currency="USD")
    started = time.monotonic()
    assert await outcomes.recorded(pool, never, asked_at=now, until=started + 0.5) is None
    assert 0.3 < time.monotonic() - started < 3  # it looked until its deadline, then gave up
