"""Payloads that shape the ledger: currencies, wallets, accounts and their limits."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import Field, model_validator

from contracts.base import (
    Amount,
    Bound,
    Contract,
    Currency,
    ExternalRef,
    Handle,
    Metadata,
    MetadataKey,
    MetadataValue,
    Text,
    WalletRef,
    WithParties,
)

WalletKind = Literal["user", "merchant", "group"]


class RegisterCurrency(Contract):
    """Add a currency or asset type. Its exponent (minor-unit digits) can never change afterwards."""

    code: Currency
    name: Annotated[str, Field(min_length=1, max_length=64)]
    exponent: Annotated[int, Field(ge=0, le=18, strict=True)]


class CreateWallet(Contract):
    """Create a wallet for an owner, with an account in each listed currency."""

    wallet_id: UUID | None = None
    owner_id: Annotated[str, Field(min_length=1, max_length=128)]
    kind: WalletKind = "user"
    handle: Handle | None = None
    external_ref: ExternalRef | None = None
    currencies: Annotated[tuple[Currency, ...], Field(max_length=16)] = ()
    metadata: Metadata = {}

    @model_validator(mode="after")
    def _distinct_currencies(self) -> CreateWallet:
        if len(set(self.currencies)) != len(self.currencies):
            raise ValueError("currencies must not repeat")
        return self


class FreezeWallet(Contract):
    """Stop debits from every account of the wallet; credits continue if ``allow_credits``."""

    wallet: WalletRef
    allow_credits: bool = True
    reason: Text | None = None


class UnfreezeWallet(Contract):
    """Return a frozen wallet to active."""

    wallet: WalletRef


class CloseWallet(Contract):
    """Close a wallet for good; only when every account is at zero with no pending holds."""

    wallet: WalletRef


class SetWalletMetadata(Contract):
    """Merge into the wallet's metadata; a key set to ``null`` is removed."""

    wallet: WalletRef
    metadata: Annotated[dict[MetadataKey, MetadataValue | None], Field(min_length=1, max_length=32)]


class OpenAccount(WithParties):
    """Open an account in one currency, in ``wallet`` or (without it) in a wallet of its own.

    ``account_id`` is derived from the command id if absent.
    """

    _parties: ClassVar[tuple[str, ...]] = ()

    account_id: UUID | None = None
    currency: Currency
    wallet: WalletRef | None = None
    min_balance: Bound = 0


class SetAccountLimits(WithParties):
    """Replace an account's limits. ``min_balance`` below zero is a credit line; 0 means no overdraft.

    Daily limits count debits in a rolling 24 hours; ``None`` means no limit.
    """

    _parties: ClassVar[tuple[str, ...]] = ("",)

    account_id: UUID | None = None
    wallet: WalletRef | None = None
    currency: Currency
    min_balance: Bound = 0
    max_per_transaction: Amount | None = None
    daily_debit_amount: Amount | None = None
    daily_debit_count: Annotated[int, Field(ge=1, le=10**9, strict=True)] | None = None
