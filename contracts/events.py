"""Event envelope (schema version 1), published to the ``ledger.events`` topic exchange.

Events are per account: a transfer emits ``account.debited`` for the payer and
``account.credited`` for the payee. ``sequence`` counts one account's events from 1 without gaps,
in commit order; refusal events carry no sequence because they change no account.
Delivery is at least once: deduplicate on ``event_id``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import TypeAdapter

from contracts.base import Contract
from contracts.results import Refusal

EventType = Literal["account.opened", "account.credited", "account.debited", "command.refused"]
EVENT_TYPES: tuple[str, ...] = ("account.opened", "account.credited", "account.debited", "command.refused")


class AccountOpened(Contract):
    currency: str


class BalanceChanged(Contract):
    """Payload of ``account.credited`` / ``account.debited``; ``amount`` is always positive."""

    command_type: str
    transaction_id: UUID
    amount: int
    currency: str
    balance_after: int
    counterparty_account_id: UUID


class CommandRefused(Contract):
    command_type: str
    refusal: Refusal
    detail: str


class EventEnvelope(Contract):
    event_id: UUID
    type: EventType
    schema_version: Literal[1] = 1
    occurred_at: datetime
    command_id: str
    account_id: UUID | None
    sequence: int | None
    payload: AccountOpened | BalanceChanged | CommandRefused


EVENT_ADAPTER: TypeAdapter[EventEnvelope] = TypeAdapter(EventEnvelope)


def parse_event(body: bytes) -> EventEnvelope:
    """Decode and validate an event body received from ``ledger.events``."""
    return EventEnvelope.model_validate_json(body)
