"""The event log tests' load (``ledger_cli.bench.bulk``: transfers, two events each) and :func:`check`, every
property a reader of the log must see."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from typing import Any
from uuid import UUID

import asyncpg

from contracts.events import EventEnvelope
from ledger_cli.bench import bulk

accounts, transfers = bulk.accounts, bulk.transfers


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
