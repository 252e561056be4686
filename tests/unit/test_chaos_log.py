"""The chaos run's check of its late event log reader: each way of reading the log wrong is named."""

from __future__ import annotations

from ledger_cli.chaos.checks import Verdict
from ledger_cli.chaos.log_reader import Read, check

LOGGED = [(1, "e1"), (2, "e2"), (3, "e3"), (4, "e4")]


def _read(*items: tuple[int, str, int]) -> list[Read]:
    return [Read(p, e, "acct" if s else None, s or None) for p, e, s in items]


def _failed(read: list[Read], events: int = 4, failure: str | None = None) -> set[str]:
    v = Verdict()
    check(v, read, LOGGED, events=events, failure=failure)
    return {name for name, n in v.figures.items() if name != "log_reader_read" and n}


def test_reading_the_whole_log_once_in_order_passes() -> None:
    assert _failed(_read((1, "e1", 1), (2, "e2", 0), (3, "e3", 2), (4, "e4", 3))) == set()


def test_each_way_of_reading_it_wrong_is_named() -> None:
    assert _failed(_read((1, "e1", 0), (3, "e3", 0), (4, "e4", 0))) >= {"log_reader_out_of_order"}
    assert _failed(_read((1, "e1", 0), (2, "e2", 0), (2, "e2", 0), (3, "e3", 0))) >= {"log_reader_out_of_order"}
    assert _failed(_read((1, "e1", 0), (2, "x", 0), (3, "e3", 0), (4, "e4", 0))) == {"log_reader_wrong_event"}
    assert _failed(_read((1, "e1", 0), (2, "e2", 0))) == {"log_reader_missing"}
    assert _failed(_read((1, "e1", 2), (2, "e2", 1), (3, "e3", 0), (4, "e4", 0))) == {"log_reader_stream_order"}
    everything = _read((1, "e1", 0), (2, "e2", 0), (3, "e3", 0), (4, "e4", 0))
    assert _failed(everything, events=5) == {"log_unnumbered"}
    assert _failed(everything, failure="ReaderBehind") == {"log_reader_stopped"}
