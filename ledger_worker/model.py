"""The in-memory objects a batch works on: plain mutable records, loaded locked and written back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from contracts.errors import Rejected
from contracts.keys import Scope
from contracts.results import Refusal


class Refused(Rejected):
    """A command is refused: raised by a rule, recorded as the command's outcome by the applier."""

    def __init__(self, refusal: Refusal, detail: str) -> None:
        super().__init__(detail)
        self.refusal, self.detail = refusal, detail


@dataclass(frozen=True, slots=True)
class Currency:
    code: str
    name: str
    exponent: int


@dataclass(slots=True, eq=False)  # identity, so changed objects can be tracked in a set
class Account:
    id: UUID
    wallet_id: UUID
    currency: str
    kind: str  # 'user' (any non-system wallet) or 'system'
    balance: int = 0
    held: int = 0
    min_balance: int | None = 0  # None: unbounded (system accounts)
    status: str = "active"
    allow_credits: bool = True
    max_per_transaction: int | None = None
    daily_debit_amount: int | None = None
    daily_debit_count: int | None = None
    last_sequence: int = 0
    last_hash: bytes = bytes(32)
    #: Debits in the rolling 24 hours before the batch (loaded only for accounts with daily limits).
    debited_24h: int = 0
    debits_24h: int = 0
    new: bool = False

    @property
    def available(self) -> int:
        return self.balance - self.held

    @property
    def has_daily_limits(self) -> bool:
        return self.daily_debit_amount is not None or self.daily_debit_count is not None


@dataclass(slots=True, eq=False)  # identity, so changed objects can be tracked in a set
class Wallet:
    id: UUID
    owner_id: str
    kind: str
    handle: str | None = None
    external_ref: str | None = None
    status: str = "active"
    allow_credits: bool = True
    metadata: dict[str, str] = field(default_factory=dict)
    last_sequence: int = 0
    new: bool = False


@dataclass(slots=True, eq=False)  # identity, so changed objects can be tracked in a set
class Hold:
    id: UUID
    account_id: UUID
    currency: str
    amount: int
    command_id: str
    captured_amount: int = 0
    status: str = "pending"
    expires_at: datetime | None = None
    recipient_account_id: UUID | None = None
    intent_id: UUID | None = None
    transaction_id: UUID | None = None
    description: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    finished_at: datetime | None = None
    new: bool = False


@dataclass(slots=True, eq=False)  # identity, so changed objects can be tracked in a set
class Intent:
    id: UUID
    merchant_account_id: UUID
    currency: str
    amount: int
    command_id: str
    description: str | None = None
    status: str = "open"
    expires_at: datetime | None = None
    payer_account_id: UUID | None = None
    hold_id: UUID | None = None
    paid_amount: int = 0
    refunded_amount: int = 0
    metadata: dict[str, str] = field(default_factory=dict)
    new: bool = False


@dataclass(slots=True, eq=False)
class KeyLimit:
    """An API key's spending limits in one currency, and what it spent in the last 24 hours."""

    key_id: UUID
    currency: str
    per_transaction_max: int | None
    per_day_max: int | None
    spent_24h: int = 0


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent a command and what it may do: an API key, a broker publisher, or the ledger itself."""

    principal: str
    scopes: frozenset[Scope]
    #: The one wallet the caller acts for, or None (any customer wallet).
    wallet_id: UUID | None = None
    revoked: bool = False
    #: The ledger's own processes and operators (``service``, ``system:sweeper``, ``cli:…``): every scope.
    internal: bool = False
    #: A principal the command's body claimed that its publisher may not speak for.
    forged: str | None = None


@dataclass(frozen=True, slots=True)
class KeySpendRow:
    key_id: UUID
    currency: str
    amount: int
    command_id: str


@dataclass(frozen=True, slots=True)
class PastTransaction:
    """A committed transaction, as much as a reversal needs of it."""

    id: UUID
    kind: str
    currency: str
    postings: tuple[tuple[UUID, int], ...]  # (account id, signed amount)
    reversed: bool
    is_reversal: bool


@dataclass(frozen=True, slots=True)
class TransactionRow:
    id: UUID
    command_id: str
    kind: str
    principal: str | None
    currency: str
    amount: int
    description: str | None
    metadata: dict[str, str]
    reverses_id: UUID | None
    hold_id: UUID | None
    intent_id: UUID | None


@dataclass(frozen=True, slots=True)
class PostingRow:
    transaction_id: UUID
    account_id: UUID
    currency: str
    amount: int
    balance_after: int
    hash: bytes
