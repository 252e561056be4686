"""The matching engine: statement lines against ledger postings under a source's rules. Pure, no I/O.

The result names every line and every posting exactly once, either in a :class:`Match` or in a
:class:`Break`, and depends only on the inputs' content, never on their order (each pass walks lines and
postings sorted by value date, then id). Passes, in order:

1. reference: a line's reference (equal to, or for ``contains`` a token of its reference or description
   equal to) a posting's reference; amount within the tolerance, date within the window. One posting:
   one-to-one; else all the reference's postings in the window summing to the line: one-to-many (a payout
   batch against its transfers).
2. many-to-one: lines sharing one posting's reference summing to it (a settlement net of fees: the gross
   line and the fee line against the net posting).
3. by amount (``by_amount``): the same amount, the nearest date in the window.
4. reversals: two left-over lines with one reference whose amounts cancel (the bank reversed a line).
5. breaks: a left-over line identical to another line (reference, amount, date) is a ``duplicate``; one
   with a reference's posting in amount but not in time ``date_outside_window``; in time but not in amount
   ``amount_differs`` (the break names the posting, which no other break names); else
   ``statement_line_unmatched``. Left-over postings: ``ledger_transaction_unmatched``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

MatchKind = Literal["one_to_one", "one_to_many", "many_to_one", "reversal"]
Reason = Literal[
    "statement_line_unmatched", "ledger_transaction_unmatched", "amount_differs", "date_outside_window", "duplicate"
]
REASONS: tuple[Reason, ...] = (
    "statement_line_unmatched",
    "ledger_transaction_unmatched",
    "amount_differs",
    "date_outside_window",
    "duplicate",
)
_SAME = "same reference, amount and date as another line"
_TOKENS = re.compile(r"[A-Za-z0-9_.:\-]+")


@dataclass(frozen=True, slots=True)
class Line:
    """A statement line: amount in minor units as the statement signs it, ``day`` a date's ordinal."""

    id: int
    amount: int
    day: int
    currency: str
    reference: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True)
class Item:
    """A ledger posting on the source's account, signed as the statement would sign it."""

    id: int
    amount: int
    day: int
    currency: str
    reference: str = ""


@dataclass(frozen=True, slots=True)
class Rules:
    """How a source's lines match: declared once per source (``ledger_common.recon.sources``)."""

    tolerance: int = 0
    window_days: int = 0
    reference: Literal["equals", "contains", "none"] = "equals"
    by_amount: bool = False
    one_to_many: bool = True
    many_to_one: bool = True


@dataclass(frozen=True, slots=True)
class Match:
    kind: MatchKind
    line_ids: tuple[int, ...]
    item_ids: tuple[int, ...]
    #: Statement minus ledger (within the tolerance).
    difference: int = 0


@dataclass(frozen=True, slots=True)
class Break:
    reason: Reason
    line_id: int | None
    item_id: int | None
    #: The statement's amount (or the posting's, for an unmatched posting), and what the other side says.
    amount: int
    expected: int | None = None
    detail: str = ""


@dataclass(slots=True)
class Result:
    matches: list[Match] = field(default_factory=list)
    breaks: list[Break] = field(default_factory=list)


@dataclass(slots=True)
class _State:
    rules: Rules
    lines: list[Line]
    items: list[Item]
    by_ref: dict[str, list[Item]]
    used: set[int] = field(default_factory=set)
    settled: set[int] = field(default_factory=set)
    result: Result = field(default_factory=Result)
    _by_amount: dict[tuple[str, int], list[Item]] | None = None

    def same_amount(self, line: Line) -> list[Item]:
        """Unused postings of the line's currency and amount (an index made on first use)."""
        if self._by_amount is None:
            self._by_amount = defaultdict(list)
            for item in self.items:
                self._by_amount[(item.currency, item.amount)].append(item)
        return [i for i in self._by_amount.get((line.currency, line.amount), ()) if i.id not in self.used]

    def candidates(self, line: Line) -> list[Item]:
        """Unused postings whose reference the line's names, in the postings' order."""
        if self.rules.reference == "none" or not self.by_ref:
            return []
        if self.rules.reference == "equals":
            found = self.by_ref.get(line.reference, []) if line.reference else []
        else:
            tokens = {line.reference, *_TOKENS.findall(line.reference), *_TOKENS.findall(line.description)}
            found = sorted((i for t in tokens if t for i in self.by_ref.get(t, ())), key=_order)
        return [i for i in found if i.id not in self.used and i.currency == line.currency]

    def near(self, a: int, b: int) -> bool:
        return abs(a - b) <= self.rules.tolerance

    def in_window(self, line: Line, item: Item) -> bool:
        return abs(line.day - item.day) <= self.rules.window_days

    def match(self, kind: MatchKind, lines: Sequence[Line], items: Sequence[Item]) -> None:
        diff = sum(x.amount for x in lines) - sum(i.amount for i in items)
        self.result.matches.append(Match(kind, tuple(x.id for x in lines), tuple(i.id for i in items), diff))
        self.settled.update(x.id for x in lines)
        self.used.update(i.id for i in items)

    def left(self) -> list[Line]:
        return [x for x in self.lines if x.id not in self.settled]


def _order(x: Line | Item) -> tuple[int, int]:
    return x.day, x.id


#: What makes two lines the same: currency, reference, amount, day.
LineKey = tuple[str, str, int, int]


def key_of(line: Line) -> LineKey:
    return line.currency, line.reference, line.amount, line.day


def reconcile(
    lines: Iterable[Line], items: Iterable[Item], rules: Rules, settled: frozenset[LineKey] = frozenset()
) -> Result:
    """Match ``lines`` against ``items``; every line and item ends in exactly one match or break.

    ``settled``: the keys of lines matched by earlier runs, so a copy of one is a duplicate too."""
    ordered_items = sorted(items, key=_order)
    by_ref: dict[str, list[Item]] = defaultdict(list)
    for item in ordered_items:
        if item.reference:
            by_ref[item.reference].append(item)
    state = _State(rules, sorted(lines, key=_order), ordered_items, dict(by_ref))
    _by_reference(state)
    if rules.many_to_one:
        _many_to_one(state)
    if rules.by_amount:
        _by_amount(state)
    _reversals(state)
    _breaks(state, settled)
    return state.result


def _by_reference(s: _State) -> None:
    for line in s.lines:
        cands = s.candidates(line)
        if not cands:
            continue
        one = next((i for i in cands if s.near(i.amount, line.amount) and s.in_window(line, i)), None)
        if one is not None:
            s.match("one_to_one", [line], [one])
            continue
        batch = [i for i in cands if s.in_window(line, i)]
        if s.rules.one_to_many and len(batch) > 1 and s.near(sum(i.amount for i in batch), line.amount):
            s.match("one_to_many", [line], batch)


def _many_to_one(s: _State) -> None:
    lines_of: dict[int, list[Line]] = defaultdict(list)
    items: dict[int, Item] = {}
    for line in s.left():
        for item in s.candidates(line):
            if s.in_window(line, item):
                lines_of[item.id].append(line)
                items[item.id] = item
    for item in sorted(items.values(), key=_order):
        group = [x for x in lines_of[item.id] if x.id not in s.settled]
        if len(group) > 1 and item.id not in s.used and s.near(sum(x.amount for x in group), item.amount):
            s.match("many_to_one", group, [item])


def _by_amount(s: _State) -> None:
    for line in s.left():
        fits = [i for i in s.same_amount(line) if s.in_window(line, i)]
        if fits:
            s.match("one_to_one", [line], [min(fits, key=lambda i: (abs(i.day - line.day), i.day, i.id))])


def _reversals(s: _State) -> None:
    open_: dict[tuple[str, str, int], list[Line]] = defaultdict(list)
    for line in s.left():
        if not line.reference:
            continue
        twin = open_.get((line.currency, line.reference, -line.amount))
        if twin:
            s.match("reversal", [twin.pop(0), line], [])
        else:
            open_[(line.currency, line.reference, line.amount)].append(line)


def _breaks(s: _State, settled: frozenset[LineKey]) -> None:
    seen: set[LineKey] = set()
    for line in s.lines:  # every line, matched or not: a copy of a matched line is the duplicate
        key = key_of(line)
        first = key not in seen and key not in settled
        seen.add(key)
        if line.id in s.settled:
            continue
        if line.reference and not first:
            s.result.breaks.append(
                Break("duplicate", line.id, None, line.amount, detail="same reference, amount, date")
            )
            continue
        s.result.breaks.append(_diagnose(s, line))
    for item in s.items:
        if item.id not in s.used:
            detail = f"reference {item.reference}" if item.reference else ""
            s.result.breaks.append(Break("ledger_transaction_unmatched", None, item.id, item.amount, detail=detail))


def _diagnose(s: _State, line: Line) -> Break:
    """Why a left-over line did not match: the closest posting of its reference (or amount), if any."""
    cands = s.candidates(line)
    if s.rules.by_amount:
        cands += s.same_amount(line)
    late = [i for i in cands if s.near(i.amount, line.amount) and not s.in_window(line, i)]
    if late:
        item = min(late, key=lambda i: (abs(i.day - line.day), i.day, i.id))
        s.used.add(item.id)
        days = line.day - item.day
        return Break("date_outside_window", line.id, item.id, line.amount, item.amount, f"{days:+d} days")
    off = [i for i in cands if s.in_window(line, i)] if line.reference else []
    if off:
        item = min(off, key=lambda i: (abs(i.amount - line.amount), i.day, i.id))
        s.used.add(item.id)
        return Break("amount_differs", line.id, item.id, line.amount, item.amount, f"{line.amount - item.amount:+d}")
    return Break("statement_line_unmatched", line.id, None, line.amount)
