"""Payloads that move money: the standard flows, multi-leg transactions and reversals.

Every flow is one balanced transaction. The system account on the other side of the single-party
flows is fixed by the flow: top-up from treasury, bonus from promotions, spend to revenue,
withdrawal to treasury.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self
from uuid import UUID

from pydantic import Field, model_validator

from contracts.base import Amount, Contract, Currency, Metadata, Text, WalletRef, WithParties
from contracts.bounds import MAX_LEGS
from contracts.refs import Ref


class _Flow(WithParties):
    account_id: Annotated[UUID | None, Ref("account", party="customer")] = None
    wallet: Annotated[WalletRef | None, Ref("wallet", party="customer")] = None
    amount: Amount
    currency: Annotated[Currency, Ref("currency")]
    description: Text | None = None
    metadata: Metadata = {}


class Deposit(_Flow):
    """Top-up: credit the account from the currency's treasury account."""


class Bonus(_Flow):
    """Credit the account from the currency's promotions account."""


class Spend(_Flow):
    """Debit the account to the currency's revenue account; refused if funds are short."""


class Withdraw(_Flow):
    """Debit the account to the currency's treasury account; refused if funds are short."""


class Transfer(WithParties):
    """Move ``amount`` from the debit party to the credit party (same currency)."""

    debit_account_id: Annotated[UUID | None, Ref("account", party="debit")] = None
    debit_wallet: Annotated[WalletRef | None, Ref("wallet", party="debit")] = None
    credit_account_id: Annotated[UUID | None, Ref("account", party="credit")] = None
    credit_wallet: Annotated[WalletRef | None, Ref("wallet", party="credit")] = None
    amount: Amount
    currency: Annotated[Currency, Ref("currency")]
    description: Text | None = None
    metadata: Metadata = {}

    @model_validator(mode="after")
    def _distinct_parties(self) -> Self:
        debit = self.debit_account_id or self.debit_wallet
        if debit is not None and debit == (self.credit_account_id or self.credit_wallet):
            raise ValueError("the debit and credit parties must differ")
        return self


class Leg(WithParties):
    """One leg of a multi-leg transaction request: a party, a side and an amount."""

    account_id: Annotated[UUID | None, Ref("account", party="leg")] = None
    wallet: Annotated[WalletRef | None, Ref("wallet", party="leg")] = None
    side: Literal["debit", "credit"]
    amount: Amount


class PostTransaction(Contract):
    """N postings in one currency that commit together or not at all; debits must equal credits."""

    currency: Annotated[Currency, Ref("currency")]
    legs: Annotated[tuple[Leg, ...], Field(min_length=2, max_length=MAX_LEGS)]
    description: Text | None = None
    metadata: Metadata = {}

    @model_validator(mode="after")
    def _balanced(self) -> Self:
        debits = sum(leg.amount for leg in self.legs if leg.side == "debit")
        credits = sum(leg.amount for leg in self.legs if leg.side == "credit")
        if debits != credits or debits == 0:
            raise ValueError(f"legs must balance: debits {debits} != credits {credits}")
        return self


class ReverseTransaction(Contract):
    """Post a new transaction that undoes ``transaction_id``; the original stays as it was."""

    transaction_id: Annotated[UUID, Ref("transaction")]
    reason: Text | None = None
