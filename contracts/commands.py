"""Command envelope and payloads (schema version 1).

A command is published to the ``ledger.commands`` exchange with its ``type`` as routing key.
``command_id`` is the idempotency key: the same id is applied at most once, and the same id
with a different payload is refused as ``idempotency_conflict``.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Literal, Self
from uuid import UUID

from pydantic import Field, TypeAdapter, model_validator

from contracts.base import Amount, CommandId, Contract, Currency


class OpenAccount(Contract):
    """Open an account in one currency. ``account_id`` is derived from the command id if absent."""

    account_id: UUID | None = None
    currency: Currency


class Deposit(Contract):
    """Credit ``account_id`` from the currency's system account."""

    account_id: UUID
    amount: Amount
    currency: Currency


class Withdraw(Contract):
    """Debit ``account_id`` to the currency's system account; refused if funds are short."""

    account_id: UUID
    amount: Amount
    currency: Currency


class Transfer(Contract):
    """Move ``amount`` from ``debit_account_id`` to ``credit_account_id`` (same currency)."""

    debit_account_id: UUID
    credit_account_id: UUID
    amount: Amount
    currency: Currency

    @model_validator(mode="after")
    def _distinct_accounts(self) -> Self:
        if self.debit_account_id == self.credit_account_id:
            raise ValueError("debit_account_id and credit_account_id must differ")
        return self


class _Envelope(Contract):
    command_id: CommandId
    schema_version: Literal[1] = 1
    issued_at: datetime
    reply_to: str | None = Field(default=None, max_length=255)
    correlation_id: str | None = Field(default=None, max_length=255)
    #: Who asked: an API key id or AMQP user; recorded on the transaction for audit.
    principal: str | None = Field(default=None, max_length=255)


class OpenAccountCommand(_Envelope):
    type: Literal["account.open"] = "account.open"
    payload: OpenAccount


class DepositCommand(_Envelope):
    type: Literal["deposit"] = "deposit"
    payload: Deposit


class WithdrawCommand(_Envelope):
    type: Literal["withdraw"] = "withdraw"
    payload: Withdraw


class TransferCommand(_Envelope):
    type: Literal["transfer"] = "transfer"
    payload: Transfer


Command = Annotated[
    OpenAccountCommand | DepositCommand | WithdrawCommand | TransferCommand,
    Field(discriminator="type"),
]
COMMAND_ADAPTER: TypeAdapter[Command] = TypeAdapter(Command)
COMMAND_TYPES = ("account.open", "deposit", "withdraw", "transfer")


def payload_digest(cmd: Command) -> str:
    """Fingerprint of what the command does, used to detect idempotency-key reuse."""
    return hashlib.sha256(f"{cmd.type}|{cmd.payload.model_dump_json()}".encode()).hexdigest()


def parse_command(body: bytes) -> Command:
    """Decode and validate a command body; raises ``pydantic.ValidationError``."""
    return COMMAND_ADAPTER.validate_json(body)
