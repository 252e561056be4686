"""Event envelope (schema version 1), published to the ``ledger.events`` topic exchange.

Streams and order: an event about an account (``account_id`` set) carries that account's
``sequence``, counting its events from 1 without gaps in commit order. Wallet lifecycle events
(``wallet.*``) carry ``account_id = null`` and the wallet's own ``sequence``. ``currency.registered``
and ``command.refused`` belong to no stream and have no sequence. Delivery is at least once:
deduplicate on ``event_id``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal, Self
from uuid import UUID

from pydantic import Field, TypeAdapter, model_validator

from contracts.amounts import DECIMAL_TEXT
from contracts.base import Contract
from contracts.holds import HOLD_EVENTS, INTENT_EVENTS
from contracts.recon import BREAK_EVENTS, BreakChanged, ReconciliationCompleted
from contracts.results import Refusal

#: ``amount`` as a decimal string in the currency's unit (``"12.50"`` for 1250 USD, ``"-0.05"``): exact in any JSON
#: parser, unlike an integer above 2^53 in JavaScript, and what a person reads. Null on events written before
#: it was added (derive it from ``amount`` and the currency's exponent).
DecimalAmount = Annotated[
    str | None,
    Field(
        pattern=DECIMAL_TEXT.pattern,
        description='`amount` as a decimal string in the currency\'s unit ("12.50" for 1250 USD): exact in any JSON '
        "parser (integers above 2^53 are not in JavaScript); null on events written before it was added.",
    ),
]


class CurrencyRegistered(Contract):
    code: str
    name: str
    exponent: int


class WalletCreated(Contract):
    owner_id: str
    kind: str
    handle: str | None
    external_ref: str | None
    metadata: dict[str, str]


class WalletStatusChanged(Contract):
    """Payload of ``wallet.frozen`` / ``unfrozen`` / ``closed``."""

    status: Literal["active", "frozen", "closed"]
    allow_credits: bool
    reason: str | None = None


class WalletMetadataChanged(Contract):
    metadata: dict[str, str]


class AccountOpened(Contract):
    currency: str
    wallet_id: UUID | None = None
    min_balance: int | None = 0


class LimitsChanged(Contract):
    min_balance: int | None
    max_per_transaction: int | None
    daily_debit_amount: int | None
    daily_debit_count: int | None


class BalanceChanged(Contract):
    """Payload of ``account.credited`` / ``account.debited``; ``amount`` is always positive (the event type gives
    the sign). ``entry_hash`` chains this posting to the account's previous one (``previous_hash``): entry_hash =
    hex(SHA-256(the 32 bytes of previous_hash || UTF-8 "account_id|transaction_id|command_type|currency|signed
    amount|balance_after|microseconds since 1970 of occurred_at")); the exact recipe and test vectors:
    docs/topology.md#the-hash-chain, contracts/chain_vectors.json.
    """

    command_type: str
    transaction_id: UUID
    amount: int
    currency: str
    balance_after: int
    held_after: int = 0
    available_after: int
    counterparty_account_id: UUID | None
    entry_hash: str
    previous_hash: str
    amount_decimal: DecimalAmount = None


class HoldChanged(Contract):
    """Payload of ``hold.*``: the hold as it is after the change, and the account's balances."""

    hold_id: UUID
    currency: str
    amount: int
    captured_amount: int
    status: Literal["pending", "captured", "released", "expired"]
    expires_at: datetime | None
    recipient_account_id: UUID | None
    transaction_id: UUID | None = None
    held_after: int
    available_after: int
    amount_decimal: DecimalAmount = None


class IntentChanged(Contract):
    """Payload of ``intent.*``: the payment intent as it is after the change."""

    intent_id: UUID
    status: Literal["open", "authorized", "paid", "canceled", "expired"]
    amount: int
    currency: str
    paid_amount: int
    refunded_amount: int
    payer_account_id: UUID | None
    hold_id: UUID | None
    transaction_id: UUID | None = None
    refund_amount: int | None = None
    amount_decimal: DecimalAmount = None


class CommandRefused(Contract):
    command_type: str
    refusal: Refusal
    detail: str


EventPayload = (
    CurrencyRegistered
    | WalletCreated
    | WalletStatusChanged
    | WalletMetadataChanged
    | AccountOpened
    | LimitsChanged
    | BalanceChanged
    | HoldChanged
    | IntentChanged
    | CommandRefused
    | ReconciliationCompleted
    | BreakChanged
)

#: The payload model of each event type: the one list of event types (the envelope's ``type``, the
#: AsyncAPI messages, the events table of docs/topology.md are read from it). Events about holds and
#: intents are named next to the commands that emit them (``contracts.holds``).
PAYLOADS: dict[str, type[Contract]] = {
    "currency.registered": CurrencyRegistered,
    "wallet.created": WalletCreated,
    "wallet.frozen": WalletStatusChanged,
    "wallet.unfrozen": WalletStatusChanged,
    "wallet.closed": WalletStatusChanged,
    "wallet.metadata_changed": WalletMetadataChanged,
    "account.opened": AccountOpened,
    "account.credited": BalanceChanged,
    "account.debited": BalanceChanged,
    "account.limits_changed": LimitsChanged,
    **dict.fromkeys(HOLD_EVENTS, HoldChanged),
    **dict.fromkeys(INTENT_EVENTS, IntentChanged),
    "command.refused": CommandRefused,
    "reconciliation.completed": ReconciliationCompleted,
    **dict.fromkeys(BREAK_EVENTS, BreakChanged),
}
EVENT_TYPES: tuple[str, ...] = tuple(PAYLOADS)
if TYPE_CHECKING:
    EventType = str
else:  # the Literal of every type, for validation and the JSON Schema's enum
    EventType = Literal[EVENT_TYPES]


class EventEnvelope(Contract):
    event_id: UUID
    type: EventType
    schema_version: Literal[1] = 1
    occurred_at: datetime
    command_id: str
    #: Who asked for the command that caused the event (API key id, AMQP user, ``system``).
    principal: str | None = None
    account_id: UUID | None
    wallet_id: UUID | None = None
    sequence: int | None
    payload: EventPayload

    @model_validator(mode="after")
    def _payload_matches_type(self) -> Self:
        if not isinstance(self.payload, PAYLOADS[self.type]):
            raise ValueError(f"{self.type} carries a {PAYLOADS[self.type].__name__} payload")
        return self


EVENT_ADAPTER: TypeAdapter[EventEnvelope] = TypeAdapter(EventEnvelope)


def parse_event(body: bytes) -> EventEnvelope:
    """Decode and validate an event body received from ``ledger.events``."""
    return EventEnvelope.model_validate_json(body)
