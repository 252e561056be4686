"""Long-polls of ``GET /v1/events`` wait here for the sequencer's NOTIFY (a new head), not in a loop of queries.

One LISTEN connection per gateway process. A request waits at most a second at a time and then looks
again, so a lost LISTEN connection (re-made on the next wait) costs latency, never an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from ledger_common import event_log
from ledger_common.db import connect

log = logging.getLogger("http_gateway")

#: Longest single wait before a long-poll looks at the log again.
SLICE = 1.0


class LogWaiter:
    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn: asyncpg.Connection | None = None
        self._changed = asyncio.Event()
        self._lock = asyncio.Lock()

    async def wait(self, timeout: float) -> None:
        """Return when the log's head moved, or after ``min(timeout, SLICE)`` seconds."""
        await self._listen()
        changed = self._changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), min(timeout, SLICE))

    def _notified(self, *_: object) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()  # wakes every request waiting now; later ones wait on the new event

    async def _listen(self) -> None:
        async with self._lock:
            if self._conn is not None and not self._conn.is_closed():
                return
            try:
                self._conn = await connect(self._dsn)
                await self._conn.add_listener(event_log.CHANNEL, self._notified)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("LISTEN %s unavailable (%s); long-polls look every second", event_log.CHANNEL, exc)
                self._conn = None

    async def close(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            with contextlib.suppress(Exception):
                await self._conn.close()
