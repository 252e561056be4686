"""Reconciliation commands and events: a run of a statement source, and the breaks it leaves.

A run matches a source's open statement lines against the postings of the ledger account the source mirrors
(``ledger_common.recon``); it is a command, so it is authorised (scope ``reconcile``), recorded once per
command id and evented like any other. What does not match is a break, with a reason, an age and a state:
``open`` until a person explains it (``break.explain``: no money moves) or resolves it (``break.resolve``:
dismissed, or with an adjusting transaction posted between the source's account and a counter account,
linked to the break).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field

from contracts.base import MAX_AMOUNT, Contract, Currency, Text, WalletRef, WithParties
from contracts.keys import Scope
from contracts.refs import Ref
from contracts.spec import CommandSpec, PartyRule, post

#: A statement source's name (``recon_sources.name``).
SourceName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
Column = Annotated[str, Field(min_length=1, max_length=100)]
BreakReason = Literal[
    "statement_line_unmatched", "ledger_transaction_unmatched", "amount_differs", "date_outside_window", "duplicate"
]
BreakState = Literal["open", "explained", "resolved"]


LedgerField = Annotated[str, Field(pattern=r"^(metadata:[A-Za-z0-9_.:\-]{1,64}|description|command_id|id)$")]


class Columns(Contract):
    """Where each field is: a CSV header or a JSON-lines key."""

    amount: Column
    value_date: Column
    reference: Column | None = None
    description: Column | None = None
    #: A column of the line's currency; without one, every line is in the source's currency.
    currency: Column | None = None
    #: The account's balance after the line, as the statement prints it (the balance check reads it).
    closing_balance: Column | None = None
    date_format: str = "%Y-%m-%d"
    #: Statements that print money out as positive amounts: read every amount negated.
    negate: bool = False


class MatchRules(Contract):
    """The engine's rules (``ledger_common.recon.engine.Rules``) and how ledger postings are read."""

    tolerance: Annotated[int, Field(ge=0, le=10**12)] = 0
    window_days: Annotated[int, Field(ge=0, le=31)] = 0
    reference: Literal["equals", "contains", "none"] = "equals"
    #: What of a ledger transaction a line's reference is compared to: a metadata key
    #: (``metadata:psp_ref``), its description, its command id (the caller's idempotency key) or its id.
    ledger_reference: Annotated[
        str, Field(pattern=r"^(metadata:[A-Za-z0-9_.:\-]{1,64}|description|command_id|id)$")
    ] = "metadata:reference"
    by_amount: bool = False
    one_to_many: bool = True
    many_to_one: bool = True
    #: A statement line's sign against the mapped account's postings (credits positive): -1 when money
    #: arriving on the bank statement is a debit of the account that mirrors it.
    sign: Literal[1, -1] = 1


class SourceConfig(Contract):
    """One statement source."""

    account_id: UUID
    currency: Currency
    format: Literal["csv", "jsonl"] = "csv"
    columns: Columns
    rules: MatchRules = MatchRules()
    #: The CSV delimiter.
    delimiter: Annotated[str, Field(min_length=1, max_length=1)] = ","


class RunReconciliation(Contract):
    """Reconcile a statement source: match its open statement lines against its ledger account's postings.

    Matched lines and postings are settled; what does not match opens a break (one per reason and item: a
    break still open from an earlier run stays open and keeps its age); an open break whose items match now
    is resolved (``matched``). With ``dry_run`` nothing is written but the command's result, which reports
    what a run would do.
    """

    source: Annotated[SourceName, Ref("recon_source")]
    dry_run: bool = False
    #: Only statement lines value-dated up to this day (and postings up to the window after it): a run per
    #: day keeps a run's memory to the days it reconciles. Breaks of later lines are left as they are, and a
    #: posting after this day is not reported unmatched yet (its line may come in a later statement).
    until: date | None = None


class ResolveBreak(WithParties):
    """Resolve a break: dismissed, or with an adjusting transaction linked to it.

    With a counter party, the adjusting transaction moves the break's difference (or ``amount``) between the
    source's ledger account and the counter account, so the ledger says what the statement says; naming a
    counter party needs the ``transfer`` scope too (money moves), a system account (fees, revenue) ``treasury``
    as well. Refused ``break_not_open`` once resolved.
    """

    break_id: Annotated[UUID, Ref("recon_break")]
    counter_account_id: Annotated[UUID | None, Ref("account", party="counter", optional=True)] = None
    counter_wallet: Annotated[WalletRef | None, Ref("wallet", party="counter", optional=True)] = None
    #: In minor units of the source's currency (integers only: the payload names no currency to read a
    #: decimal with); default: the break's difference.
    amount: Annotated[int, Field(gt=0, le=MAX_AMOUNT, strict=True)] | None = None
    description: Text | None = None


class ExplainBreak(Contract):
    """Explain an open break without moving money (a known timing difference, a fee booked elsewhere)."""

    break_id: Annotated[UUID, Ref("recon_break")]
    explanation: Text


class ReconciliationCompleted(Contract):
    """Payload of ``reconciliation.completed`` and the ``reconciliation`` of a run's result."""

    run_id: UUID
    source: str
    dry_run: bool
    lines: int
    postings: int
    matched_lines: int
    matched_postings: int
    #: Matches by kind (``one_to_one``, ``one_to_many``, ``many_to_one``, ``reversal``).
    matches: dict[str, int]
    #: Breaks the run found, by reason (those still open from earlier runs included).
    breaks: dict[str, int]
    opened: int
    closed: int


class BreakChanged(Contract):
    """Payload of ``break.*``: the break as it is after the change."""

    break_id: Annotated[UUID, Ref("recon_break")]
    source: str
    reason: BreakReason
    state: BreakState
    line_id: int | None
    posting_id: int | None
    transaction_id: UUID | None
    amount: int
    expected: int | None
    opened_at: datetime
    #: ``matched`` (a later run matched its items), ``superseded`` (a later run found them under another
    #: reason: that break is open now), ``adjusted`` (an adjusting transaction), ``dismissed``.
    resolution: Literal["matched", "superseded", "adjusted", "dismissed"] | None = None
    resolving_transaction_id: UUID | None = None
    explanation: str | None = None


#: Event types of reconciliation (on no stream: a source is not an account).
BREAK_EVENTS = ("break.opened", "break.explained", "break.resolved")
RECON_EVENTS = ("reconciliation.completed", *BREAK_EVENTS)

COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "recon.run",
        RunReconciliation,
        Scope.RECONCILE,
        post("/v1/recon/sources/{source}/runs", "recon.run"),
        bound=False,
    ),
    CommandSpec(
        "break.explain",
        ExplainBreak,
        Scope.RECONCILE,
        post("/v1/recon/breaks/{break_id}/explain", "recon.explain"),
        bound=False,
    ),
    CommandSpec(
        "break.resolve",
        ResolveBreak,
        Scope.RECONCILE,
        post("/v1/recon/breaks/{break_id}/resolve", "recon.resolve"),
        # Naming a counter party moves money: it needs `transfer` too (and `treasury` for a system account).
        parties=(PartyRule("counter", reach="any", scope=Scope.TRANSFER, system=True),),
        bound=False,
    ),
)
