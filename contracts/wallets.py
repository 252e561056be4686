"""Payloads that shape the ledger: currencies, wallets, accounts and their limits."""

from __future__ import annotations

from typing import Annotated, Literal
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
from contracts.bounds import (
    MAX_CURRENCY_NAME_CHARS,
    MAX_DAILY_DEBIT_COUNT,
    MAX_METADATA_KEYS,
    MAX_OWNER_ID_CHARS,
    MAX_WALLET_CURRENCIES,
)
from contracts.refs import Ref

WalletKind = Literal["user", "merchant", "group"]


class RegisterCurrency(Contract):
    """Add a currency or asset type. Its exponent (minor-unit digits) can never change afterwards."""

    code: Annotated[Currency, Ref("currency", new=True)]
    name: Annotated[str, Field(min_length=1, max_length=MAX_CURRENCY_NAME_CHARS)]
    exponent: Annotated[int, Field(ge=0, le=18, strict=True)]


class CreateWallet(Contract):
    """Create a wallet for an owner, with an account in each listed currency."""

    wallet_id: Annotated[UUID | None, Ref("wallet_id", new=True)] = None
    owner_id: Annotated[str, Field(min_length=1, max_length=MAX_OWNER_ID_CHARS)]
    kind: WalletKind = "user"
    handle: Annotated[Handle | None, Ref("handle", new=True)] = None
    external_ref: Annotated[ExternalRef | None, Ref("external_ref", new=True)] = None
    currencies: Annotated[tuple[Currency, ...], Field(max_length=MAX_WALLET_CURRENCIES), Ref("currency")] = ()
    metadata: Metadata = {}

    @model_validator(mode="after")
    def _distinct_currencies(self) -> CreateWallet:
        if len(set(self.currencies)) != len(self.currencies):
            raise ValueError("currencies must not repeat")
        return self


class FreezeWallet(Contract):
    """Stop debits from every account of the wallet; credits continue if ``allow_credits``."""

    wallet: Annotated[WalletRef, Ref("wallet", lock=True)]
    allow_credits: bool = True
    reason: Text | None = None


class UnfreezeWallet(Contract):
    """Return a frozen wallet to active."""

    wallet: Annotated[WalletRef, Ref("wallet", lock=True)]


class CloseWallet(Contract):
    """Close a wallet for good; only when every account is at zero with no pending holds."""

    wallet: Annotated[WalletRef, Ref("wallet", lock=True)]


class SetWalletMetadata(Contract):
    """Merge into the wallet's metadata; a key set to ``null`` is removed."""

    wallet: Annotated[WalletRef, Ref("wallet", lock=True)]
    metadata: Annotated[dict[MetadataKey, MetadataValue | None], Field(min_length=1, max_length=MAX_METADATA_KEYS)]


class OpenAccount(Contract):
    """Open an account in one currency, in ``wallet`` or (without it) in a wallet of its own.

    ``account_id`` is derived from the command id if absent.
    """

    account_id: Annotated[UUID | None, Ref("account", new=True)] = None
    currency: Annotated[Currency, Ref("currency")]
    wallet: Annotated[WalletRef | None, Ref("wallet")] = None
    min_balance: Bound = 0


class SetAccountLimits(WithParties):
    """Replace an account's limits. ``min_balance`` below zero is a credit line; 0 means no overdraft.

    Daily limits count debits in a rolling 24 hours; ``None`` means no limit.
    """

    account_id: Annotated[UUID | None, Ref("account", party="account")] = None
    wallet: Annotated[WalletRef | None, Ref("wallet", party="account")] = None
    currency: Annotated[Currency, Ref("currency")]
    min_balance: Bound = 0
    max_per_transaction: Amount | None = None
    daily_debit_amount: Amount | None = None
    daily_debit_count: Annotated[int, Field(ge=1, le=MAX_DAILY_DEBIT_COUNT, strict=True)] | None = None
