"""How the scenarios drive load (closed loop, open loop) and what one scenario counted.

- Closed loop: ``concurrency`` lanes, each sending one command and waiting for its outcome before the
  next, until the time is up; commands in flight then finish and count.
- Open loop: commands started on a fixed schedule (``rate`` per second) whatever the system does,
  each in its own task, so a slow answer never delays the next send.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Tally:
    """One scenario's outcomes; latencies in seconds."""

    latencies: list[float] = field(default_factory=list)
    refused: int = 0
    failed: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    #: Open loop only: how far behind its schedule the bench fell at worst (seconds).
    schedule_lag: float = 0.0

    @property
    def completed(self) -> int:
        return len(self.latencies)

    @property
    def per_second(self) -> float:
        return self.completed / self.seconds if self.seconds > 0 else 0.0

    def done(self, started: float, finished: float) -> None:
        """A command that completed: its latency runs from ``started`` to ``finished`` (perf_counter)."""
        self.latencies.append(finished - started)

    def fail(self, why: str) -> None:
        """A command with no answer (or an error), counted under ``why``."""
        self.failed += 1
        self.statuses[why] += 1

    def percentiles_ms(self) -> dict[str, float | None]:
        """p50, p95, p99 and max in milliseconds (nearest rank); None without completions."""
        ordered = sorted(self.latencies)
        return {f"p{p}_ms" if p < 100 else "max_ms": _rank(ordered, p) for p in (50, 95, 99, 100)}


def _rank(ordered: list[float], p: float) -> float | None:
    if not ordered:
        return None
    return round(ordered[max(0, math.ceil(len(ordered) * p / 100) - 1)] * 1000, 2)


async def closed_loop(seconds: float, concurrency: int, one: Callable[[int], Awaitable[None]]) -> float:
    """Run ``one(lane)`` back to back on ``concurrency`` lanes for ``seconds``; return the elapsed time."""
    start = time.perf_counter()
    deadline = start + seconds

    async def lane(n: int) -> None:
        while time.perf_counter() < deadline:
            await one(n)

    await asyncio.gather(*(lane(n) for n in range(concurrency)))
    return time.perf_counter() - start


async def open_loop(seconds: float, rate: float, one: Callable[[], Coroutine[Any, Any, None]]) -> tuple[float, float]:
    """Start ``one()`` ``rate`` times per second for ``seconds``; return (elapsed, worst lag behind schedule)."""
    start = time.perf_counter()
    running: set[asyncio.Task[None]] = set()
    lag = 0.0
    for i in range(max(1, round(seconds * rate))):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            lag = max(lag, -delay)
        task = asyncio.create_task(one())
        running.add(task)
        task.add_done_callback(running.discard)
    await asyncio.gather(*running)
    return time.perf_counter() - start, lag


async def one_at_a_time(count: int, pause: float, one: Callable[[], Awaitable[None]]) -> float:
    """Run ``one()`` ``count`` times in turn, ``pause`` seconds apart (so the system idles between)."""
    start = time.perf_counter()
    for _ in range(count):
        await one()
        await asyncio.sleep(pause)
    return time.perf_counter() - start
