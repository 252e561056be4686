"""The chaos run's late reader of the event log: it joins mid-run and must end with exactly the run's events.

A ``ledger_sdk.amqp.LogReader`` started once half the main load has been sent, from the beginning, through
the run's proxy: the broker cuts and stalls the run injects cut it too, and the relays it reads from are
killed and restarted under it. At the drain it must have read every position the ledger gave, once and in
order (:func:`check`, pure), whatever it went through.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Sized
from dataclasses import dataclass

import asyncpg

from contracts.events import EventEnvelope
from ledger_cli.chaos.checks import Verdict
from ledger_common.settings import Settings
from ledger_sdk.amqp.log import LogReader

#: The ledger's record of the log, in position order: what the reader must have read.
LOGGED = (
    "SELECT l.position, e.event_id::text AS event_id FROM event_log l JOIN events e ON e.id = l.event_pk"
    " ORDER BY l.position"
)


@dataclass(frozen=True, slots=True)
class Read:
    position: int
    event_id: str
    stream: str | None
    sequence: int | None


class LateReader:
    def __init__(self, settings: Settings) -> None:
        self.read: list[Read] = []
        self.reader = LogReader(
            settings.amqp_url.get_secret_value(),
            name="chaos",
            signing_keys=settings.event_signing_keys.get_secret_value(),
            namespace=settings.ledger_namespace,
            start="beginning",
        )
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.failure: str | None = None

    async def _handle(self, event: EventEnvelope) -> None:
        assert self.reader.handling is not None
        stream = str(event.account_id or event.wallet_id) if event.sequence is not None else None
        self.read.append(Read(self.reader.handling, str(event.event_id), stream, event.sequence))

    async def join_when(self, sent: Sized, half: int) -> None:
        """Start once ``len(sent) >= half`` (the load's attempted commands): mid-run."""
        while len(sent) < half:  # noqa: ASYNC110 - the load's set of ids has no event to wait on
            await asyncio.sleep(0.2)
        self._task = asyncio.create_task(self.reader.run(self._handle, stop=self._stop))

    async def caught_up(self, pool: asyncpg.Pool) -> bool:
        head = await pool.fetchval("SELECT head FROM event_log_state")
        return self._task is not None and (self.reader.position or 0) >= head

    async def close(self) -> None:
        self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 30)
            except Exception as exc:  # what stopped it is a finding, not a crash of the run
                self.failure = f"{type(exc).__name__}: {exc}"
            with contextlib.suppress(Exception):
                self._task.cancel()


def check(v: Verdict, read: list[Read], logged: list[tuple[int, str]], *, events: int, failure: str | None) -> None:
    """Every event numbered; every position read once, in order; the ledger's event at each; each stream's
    sequences in order. ``events``: how many events the ledger wrote."""
    v.figures["log_reader_read"] = len(read)
    v.rule(
        "log_unnumbered",
        [f"{events - len(logged)} events"] if len(logged) != events else [],
        "events without a log position after the drain",
    )
    positions = [r.position for r in read]
    v.rule("log_reader_stopped", [failure] if failure else [], "the late log reader stopped with an error")
    v.rule(
        "log_reader_out_of_order",
        [f"#{n}: {p}" for n, p in enumerate(positions, start=1) if p != n][:50],
        "the late log reader did not read positions 1, 2, 3 … (a gap, a duplicate or a reordering)",
    )
    expected = dict(logged)
    v.rule(
        "log_reader_wrong_event",
        [f"{r.position}: {r.event_id}" for r in read if expected.get(r.position) != r.event_id][:50],
        "the late log reader read another event than the ledger logged at that position",
    )
    v.rule(
        "log_reader_missing",
        [f"{p}: {e}" for p, e in logged if p > len(read)][:50],
        "events the ledger logged that the late log reader never read",
    )
    last: dict[str, int] = defaultdict(int)
    backwards = []
    for r in read:
        if r.stream is not None and r.sequence is not None:
            if r.sequence <= last[r.stream]:
                backwards.append(f"{r.stream}#{r.sequence}")
            last[r.stream] = max(last[r.stream], r.sequence)
    v.rule("log_reader_stream_order", backwards, "an account's events read out of sequence order")
