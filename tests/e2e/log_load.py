"""Events in bulk for the event log tests: transfers between bench accounts, published straight to the broker.

Each transfer is two events (the payer's ``account.debited``, the payee's ``account.credited``); the
accounts are made in SQL (``ledger_cli.bench.accounts``), so a test of 100,000 events takes the ledger's
time, not the test's. :func:`check` is every property a reader of the log must see.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import aio_pika
import asyncpg

from contracts.events import EventEnvelope
from ledger_cli.bench.accounts import create_accounts
from ledger_common.settings import Settings

IN_FLIGHT = 500


async def accounts(settings: Settings, count: int) -> list[str]:
    made = await create_accounts(settings.database_url.get_secret_value(), count=count, owner="log-test")
    return made.ids


async def transfers(settings: Settings, ids: list[str], count: int, *, tag: str, seed: int = 1) -> None:
    """Publish ``count`` transfers (``2 * count`` events) with confirms, ``IN_FLIGHT`` at a time."""
    rng = random.Random(seed)
    connection = await aio_pika.connect(settings.amqp_url.get_secret_value())
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange, _ = await settings.topology.declare_commands(channel)

        async def one(n: int) -> None:
            debit, credit = rng.sample(ids, 2)
            body = {
                "command_id": f"{tag}-{n}",
                "type": "transfer",
                "issued_at": datetime.now(UTC).isoformat(),
                "payload": {"debit_account_id": debit, "credit_account_id": credit, "amount": 7, "currency": "USD"},
            }
            message = aio_pika.Message(json.dumps(body).encode(), user_id=settings.amqp_user, delivery_mode=2)
            await exchange.publish(message, routing_key="transfer")

        for start in range(0, count, IN_FLIGHT):
            await asyncio.gather(*(one(n) for n in range(start, min(count, start + IN_FLIGHT))))
    finally:
        await connection.close()


async def wait_logged(conn: asyncpg.Connection, count: int, *, stream: bool = True, timeout: float = 600) -> float:
    """Wait until ``count`` events have positions (and are in the stream); the seconds it took."""
    started = time.monotonic()
    column = "(SELECT published FROM event_stream_state)" if stream else "(SELECT head FROM event_log_state)"
    while await conn.fetchval(f"SELECT {column}") < count:
        if time.monotonic() - started > timeout:
            raise AssertionError(f"fewer than {count} events logged after {timeout} s")
        await asyncio.sleep(0.2)
    return time.monotonic() - started


def check(read: list[tuple[int, EventEnvelope]], logged: list[asyncpg.Record]) -> None:
    """What was read is the log: positions 1..n without gap or repeat, the events the ledger gave those
    positions, every event once, and each account's events in sequence order (1, 2, 3 … without a gap)."""
    positions = [p for p, _ in read]
    assert positions == list(range(1, len(read) + 1)), _first_difference(positions)
    assert [e.event_id for _, e in read] == [r["event_id"] for r in logged[: len(read)]]
    assert len({e.event_id for _, e in read}) == len(read)
    streams: dict[UUID, list[int]] = defaultdict(list)
    for _, e in read:
        if e.account_id is not None and e.sequence is not None:
            streams[e.account_id].append(e.sequence)
    for account, sequences in streams.items():
        assert sequences == list(range(1, len(sequences) + 1)), (account, sequences[:20])


def _first_difference(positions: list[int]) -> Any:
    for n, p in enumerate(positions, start=1):
        if p != n:
            return f"at index {n - 1}: expected {n}, read {p} (then {positions[n : n + 5]})"
    return "same"


LOGGED = "SELECT l.position, e.event_id FROM event_log l JOIN events e ON e.id = l.event_pk ORDER BY l.position"
