"""The HTTP interface's documents: what the gateway's endpoints return, shared with the SDK.

Read models carry every amount as integer minor units and as the same amount written with the
currency's exponent (``*_decimal``). They ignore fields they do not know (unlike the command and event
contracts), so a client built against this version keeps reading answers from a newer gateway.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from contracts.events import EventEnvelope
from contracts.results import AccountBalance, CommandResult


class Currency(BaseModel):
    code: str
    name: str
    exponent: int


class Limits(BaseModel):
    """``min_balance`` below zero is a credit line; ``None`` means no limit (daily: rolling 24 hours)."""

    min_balance: int | None
    min_balance_decimal: str | None
    max_per_transaction: int | None
    max_per_transaction_decimal: str | None
    daily_debit_amount: int | None
    daily_debit_amount_decimal: str | None
    daily_debit_count: int | None


class Account(BaseModel):
    """An account: posted ``balance``, ``held`` by pending holds, ``available = balance - held``."""

    id: UUID
    wallet_id: UUID
    currency: str
    kind: str
    status: str
    allow_credits: bool
    balance: int
    balance_decimal: str
    held: int
    held_decimal: str
    available: int
    available_decimal: str
    limits: Limits
    created_at: datetime
    updated_at: datetime


class Wallet(BaseModel):
    id: UUID
    owner_id: str
    kind: str
    handle: str | None
    external_ref: str | None
    status: str
    allow_credits: bool
    metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime
    accounts: list[Account]


class WalletPage(BaseModel):
    wallets: list[Wallet]
    next_cursor: str | None


class WalletBalances(BaseModel):
    """Every account of a wallet: now, or (``at``) the posted balance as of that moment."""

    wallet_id: UUID
    at: datetime | None
    balances: list[AccountBalance]


class BalanceAt(BaseModel):
    """The posted balance after the last posting at or before ``at``, or now. Holds are not postings:
    ``held`` and ``available`` are given for now only."""

    account_id: UUID
    currency: str
    at: datetime | None
    balance: int
    balance_decimal: str
    held: int | None
    held_decimal: str | None
    available: int | None
    available_decimal: str | None
    #: The posting that set it, and when it was posted; null when the account had none yet.
    posting_id: int | None
    posted_at: datetime | None


class Posting(BaseModel):
    """One side of a transaction. ``balance_after`` is shown only to a caller who may read the account
    (a wallet-bound key sees the other wallets of a transaction by id, not their balances); ``currency``
    to every caller who may read the transaction, so each leg of a multi-currency one reads as money."""

    posting_id: int
    account_id: UUID
    wallet_id: UUID
    #: The posting's account's currency; its amounts (and ``*_decimal``) are in it.
    currency: str
    amount: int
    amount_decimal: str
    balance_after: int | None
    balance_after_decimal: str | None


class Transaction(BaseModel):
    """A transaction with its postings and its links: the transaction it reverses or that reversed
    it, and the hold and payment intent it belongs to."""

    id: UUID
    command_id: str
    type: str
    #: Who asked; shown to a wallet-bound key only when it was that key.
    principal: str | None
    currency: str | None
    amount: int | None
    amount_decimal: str | None
    description: str | None
    metadata: dict[str, str]
    created_at: datetime
    reverses_id: UUID | None
    reversed_by_id: UUID | None
    hold_id: UUID | None
    intent_id: UUID | None
    postings: list[Posting]


class TransactionPage(BaseModel):
    transactions: list[Transaction]
    next_cursor: str | None


class Entry(BaseModel):
    """One posting of an account, with the account's balance right after it."""

    posting_id: int
    transaction_id: UUID
    account_id: UUID
    type: str
    currency: str
    amount: int
    amount_decimal: str
    balance_after: int
    balance_after_decimal: str
    #: The other accounts of the transaction.
    counterparty_account_ids: list[UUID]
    description: str | None
    created_at: datetime


class EntryPage(BaseModel):
    entries: list[Entry]
    next_cursor: str | None


class Hold(BaseModel):
    id: UUID
    account_id: UUID
    wallet_id: UUID
    currency: str
    amount: int
    amount_decimal: str
    captured_amount: int
    captured_amount_decimal: str
    status: str
    expires_at: datetime | None
    recipient_account_id: UUID | None
    intent_id: UUID | None
    transaction_id: UUID | None
    description: str | None
    metadata: dict[str, str]
    created_at: datetime
    finished_at: datetime | None


class IntentRefund(BaseModel):
    """One refund of a payment intent: its own transaction, from the merchant's account back to the payer's."""

    transaction_id: UUID
    amount: int
    amount_decimal: str
    reason: str | None
    created_at: datetime


class Intent(BaseModel):
    """A payment intent. ``refunds`` (oldest first) are shown to whoever may read the intent, its payer
    included: they are how the refunded amount came about."""

    id: UUID
    merchant_account_id: UUID
    currency: str
    amount: int
    amount_decimal: str
    paid_amount: int
    paid_amount_decimal: str
    refunded_amount: int
    refunded_amount_decimal: str
    refunds: list[IntentRefund]
    status: str
    expires_at: datetime | None
    payer_account_id: UUID | None
    hold_id: UUID | None
    description: str | None
    metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime


class EventPage(BaseModel):
    """Events in stream order; ``next_cursor`` is always given: pass it back to continue (tail) the stream."""

    events: list[EventEnvelope]
    next_cursor: str
    #: More events were available when this page was read.
    has_more: bool


class Pending(BaseModel):
    """The worker has not answered within the gateway's wait; poll ``status_url`` (also ``Location``)."""

    command_id: str
    status: Literal["pending"]
    status_url: str


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ProblemDocument(BaseModel):
    """Every error: RFC 9457 fields plus a stable ``code`` a client can switch on."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str
    #: With ``validation_error``: what was wrong, where.
    errors: list[FieldError] | None = None
    #: With a business refusal: the recorded outcome, as ``GET /v1/commands/{id}`` returns it.
    result: CommandResult | None = None
    #: With ``internal_error``: names the logged traceback of this failure; quote it when reporting it.
    trace_id: str | None = None


class Readiness(BaseModel):
    status: str
    database: bool
    broker: bool


class Flow(BaseModel):
    """Money from one wallet to another in one currency over the period (``transactions``: how many moved it)."""

    source_wallet_id: UUID
    #: The wallet's @handle, else its external ref, else its system role (``treasury``…), else its id.
    source_label: str
    target_wallet_id: UUID
    target_label: str
    currency: str
    amount: int
    amount_decimal: str
    transactions: int


class FlowGraph(BaseModel):
    """The edges of a Sankey diagram over ``[since, until)``, largest first; ``currency`` null: every currency."""

    since: datetime
    until: datetime
    currency: str | None
    flows: list[Flow]
    #: More edges than the answer's bound existed; the smallest were left out.
    truncated: bool = False


class OutboxState(BaseModel):
    #: Rows waiting to be published (not dead); ``oldest_age_seconds`` null when none waits.
    backlog: int
    oldest_age_seconds: float | None
    dead: int


class DeadLetterCounts(BaseModel):
    #: Null when the broker could not be asked.
    commands: int | None
    events: int


class AuditRun(BaseModel):
    """The latest ``ledger audit``: its verdict and the number of findings per check (no subjects)."""

    ran_at: datetime
    ok: bool
    checks: int
    findings: int
    postings: int
    seconds: float
    summary: dict[str, int]


class Operations(BaseModel):
    """The state an operator watches: the outbox, the dead letters, the last audit (null: never ran)."""

    outbox: OutboxState
    dead_letters: DeadLetterCounts
    audit: AuditRun | None


class DeadLetter(BaseModel):
    """A dead-lettered command (broker queue) or event (outbox row); ``id`` is what replay and purge take."""

    id: str
    source: Literal["commands", "events"]
    reason: str
    #: A command's original routing key (its type), an event's type.
    routing_key_or_type: str
    attempts: int
    size: int
    #: The body's first bytes, undecodable and control characters escaped.
    body_preview: str
    dead_at: datetime | None
    event_id: UUID | None = None
    command_id: str | None = None
    #: The broker user that published a dead command.
    published_by: str | None = None


class DeadLetterPage(BaseModel):
    source: Literal["commands", "events"]
    dead_letters: list[DeadLetter]
    #: More dead letters than ``limit`` exist.
    has_more: bool = False


class DeadLetterAction(BaseModel):
    """What a replay or purge did: the dead letter as it was, and what became of it."""

    action: Literal["replayed", "purged"]
    dead_letter: DeadLetter
