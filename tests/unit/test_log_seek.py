"""The log reader's pure decisions: where bisecting the stream lands, and what each position means.

The stream is modelled as the relay writes it: positions in order, and after a crash a restart from some
position it had published before (never beyond the last one in the stream + 1). Offsets have gaps (a
stream's offsets also count entries that are not messages).
"""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.topology import Retention
from ledger_sdk.amqp._seek import ReaderBehind, Step, bisect, step


@st.composite
def streams(draw: st.DrawFn) -> list[tuple[int, int]]:
    """(offset, position) of a stream: the relay publishes ``first``, ``first + 1`` … restarting lower now and then."""
    first = draw(st.integers(1, 50))  # retention may have dropped what came before
    position, offset, out = first, draw(st.integers(0, 10)), []
    for _ in range(draw(st.integers(1, 120))):
        out.append((offset, position))
        offset += draw(st.sampled_from([1, 1, 1, 2, 5]))
        if draw(st.integers(0, 9)) == 0:  # a relay crashed and the next one starts again lower
            position = draw(st.integers(max(first, position - 10), position + 1))
        else:
            position += 1
    return out


def _read_from(stream: list[tuple[int, int]], offset: int, last: int) -> list[int]:
    """What a reader whose last position is ``last`` handles reading from ``offset``."""
    handled = []
    for o, p in stream:
        if o >= offset and step(last, p) is Step.HANDLE:
            handled.append(p)
            last = p
    return handled


def _probe(stream: list[tuple[int, int]]):  # type: ignore[no-untyped-def]
    async def probe(offset: int) -> tuple[int, int] | None:
        return next(((o, p) for o, p in stream if o >= offset), None)

    return probe


@given(streams(), st.data())
def test_reading_from_where_bisect_lands_gives_every_position_once_in_order(
    stream: list[tuple[int, int]], data: st.DataObject
) -> None:
    low, high = stream[0], max(stream, key=lambda m: m[0])
    top = max(p for _, p in stream)
    wanted = data.draw(st.integers(low[1], top + 2))
    offset = asyncio.run(bisect(_probe(stream), low, high, wanted))
    handled = _read_from(stream, offset, wanted - 1)
    if wanted > high[1]:  # past the tail (the relay publishes on from the tail's position): wait at the end
        assert offset == high[0] + 1
        return
    # From the landing offset on: every position from ``wanted``, once, in order, at least up to the tail's.
    assert handled == list(range(wanted, wanted + len(handled)))
    assert handled[-1] >= high[1]


@given(streams(), st.data())
def test_a_position_older_than_the_stream_keeps_is_refused(stream: list[tuple[int, int]], data: st.DataObject) -> None:
    low, high = stream[0], stream[-1]
    if low[1] == 1:
        return
    wanted = data.draw(st.integers(1, low[1] - 1))
    with pytest.raises(ReaderBehind) as refused:
        asyncio.run(bisect(_probe(stream), low, high, wanted))
    assert (refused.value.wanted, refused.value.oldest) == (wanted, low[1])


def test_steps() -> None:
    assert step(0, 1) is Step.HANDLE
    assert step(5, 6) is Step.HANDLE
    assert step(5, 5) is Step.DUPLICATE
    assert step(5, 2) is Step.DUPLICATE
    assert step(5, 7) is Step.AHEAD


def test_a_position_past_the_tail_waits_at_the_end() -> None:
    stream = [(0, 1), (1, 2), (3, 3)]
    assert asyncio.run(bisect(_probe(stream), stream[0], stream[-1], 4)) == 4
    assert asyncio.run(bisect(_probe(stream), stream[0], stream[-1], 9)) == 4


@pytest.mark.parametrize(("age", "seconds"), [("7D", 604_800), ("1h", 3600), ("30s", 30), ("1Y", 31_536_000)])
def test_retention_age_in_seconds(age: str, seconds: int) -> None:
    assert Retention(max_age=age).max_age_seconds == seconds
    assert Retention(max_age=age).arguments()["x-max-age"] == age
