"""What the reconciliation read routes answer (``http_gateway.routes.recon``): sources, imports, runs,
breaks (each with its statement line and ledger posting) and matches (their two sides)."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from contracts.base import Contract
from contracts.recon import BreakReason, BreakState, ReconciliationCompleted, SourceConfig


class SourceView(Contract):
    name: str
    config: SourceConfig
    created_at: datetime
    updated_at: datetime


class Imported(Contract):
    """An imported statement file; ``created`` false: the same bytes were imported before, nothing changed."""

    file_id: UUID
    lines: int
    created: bool


class RunView(Contract):
    run_id: UUID
    source: str
    command_id: str
    principal: str
    finished_at: datetime
    summary: ReconciliationCompleted


class RunPage(Contract):
    runs: list[RunView]


class StatementLine(Contract):
    """One side of a match or break: a line as the statement says it (amount in minor units)."""

    line_id: int
    file_id: UUID
    line_no: int
    value_date: date
    amount: int
    currency: str
    reference: str
    description: str
    #: The match that settled it, if any (``GET /v1/recon/matches/{match_id}``).
    match_id: UUID | None = None


class LedgerPosting(Contract):
    """The other side: a posting on the source's account and its transaction."""

    posting_id: int
    transaction_id: UUID
    amount: int
    currency: str
    posted_at: datetime
    description: str | None
    metadata: dict[str, str]


class BreakView(Contract):
    break_id: UUID
    source: str
    reason: BreakReason
    state: BreakState
    opened_at: datetime
    #: Seconds since it opened (until it closed, once closed).
    age_seconds: int
    closed_at: datetime | None
    amount: int
    expected: int | None
    detail: str
    explanation: str | None
    resolution: str | None
    resolving_transaction_id: UUID | None
    closed_by: str | None
    line: StatementLine | None
    posting: LedgerPosting | None


class BreakPage(Contract):
    breaks: list[BreakView]
    next_cursor: str | None


class MatchView(Contract):
    """A match's two sides side by side."""

    match_id: UUID
    source: str
    kind: str
    difference: int
    created_at: datetime
    lines: list[StatementLine]
    postings: list[LedgerPosting]


class DayBalance(Contract):
    """One day of a source: the statement's closing balance against the ledger account's at the day's end
    (UTC), in the statement's sign; ``drift`` is statement minus ledger (0: they agree)."""

    day: date
    statement_balance: int
    ledger_balance: int
    drift: int


class BalanceCheck(Contract):
    source: str
    currency: str
    days: list[DayBalance]


class OpenBreakCount(Contract):
    source: str
    reason: BreakReason
    #: ``lt_1d``, ``1d_7d`` or ``gt_7d``.
    age: str
    count: int


class OpenBreaks(Contract):
    """Open breaks counted by source, reason and age (what the ``ledger_recon_open_breaks`` gauge exports)."""

    counts: list[OpenBreakCount]
