"""The chaos checker must see each kind of broken guarantee: a clean world passes, each defect is counted."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import replace

from ledger_cli.chaos import plan, schedule
from ledger_cli.chaos.catalogue import Spec
from ledger_cli.chaos.checks import Inputs, Recorded, Snapshot, check
from ledger_cli.chaos.collector import Event
from ledger_cli.chaos.load import Answer, Tally

A, B = str(uuid.UUID(int=1)), str(uuid.UUID(int=2))
SYS = "system:CHA"
COMMANDS = {
    "open-a": Spec("account.open", {"account_id": A, "currency": "CHA"}),
    "open-b": Spec("account.open", {"account_id": B, "currency": "CHA"}),
    "dep": Spec("deposit", {"account_id": A, "amount": 100, "currency": "CHA"}),
    "tr": Spec("transfer", {"debit_account_id": A, "credit_account_id": B, "amount": 30, "currency": "CHA"}),
    "big": Spec("withdraw", {"account_id": B, "amount": 10**15, "currency": "CHA"}, "insufficient_funds"),
}


def _event(n: int, kind: str, command: str, account: str | None, seq: int | None, bal: int | None) -> Event:
    return Event(str(uuid.UUID(int=100 + n)), kind, command, account, seq, bal)


EVENTS = [
    _event(1, "account.opened", "open-a", A, 1, None),
    _event(2, "account.opened", "open-b", B, 1, None),
    _event(3, "account.credited", "dep", A, 2, 100),
    _event(4, "account.debited", "tr", A, 3, 70),
    _event(5, "account.credited", "tr", B, 2, 30),
    _event(6, "command.refused", "big", B, None, None),
]


def _snapshot() -> Snapshot:
    return Snapshot(
        commands={
            "open-a": Recorded("account.open", "applied", None),
            "open-b": Recorded("account.open", "applied", None),
            "dep": Recorded("deposit", "applied", None),
            "tr": Recorded("transfer", "applied", None),
            "big": Recorded("withdraw", "refused", "insufficient_funds"),
        },
        postings={
            "dep": Counter({(SYS, -100): 1, (A, 100): 1}),
            "tr": Counter({(A, -30): 1, (B, 30): 1}),
        },
        transactions=Counter({"dep": 1, "tr": 1}),
        balances={A: 70, B: 30, SYS: -100},
        last_sequence={A: 3, B: 2},
        outbox_rows=6,
        outbox_unsent=0,
    )


def _inputs(events: list[Event] = EVENTS, dead: list[str] | None = None, **tally: object) -> Inputs:
    t = Tally(confirmed=set(COMMANDS), malformed_amqp={"bad-1"}, malformed_amqp_sent={"bad-1"})
    for name, value in tally.items():
        setattr(t, name, value)
    return Inputs(
        commands=COMMANDS,
        opens={"open-a", "open-b"},
        tally=t,
        events={e.event_id: e for e in events},
        deliveries=len(events) + 1,
        event_conflicts=[],
        dead_letters=["bad-1"] if dead is None else dead,
        audit_findings=[],
        unexpected_exits=0,
    )


def test_a_clean_run_has_no_violation() -> None:
    verdict = check(_inputs(), _snapshot())
    assert verdict.violations == []
    assert verdict.figures["events_expected"] == 6 and verdict.figures["event_duplicates"] == 1


def test_a_doubled_posting_is_a_duplicated_effect_and_a_balance_mismatch() -> None:
    snap = _snapshot()
    snap.postings["dep"] = Counter({(SYS, -100): 2, (A, 100): 2})
    snap.balances[A] = 170
    figures = check(_inputs(), snap).figures
    assert figures["duplicated_effects"] == 1 and figures["balance_mismatches"] == 1


def test_a_lost_command_and_a_lost_event_are_counted() -> None:
    snap = _snapshot()
    del snap.commands["big"]
    figures = check(_inputs(events=EVENTS[:-1]), snap).figures
    assert figures["lost"] == 1
    snap = _snapshot()
    figures = check(_inputs(events=[e for e in EVENTS if e.command_id != "dep"]), snap).figures
    assert figures["events_lost"] == 1 and figures["order_violations"] >= 1


def test_events_out_of_order_are_order_violations() -> None:
    swapped = [EVENTS[0], EVENTS[1], EVENTS[3], EVENTS[2], EVENTS[4], EVENTS[5]]
    assert check(_inputs(events=swapped), _snapshot()).figures["order_violations"] == 2


def test_a_wrong_http_answer_and_a_wrong_outcome_are_counted() -> None:
    answers = {"tr": [Answer(422, "refused", "insufficient_funds")]}
    snap = _snapshot()
    snap.commands["big"] = replace(snap.commands["big"], refusal="account_not_found")
    figures = check(_inputs(answers=answers), snap).figures
    assert figures["http_answers_disagree"] == 1 and figures["wrong_outcomes"] == 1


def test_dead_letters_must_be_exactly_the_malformed_messages() -> None:
    figures = check(_inputs(dead=["tr"]), _snapshot()).figures
    assert figures["dead_letters_not_malformed"] == 1 and figures["malformed_not_dead_lettered"] == 1


def test_the_same_seed_replays_the_same_plan_and_faults() -> None:
    assert plan.build(5, 400) == plan.build(5, 400)
    assert plan.build(5, 400) != plan.build(6, 400)
    one = schedule.build(5, faults=12, main_items=400, workers=2, relays=1, broker_restart=False)
    assert one == schedule.build(5, faults=12, main_items=400, workers=2, relays=1, broker_restart=False)
    assert {f.kind for f in one} == set(schedule.KINDS) - {"restart_broker"}
