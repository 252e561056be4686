"""The verdict: what the clients were told and the events received, against what the ledger recorded.

:func:`snapshot` reads the database once the run has drained; :func:`check` is pure, so each rule can be
read (and tested) on its own. Every rule adds figures to the report and, when broken, a violation line
with a few example subjects.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from ledger_cli.chaos import expectations
from ledger_cli.chaos.catalogue import Spec
from ledger_cli.chaos.collector import Event
from ledger_cli.chaos.expectations import REFUSED_EVENT, Effects
from ledger_cli.chaos.load import Tally

EXAMPLES = 5


@dataclass(frozen=True)
class Recorded:
    command_type: str
    status: str
    refusal: str | None


@dataclass
class Snapshot:
    """What the ledger holds after the drain."""

    commands: dict[str, Recorded]
    postings: dict[str, Counter[tuple[str, int]]]  # command id -> (account key, amount) -> count
    transactions: Counter[str]  # command id -> transactions
    balances: dict[str, int]  # account key -> stored balance
    last_sequence: dict[str, int]  # user account id -> last sequence
    outbox_rows: int
    outbox_unsent: int


_COMMANDS = "SELECT command_id, command_type, status, result->>'refusal' AS refusal FROM commands"
_POSTINGS = (
    "SELECT t.command_id, a.kind, a.currency, a.id::text AS account, p.amount FROM postings p"
    " JOIN transactions t ON t.id = p.transaction_id JOIN accounts a ON a.id = p.account_id"
)
_TRANSACTIONS = "SELECT command_id, count(*) AS n FROM transactions GROUP BY 1"
_ACCOUNTS = "SELECT id::text AS account, kind, currency, balance, last_sequence FROM accounts"
#: Events ever written, and outbox rows still waiting (sent ones are deleted by the relay).
_OUTBOX = "SELECT (SELECT count(*) FROM events) AS n, (SELECT count(*) FROM outbox WHERE dead_at IS NULL) AS unsent"


async def snapshot(conn: asyncpg.Connection) -> Snapshot:
    """Everything the checks need, read in one repeatable-read snapshot."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        commands = {
            r["command_id"]: Recorded(r["command_type"], r["status"], r["refusal"]) for r in await conn.fetch(_COMMANDS)
        }
        postings: dict[str, Counter[tuple[str, int]]] = defaultdict(Counter)
        for r in await conn.fetch(_POSTINGS):
            postings[r["command_id"]][(_key(r), r["amount"])] += 1
        transactions = Counter({r["command_id"]: r["n"] for r in await conn.fetch(_TRANSACTIONS)})
        accounts = await conn.fetch(_ACCOUNTS)
        outbox = await conn.fetchrow(_OUTBOX)
    return Snapshot(
        commands=commands,
        postings=dict(postings),
        transactions=transactions,
        balances={_key(a): a["balance"] for a in accounts},
        last_sequence={a["account"]: a["last_sequence"] for a in accounts if a["kind"] == "user"},
        outbox_rows=outbox["n"],
        outbox_unsent=outbox["unsent"],
    )


def _key(row: Any) -> str:
    return expectations.system_key(row["currency"]) if row["kind"] == "system" else str(row["account"])


@dataclass
class Verdict:
    figures: dict[str, Any] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    def rule(self, name: str, subjects: list[str], what: str) -> None:
        """Record ``len(subjects)`` under ``name``; a non-empty list is a violation."""
        self.figures[name] = len(subjects)
        if subjects:
            self.violations.append(f"{name}={len(subjects)}: {what} (e.g. {', '.join(subjects[:EXAMPLES])})")


@dataclass(frozen=True)
class Inputs:
    commands: dict[str, Spec]  # every distinct valid command the load began to send
    opens: set[str]
    tally: Tally
    events: dict[str, Event]  # event_id -> first arrival, in arrival order
    deliveries: int
    event_conflicts: list[str]  # event ids delivered twice with different content
    dead_letters: list[str]  # message ids found in ledger.commands.dead
    audit_findings: list[str]
    unexpected_exits: int


def check(inp: Inputs, snap: Snapshot) -> Verdict:
    v = Verdict()
    _commands(v, inp, snap)
    effects = {
        cid: expectations.effects(rec.command_type, inp.commands[cid].payload, rec.status)
        for cid, rec in snap.commands.items()
        if cid in inp.commands
    }
    _effects(v, effects, snap)
    _balances(v, effects, snap)
    _events(v, inp, effects, snap)
    _dead_letters(v, inp)
    v.rule("audit_findings", inp.audit_findings, "ledger audit is not clean")
    v.rule("unexpected_exits", [str(inp.unexpected_exits)] * inp.unexpected_exits, "a process died on its own")
    return v


def _commands(v: Verdict, inp: Inputs, snap: Snapshot) -> None:
    t = inp.tally
    acked = t.confirmed | set(t.answers)
    recorded = snap.commands
    v.figures["applied"] = sum(1 for r in recorded.values() if r.status == "applied")
    v.figures["refused"] = sum(1 for r in recorded.values() if r.status == "refused")
    v.figures["refusals"] = dict(Counter(r.refusal for r in recorded.values() if r.status == "refused"))
    v.figures["never_acknowledged"] = len(set(inp.commands) - acked)
    v.rule("lost", sorted(c for c in acked if c not in recorded), "a confirmed or answered command has no record")
    v.figures["unacknowledged_unrecorded"] = len(set(inp.commands) - acked - set(recorded))
    v.rule("unexpected_commands", sorted(set(recorded) - set(inp.commands)), "a recorded command the load never sent")
    wrong = [
        c
        for c, s in inp.commands.items()
        if c in recorded
        and s.certain_refusal
        and (recorded[c].status, recorded[c].refusal) != ("refused", s.certain_refusal)
    ]
    wrong += [c for c in inp.opens if c in recorded and recorded[c].status != "applied"]
    v.rule("wrong_outcomes", wrong, "a command whose outcome was certain got another one")
    disagree = []
    for key, answers in t.answers.items():
        rec = recorded.get(key)
        for a in answers:
            if rec is None or (a.outcome, a.code if a.outcome == "refused" else None) != (rec.status, rec.refusal):
                disagree.append(f"{key}:{a.status}/{a.code}")
    v.rule("http_answers_disagree", disagree, "an HTTP answer differs from the recorded outcome")
    v.rule("http_unanswered", sorted(t.unanswered), "an HTTP client never got a final answer")
    v.rule(
        "http_server_errors",
        [k for k, n in t.http_statuses.items() if k.startswith("5") and k != "503" for _ in range(n)],
        "the gateway answered a 5xx other than 503",
    )
    bad_http = [f"{case}:{status}" for case, status in t.malformed_http if not 400 <= status < 500]
    v.rule("malformed_http_not_4xx", bad_http, "a malformed HTTP request did not get a 4xx")


def _effects(v: Verdict, effects: dict[str, Effects], snap: Snapshot) -> None:
    doubled, wrong = [], []
    for cid, exp in effects.items():
        got = snap.postings.get(cid, Counter())
        if snap.transactions.get(cid, 0) > exp.transactions or sum(got.values()) > sum(exp.postings.values()):
            doubled.append(cid)
        elif got != exp.postings or snap.transactions.get(cid, 0) != exp.transactions:
            wrong.append(cid)
    orphans = sorted(set(snap.postings) - set(snap.commands))
    v.rule("duplicated_effects", doubled, "a command has more transactions or postings than it should")
    v.rule("wrong_effects", wrong + orphans, "a command's postings differ from its expected ones (or have no record)")


def _balances(v: Verdict, effects: dict[str, Effects], snap: Snapshot) -> None:
    applied = [e for cid, e in effects.items() if snap.commands[cid].status == "applied"]
    expected = expectations.balances(applied)
    keys = set(expected) | set(snap.balances)
    bad = sorted(
        f"{k}:{snap.balances.get(k)}!={expected.get(k, 0)}" for k in keys if snap.balances.get(k) != expected.get(k, 0)
    )
    v.rule("balance_mismatches", bad, "a stored balance differs from the sum of the applied commands")


def _events(v: Verdict, inp: Inputs, effects: dict[str, Effects], snap: Snapshot) -> None:
    received: dict[str, Counter[tuple[str, str | None]]] = defaultdict(Counter)
    by_account: dict[str, list[Event]] = defaultdict(list)
    for e in inp.events.values():
        received[e.command_id][(e.type, None if e.type == REFUSED_EVENT else e.account_id)] += 1
        if e.sequence is not None and e.account_id is not None:
            by_account[e.account_id].append(e)
    expected_total = sum(sum(e.events.values()) for e in effects.values())
    lost, phantom = [], []
    for cid in set(effects) | set(received):
        exp = effects[cid].events if cid in effects else Counter()
        got = received.get(cid, Counter())
        lost += [f"{cid}:{t}" for (t, _), n in (exp - got).items() for _ in range(n)]
        phantom += [f"{cid}:{t}" for (t, _), n in (got - exp).items() for _ in range(n)]
    v.figures["events_expected"] = expected_total
    v.figures["events_received"] = len(inp.events)
    v.figures["event_deliveries"] = inp.deliveries
    v.figures["event_duplicates"] = inp.deliveries - len(inp.events)
    v.figures["outbox_rows"] = snap.outbox_rows
    v.rule("events_lost", lost, "an event the ledger owed was never received")
    v.rule("events_unexpected", phantom, "an event was received that no recorded command explains")
    v.rule("event_id_conflicts", inp.event_conflicts, "two deliveries of one event_id differ")
    v.rule("outbox_unsent", [str(snap.outbox_unsent)] * snap.outbox_unsent, "outbox rows still unsent after the drain")
    order, stale = [], []
    for account, events in by_account.items():
        order += [f"{account}@{i + 1}:{e.sequence}" for i, e in enumerate(events) if e.sequence != i + 1]
        if events and events[-1].sequence == snap.last_sequence.get(account):
            last = next((e for e in reversed(events) if e.balance_after is not None), None)
            if last is not None and last.balance_after != snap.balances.get(account):
                stale.append(f"{account}:{last.balance_after}!={snap.balances.get(account)}")
    v.rule("order_violations", order, "an account's events arrived out of sequence or with a gap (after dedup)")
    v.rule("event_balance_mismatches", stale, "an account's last event does not carry its final balance")


def _dead_letters(v: Verdict, inp: Inputs) -> None:
    injected = inp.tally.malformed_amqp
    dead = set(inp.dead_letters)
    v.figures["malformed_injected"] = len(injected)
    v.figures["dead_lettered"] = len(inp.dead_letters)
    v.figures["dead_lettered_distinct"] = len(dead)
    v.rule(
        "dead_letters_not_malformed",
        sorted(dead - inp.tally.malformed_amqp_sent),
        "a valid command was dead-lettered",
    )
    v.rule("malformed_not_dead_lettered", sorted(injected - dead), "a malformed message is not in the dead letters")
