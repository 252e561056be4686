"""The matching engine: each pass on a small statement, and its promises as properties."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_common.recon.engine import Item, Line, Rules, reconcile

D = 739_000  # a day's ordinal


def L(i: int, amount: int, day: int = 0, ref: str = "", desc: str = "") -> Line:
    return Line(i, amount, D + day, "USD", ref, desc)


def I(i: int, amount: int, day: int = 0, ref: str = "") -> Item:  # noqa: E743
    return Item(i, amount, D + day, "USD", ref)


DAY = Rules(window_days=1)


def kinds(lines: list[Line], items: list[Item], rules: Rules = DAY) -> list[tuple[object, ...]]:
    r = reconcile(lines, items, rules)
    return sorted(
        [(m.kind, m.line_ids, m.item_ids) for m in r.matches] + [(b.reason, b.line_id, b.item_id) for b in r.breaks],
        key=str,
    )


def test_one_to_one_by_reference_within_the_window() -> None:
    assert kinds([L(1, 500, 1, "A")], [I(10, 500, 0, "A")]) == [("one_to_one", (1,), (10,))]


def test_a_payout_batch_against_its_transfers_is_one_to_many() -> None:
    items = [I(10, 300, 0, "PO-1"), I(11, 200, 0, "PO-1"), I(12, 100, 0, "PO-1")]
    assert kinds([L(1, 600, 0, "PO-1")], items) == [("one_to_many", (1,), (10, 11, 12))]


def test_a_settlement_net_of_fees_is_many_to_one() -> None:
    lines = [L(1, 1000, 0, "ST-9"), L(2, -30, 0, "ST-9")]
    assert kinds(lines, [I(10, 970, 0, "ST-9")]) == [("many_to_one", (1, 2), (10,))]


def test_contains_finds_the_reference_inside_a_description() -> None:
    rules = Rules(reference="contains", window_days=1)
    got = kinds([L(1, 500, 0, "", "SEPA CREDIT ref ORD-77 thank you")], [I(10, 500, 0, "ORD-77")], rules)
    assert got == [("one_to_one", (1,), (10,))]


def test_by_amount_takes_the_nearest_day() -> None:
    rules = Rules(reference="none", by_amount=True, window_days=3)
    got = kinds([L(1, 500, 2)], [I(10, 500, 0), I(11, 500, 3)], rules)
    assert got == [("ledger_transaction_unmatched", None, 10), ("one_to_one", (1,), (11,))]


def test_a_reversed_line_cancels_its_original() -> None:
    assert kinds([L(1, 500, 0, "X"), L(2, -500, 1, "X")], []) == [("reversal", (1, 2), ())]


def test_every_kind_of_break() -> None:
    lines = [
        L(1, 500, 0, "A"),  # matched
        L(2, 500, 0, "A"),  # a duplicate of line 1
        L(3, 700, 3, "B"),  # its posting is three days earlier: outside a one-day window
        L(4, 800, 0, "C"),  # its posting says 750
        L(5, 900, 0, "D"),  # nothing in the ledger
    ]
    items = [I(10, 500, 0, "A"), I(11, 700, 0, "B"), I(12, 750, 0, "C"), I(13, 40, 0, "E")]
    assert kinds(lines, items) == sorted(
        [
            ("one_to_one", (1,), (10,)),
            ("duplicate", 2, None),
            ("date_outside_window", 3, 11),
            ("amount_differs", 4, 12),
            ("statement_line_unmatched", 5, None),
            ("ledger_transaction_unmatched", None, 13),
        ],
        key=str,
    )


def test_tolerance_allows_a_small_difference() -> None:
    r = reconcile([L(1, 1002, 0, "A")], [I(10, 1000, 0, "A")], Rules(tolerance=2))
    assert [(m.kind, m.difference) for m in r.matches] == [("one_to_one", 2)]


def test_currency_must_agree() -> None:
    r = reconcile([Line(1, 500, D, "EUR", "A")], [I(10, 500, 0, "A")], Rules())
    assert sorted(b.reason for b in r.breaks) == ["ledger_transaction_unmatched", "statement_line_unmatched"]


refs = st.sampled_from(["", "A", "B", "C", "PO-1"])
lines_st = st.lists(st.tuples(st.integers(-1000, 1000).filter(bool), st.integers(0, 5), refs), max_size=25)
rules_st = st.builds(
    Rules,
    tolerance=st.integers(0, 3),
    window_days=st.integers(0, 3),
    reference=st.sampled_from(["equals", "contains", "none"]),
    by_amount=st.booleans(),
)


Raw = list[tuple[int, int, str]]


def _build(raw_lines: Raw, raw_items: Raw) -> tuple[list[Line], list[Item]]:
    return (
        [L(i, a, d, r) for i, (a, d, r) in enumerate(raw_lines, start=1)],
        [I(i, a, d, r) for i, (a, d, r) in enumerate(raw_items, start=1000)],
    )


@settings(max_examples=200, deadline=None)
@given(lines_st, lines_st, rules_st, st.randoms())
def test_every_line_and_posting_ends_exactly_once_whatever_the_order(
    raw_lines: list[tuple[int, int, str]], raw_items: list[tuple[int, int, str]], rules: Rules, rnd: random.Random
) -> None:
    lines, items = _build(raw_lines, raw_items)
    result = reconcile(lines, items, rules)
    seen_lines = [x for m in result.matches for x in m.line_ids] + [b.line_id for b in result.breaks if b.line_id]
    seen_items = [x for m in result.matches for x in m.item_ids] + [b.item_id for b in result.breaks if b.item_id]
    assert sorted(seen_lines) == [x.id for x in lines]
    assert sorted(seen_items) == [i.id for i in items]
    for m in result.matches:  # what a match pairs agrees within the tolerance (a reversal nets to zero)
        assert abs(m.difference) <= rules.tolerance and (m.kind != "reversal" or m.difference == 0)
    rnd.shuffle(lines)
    rnd.shuffle(items)
    again = reconcile(lines, items, rules)
    assert again.matches == result.matches and sorted(again.breaks, key=str) == sorted(result.breaks, key=str)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 10**9), st.integers(0, 30)), max_size=40))
def test_a_ledger_that_says_what_the_statement_says_matches_entirely(raw: list[tuple[int, int]]) -> None:
    lines = [L(i, a, d, f"R{i}") for i, (a, d) in enumerate(raw)]
    items = [I(1000 + i, a, d, f"R{i}") for i, (a, d) in enumerate(raw)]
    result = reconcile(lines, items, Rules())
    assert not result.breaks and all(m.kind == "one_to_one" for m in result.matches)
