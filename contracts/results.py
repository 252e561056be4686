"""Replies the worker sends to a command's ``reply_to`` and stores for ``GET /v1/commands``."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal
from uuid import UUID

from contracts.base import Contract


class Refusal(StrEnum):
    """Closed set of business refusals; a retrying client can act on each."""

    INSUFFICIENT_FUNDS = "insufficient_funds"
    ACCOUNT_NOT_FOUND = "account_not_found"
    CURRENCY_MISMATCH = "currency_mismatch"
    ACCOUNT_EXISTS = "account_exists"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    BALANCE_OVERFLOW = "balance_overflow"


class AccountBalance(Contract):
    account_id: UUID
    currency: str
    balance: int


class CommandResult(Contract):
    """Outcome of one command. ``replayed`` is true when an earlier outcome is returned again."""

    command_id: str
    command_type: str
    status: Literal["applied", "refused"]
    refusal: Refusal | None = None
    detail: str | None = None
    transaction_id: UUID | None = None
    account_id: UUID | None = None
    balances: tuple[AccountBalance, ...] = ()
    replayed: bool = False
