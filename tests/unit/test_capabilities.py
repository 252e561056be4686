"""The capability table: one source (contracts.catalogue) for the document and the enforcement."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.capabilities import BEGIN, END, render
from contracts.catalogue import COMMANDS, CommandSpec
from contracts.money import Leg
from contracts.refs import nested, parties, references

SECURITY = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def test_security_doc_shows_the_table_the_worker_enforces() -> None:
    text = SECURITY.read_text()
    assert text.split(BEGIN, 1)[1].split(END, 1)[0].strip() == render(), "run `make schemas`"


def _sides(spec: CommandSpec) -> set[str]:
    """Every side of the command a rule must cover: its payload's parties (legs included) and the
    objects it acts on by id (a hold, an intent)."""
    sides = {p.name for p in parties(spec.payload)}
    if nested(spec.payload):
        sides |= {p.name for p in parties(Leg)}
    sides |= {d.ref.kind for d in references(spec.payload) if d.ref.kind in ("hold", "intent") and not d.ref.new}
    return sides


@pytest.mark.parametrize("spec", [s for s in COMMANDS if s.bound and s.scope is not None], ids=lambda s: s.type)
def test_every_side_a_bound_caller_may_name_has_a_rule(spec: CommandSpec) -> None:
    """A side without a rule would not be checked against the caller's wallet: a new party must say who
    may stand there."""
    assert _sides(spec) == {r.name for r in spec.parties}


def test_commands_only_the_ledger_sends_have_no_caller_scope() -> None:
    assert {s.type for s in COMMANDS if s.scope is None} == {"hold.expire", "intent.expire"}
