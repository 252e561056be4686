"""Pure ledger rules: which postings a command makes, or why it is refused. No I/O here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from uuid import NAMESPACE_URL, UUID, uuid5

from contracts.base import MAX_AMOUNT
from contracts.commands import Deposit, Transfer, Withdraw
from contracts.results import Refusal

_NS = uuid5(NAMESPACE_URL, "urn:ledger")


def system_account_id(currency: str) -> UUID:
    """The per-currency system account that deposits come from and withdrawals go to."""
    return uuid5(_NS, f"system:{currency}")


def derived_account_id(command_id: str) -> UUID:
    """Account id for an open-account command that named none, stable across retries."""
    return uuid5(_NS, f"account:{command_id}")


@dataclass(frozen=True, slots=True)
class AccountState:
    id: UUID
    currency: str
    kind: str
    balance: int
    min_balance: int | None
    last_sequence: int


@dataclass(frozen=True, slots=True)
class Posting:
    account_id: UUID
    amount: int  # positive credits, negative debits
    balance_after: int


@dataclass(frozen=True, slots=True)
class Refused:
    refusal: Refusal
    detail: str


Movement = Deposit | Withdraw | Transfer


def legs(payload: Movement) -> tuple[UUID, UUID]:
    """(debit account, credit account) of a movement."""
    if isinstance(payload, Deposit):
        return system_account_id(payload.currency), payload.account_id
    if isinstance(payload, Withdraw):
        return payload.account_id, system_account_id(payload.currency)
    return payload.debit_account_id, payload.credit_account_id


def plan(payload: Movement, accounts: Mapping[UUID, AccountState]) -> tuple[Posting, Posting] | Refused:
    """Postings for a movement against the locked account states, or the refusal."""
    debit_id, credit_id = legs(payload)
    for account_id in (debit_id, credit_id):
        account = accounts.get(account_id)
        if account is None:
            return Refused(Refusal.ACCOUNT_NOT_FOUND, f"account {account_id} does not exist")
        if account.currency != payload.currency:
            return Refused(
                Refusal.CURRENCY_MISMATCH,
                f"account {account_id} holds {account.currency}, not {payload.currency}",
            )
    debit, credit = accounts[debit_id], accounts[credit_id]
    debit_after = debit.balance - payload.amount
    if debit.min_balance is not None and debit_after < debit.min_balance:
        return Refused(
            Refusal.INSUFFICIENT_FUNDS,
            f"account {debit_id} has {debit.balance - debit.min_balance} available, needs {payload.amount}",
        )
    credit_after = credit.balance + payload.amount
    if credit_after > MAX_AMOUNT or debit_after < -MAX_AMOUNT:
        return Refused(Refusal.BALANCE_OVERFLOW, "the resulting balance would not fit in 64 bits")
    return (
        Posting(debit_id, -payload.amount, debit_after),
        Posting(credit_id, payload.amount, credit_after),
    )
