"""Pure decisions of the log reader: where to start in the stream, and what to do with each position.

Kept apart from the I/O so that unit and property tests check them alone (tests/unit/test_log_seek.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum

#: (offset, position) of a message of the stream.
Found = tuple[int, int]


class ReaderBehind(LookupError):
    """The reader needs position ``wanted``; the stream keeps ``oldest`` and later (retention dropped the rest).
    Nothing was skipped: read the missing positions over HTTP (``GET /v1/events``), then start again."""

    def __init__(self, wanted: int, oldest: int) -> None:
        super().__init__(f"position {wanted} is no longer in the stream; its oldest is {oldest}")
        self.wanted, self.oldest = wanted, oldest


async def bisect(probe: Callable[[int], Awaitable[Found | None]], low: Found, high: Found, position: int) -> int:
    """The offset whose first message (at or after it) has ``position`` or the next one after it.

    ``low`` and ``high`` are the stream's first and last messages; ``probe(o)`` is the first message at or
    after offset ``o``. Positions along the offsets only ever continue (n + 1 after n) or start again
    lower, so the answer is exact: every position from ``position`` on is at or after the offset returned.
    """
    if position < low[1]:
        raise ReaderBehind(position, low[1])
    if position == low[1]:
        return low[0]
    if position > high[1]:
        return high[0] + 1  # not published yet: wait for it at the end
    lo, hi = low[0], high[0]  # first message at/after lo is before ``position``; at/after hi is not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        found = await probe(mid)
        if found is None or found[1] >= position:
            hi = mid
        else:
            lo = max(mid, found[0])
    return hi


class Step(Enum):
    """What the reader does with the next message, given the last position it handled."""

    HANDLE = "handle"  # position = last + 1
    DUPLICATE = "duplicate"  # at or below last: published again after a relay crash; skip it
    AHEAD = "ahead"  # beyond last + 1: a hole the relay fills next, or events the stream dropped


def step(last: int, position: int) -> Step:
    if position <= last:
        return Step.DUPLICATE
    return Step.HANDLE if position == last + 1 else Step.AHEAD
