"""Rules for reconciliation: a run of a statement source, and explaining or resolving its breaks.

A run hands the source's open lines and its account's unsettled postings (``ledger_worker.recon.load``)
to the pure engine (``ledger_common.recon.engine``), then reconciles the engine's breaks with the ones
still open: a break found again stays open (its age runs on), a new one opens, one not found again is
resolved (``matched`` if its items matched, ``superseded`` if they broke for another reason).
"""

from __future__ import annotations

from collections import Counter
from typing import Any
from uuid import UUID, uuid4

from contracts.commands import Command
from contracts.ids import object_id
from contracts.recon import BreakChanged, ExplainBreak, ReconciliationCompleted, ResolveBreak, RunReconciliation
from contracts.results import Refusal
from ledger_common.recon.engine import Break, Item, Line, Match, Result, reconcile
from ledger_common.recon.sources import engine_rules
from ledger_worker.book import Book
from ledger_worker.model import Account, Refused
from ledger_worker.outcome import Outcome
from ledger_worker.postings import post
from ledger_worker.recon.data import ReconBreak, RunInput, RunWrite
from ledger_worker.rules.registry import outcome, rule

BreakKey = tuple[str, int | None, int | None]


@rule("recon.run")
def run_reconciliation(book: Book, cmd: Command, p: RunReconciliation) -> Outcome:
    out = outcome(cmd)
    run = book.recon.runs.get(p.source)
    if run is None:
        raise Refused(Refusal.SOURCE_NOT_FOUND, f"no statement source {p.source!r}")
    lines, items = _inputs(run, p)
    result = reconcile(lines, items, engine_rules(run.config.rules), run.settled)
    run_id = object_id("recon_run", principal=cmd.principal, command_id=cmd.command_id)
    in_scope = {x.id for x in lines}, {i.id for i in items}
    if p.until is not None:  # a posting within the window of the last day may yet meet a later statement's line
        late = {i.id for i in items if i.day > p.until.toordinal() - run.config.rules.window_days}
        result.breaks = [b for b in result.breaks if b.line_id is not None or b.item_id not in late]
        in_scope = in_scope[0], in_scope[1] - late
    still = {_key(b): b for b in run.open_breaks if b.state == "open" and _within(b, *in_scope)}
    found = {(b.reason, b.line_id, b.item_id): b for b in result.breaks}
    opened = [_new_break(book, run, run_id, b) for k, b in found.items() if k not in still]
    ending = [b for k, b in still.items() if k not in found]
    matched_lines = {x for m in result.matches for x in m.line_ids}
    matched_items = {i for m in result.matches for i in m.item_ids}
    summary = ReconciliationCompleted(
        run_id=run_id,
        source=run.name,
        dry_run=p.dry_run,
        lines=len(lines),
        postings=len(items),
        matched_lines=len(matched_lines),
        matched_postings=len(matched_items),
        matches=dict(sorted(Counter(m.kind for m in result.matches).items())),
        breaks=dict(sorted(Counter(b.reason for b in result.breaks).items())),
        opened=len(opened),
        closed=len(ending),
    )
    out.reconciliation = summary
    if p.dry_run:
        return out
    for b in ending:
        mine = b.line_id in matched_lines or b.posting_id in matched_items
        _close(book, b, cmd, state="resolved", resolution="matched" if mine else "superseded")
        out.emit("break.resolved", changed(b))
    for b in opened:
        out.emit("break.opened", changed(b))
    out.runs.append(RunWrite(run_id, run.source_id, summary, _matches(result), run.transactions, opened))
    out.emit("reconciliation.completed", summary)
    return out


@rule("break.explain")
def explain_break(book: Book, cmd: Command, p: ExplainBreak) -> Outcome:
    out = outcome(cmd)
    b = _break(book, p.break_id)
    if b.state != "open":
        raise Refused(Refusal.BREAK_NOT_OPEN, f"break {b.id} is {b.state}")
    _close(book, b, cmd, state="explained", explanation=p.explanation)
    out.break_id = b.id
    out.emit("break.explained", changed(b))
    return out


@rule("break.resolve")
def resolve_break(book: Book, cmd: Command, p: ResolveBreak) -> Outcome:
    """Dismissed, or adjusted: the ledger is moved to what the statement says, against the counter party."""
    out = outcome(cmd)
    b = _break(book, p.break_id)
    if b.state == "resolved":
        raise Refused(Refusal.BREAK_NOT_OPEN, f"break {b.id} is resolved already")
    counter_party = p.party("counter")
    transaction_id: UUID | None = None
    if counter_party is not None:
        account = book.account(b.account_id)
        counter = book.party(counter_party, account.currency)
        if not isinstance(counter, Account):
            raise Refused(Refusal.ACCOUNT_NOT_FOUND, f"wallet {counter_party.wallet} has no {account.currency} account")
        if counter.id == account.id:
            raise Refused(Refusal.SAME_ACCOUNT, "the counter account is the source's own account")
        delta = _difference(b)
        if p.amount is not None:
            delta = p.amount if delta >= 0 else -p.amount
        if delta == 0:
            raise Refused(Refusal.AMOUNT_OUT_OF_RANGE, f"break {b.id} has no difference to post; give an amount")
        moved = delta * b.sign  # statement sign to the account's posting sign
        transaction_id = post(
            book,
            out,
            [(account, moved), (counter, -moved)],
            amount=abs(moved),
            description=p.description or f"reconciliation adjustment ({b.reason})",
            metadata={"recon_break": str(b.id), "recon_source": b.source},
        )
        out.touch(counter)
    _close(
        book,
        b,
        cmd,
        state="resolved",
        resolution="dismissed" if transaction_id is None else "adjusted",
        resolving_transaction_id=transaction_id,
        explanation=p.description or b.explanation,
    )
    out.break_id, out.transaction_id = b.id, transaction_id
    out.emit("break.resolved", changed(b))
    return out


def _inputs(run: RunInput, p: RunReconciliation) -> tuple[list[Line], list[Item]]:
    """The run's lines and postings: up to ``until`` (and the window after it), less the items of breaks an
    earlier command of this batch explained or resolved (settled, as they would be for the next batch)."""
    closed = [b for b in run.open_breaks if b.state != "open"]
    lines, items = run.lines, run.items
    if p.until is not None:
        last = p.until.toordinal()
        lines = [x for x in lines if x.day <= last]
        items = [i for i in items if i.day <= last + run.config.rules.window_days]
    if closed:
        lines = [x for x in lines if x.id not in {b.line_id for b in closed}]
        items = [i for i in items if i.id not in {b.posting_id for b in closed}]
    return lines, items


def _within(b: ReconBreak, lines: set[int], items: set[int]) -> bool:
    """Whether a run that read ``lines`` and ``items`` decides this open break (a bounded run leaves the
    breaks of later lines and postings as they are)."""
    return b.line_id in lines if b.line_id is not None else b.posting_id in items


def changed(b: ReconBreak) -> BreakChanged:
    """The break as its events carry it (the fields are this module's own, already checked)."""
    fields: dict[str, Any] = {name: getattr(b, name) for name in _EVENT_FIELDS}
    return BreakChanged.model_construct(break_id=b.id, **fields)


_EVENT_FIELDS = (
    "source",
    "reason",
    "state",
    "line_id",
    "posting_id",
    "transaction_id",
    "amount",
    "expected",
    "opened_at",
    "resolution",
    "resolving_transaction_id",
    "explanation",
)


def _difference(b: ReconBreak) -> int:
    """What the statement says minus what the ledger says, in the statement's sign."""
    if b.line_id is None:  # a posting the statement does not have
        return -b.amount
    return b.amount - (b.expected or 0)


def _break(book: Book, break_id: UUID) -> ReconBreak:
    b = book.recon.breaks.get(break_id)
    if b is None:
        raise Refused(Refusal.BREAK_NOT_FOUND, f"break {break_id} does not exist")
    return b


def _close(book: Book, b: ReconBreak, cmd: Command, **changes: object) -> None:
    book.set(b, closed_at=book.now, closed_by=cmd.command_id, **changes)


def _key(b: ReconBreak) -> BreakKey:
    return b.reason, b.line_id, b.posting_id


def _new_break(book: Book, run: RunInput, run_id: UUID, b: Break) -> ReconBreak:
    return ReconBreak(
        id=uuid4(),
        source_id=run.source_id,
        source=run.name,
        account_id=run.config.account_id,
        sign=run.config.rules.sign,
        reason=b.reason,
        line_id=b.line_id,
        posting_id=b.item_id,
        transaction_id=run.transactions.get(b.item_id) if b.item_id is not None else None,
        amount=b.amount,
        expected=b.expected,
        detail=b.detail,
        opened_at=book.now,
        run_id=run_id,
        new=True,
    )


def _matches(result: Result) -> list[tuple[UUID, Match]]:
    return [(uuid4(), m) for m in result.matches]
