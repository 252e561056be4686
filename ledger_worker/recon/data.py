"""The reconciliation objects a batch works on: breaks (locked, written back) and each run's inputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

from contracts.recon import ReconciliationCompleted
from ledger_common.recon.engine import Item, Line, LineKey, Match
from ledger_common.recon.sources import SourceConfig


@dataclass(slots=True, eq=False)  # identity, so changed objects can be tracked in a set
class ReconBreak:
    id: UUID
    source_id: UUID
    source: str
    #: The source's ledger account and the sign of its postings against the statement's (not stored here).
    account_id: UUID
    sign: int
    reason: str
    line_id: int | None
    posting_id: int | None
    transaction_id: UUID | None
    amount: int
    expected: int | None
    detail: str
    opened_at: datetime
    state: str = "open"
    run_id: UUID | None = None
    closed_at: datetime | None = None
    explanation: str | None = None
    resolution: str | None = None
    resolving_transaction_id: UUID | None = None
    closed_by: str | None = None
    new: bool = False


@dataclass(slots=True)
class RunInput:
    """A source, locked, with its open lines, its account's unsettled postings and its open breaks."""

    source_id: UUID
    name: str
    config: SourceConfig
    lines: list[Line]
    items: list[Item]
    #: The transaction of each posting (by posting id).
    transactions: dict[int, UUID]
    open_breaks: list[ReconBreak]
    #: The last value date the batch's run of this source reconciles (``RunReconciliation.until``), if any.
    until: date | None = None
    #: Keys of lines earlier runs matched that open lines share (``engine.reconcile``'s ``settled``).
    settled: frozenset[LineKey] = frozenset()


@dataclass(slots=True)
class RunWrite:
    """What an applied run stores: its row, its matches and the breaks it opened."""

    run_id: UUID
    source_id: UUID
    summary: ReconciliationCompleted
    matches: list[tuple[UUID, Match]]
    transactions: dict[int, UUID]
    opened: list[ReconBreak]


@dataclass(slots=True)
class ReconBook:
    """The batch's reconciliation working set."""

    runs: dict[str, RunInput] = field(default_factory=dict)
    breaks: dict[UUID, ReconBreak] = field(default_factory=dict)
