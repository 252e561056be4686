"""Read models: what the read endpoints return. Every amount comes as integer minor units and as
the same amount written with the currency's exponent (``*_decimal``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from pydantic import BaseModel

from contracts.amounts import to_decimal_string
from contracts.results import AccountBalance


def dec(minor: int | None, exponent: int) -> str | None:
    return None if minor is None else to_decimal_string(minor, exponent)


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


def account(row: asyncpg.Record, exponent: int) -> Account:
    def d(minor: int) -> str:
        return to_decimal_string(minor, exponent)

    r = dict(row)
    available = r["balance"] - r["held"]
    limits = Limits(
        min_balance=r["min_balance"],
        min_balance_decimal=dec(r["min_balance"], exponent),
        max_per_transaction=r["max_per_transaction"],
        max_per_transaction_decimal=dec(r["max_per_transaction"], exponent),
        daily_debit_amount=r["daily_debit_amount"],
        daily_debit_amount_decimal=dec(r["daily_debit_amount"], exponent),
        daily_debit_count=r["daily_debit_count"],
    )
    keep = ("id", "wallet_id", "currency", "kind", "status", "allow_credits", "balance", "held", "created_at")
    return Account(
        **{k: r[k] for k in keep},
        updated_at=r["updated_at"],
        balance_decimal=d(r["balance"]),
        held_decimal=d(r["held"]),
        available=available,
        available_decimal=d(available),
        limits=limits,
    )


def balance(row: asyncpg.Record, exponent: int) -> AccountBalance:
    available = row["balance"] - row["held"]
    return AccountBalance(
        account_id=row["id"],
        wallet_id=row["wallet_id"],
        currency=row["currency"],
        balance=row["balance"],
        held=row["held"],
        available=available,
        balance_decimal=to_decimal_string(row["balance"], exponent),
        held_decimal=to_decimal_string(row["held"], exponent),
        available_decimal=to_decimal_string(available, exponent),
    )


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


def wallet(row: asyncpg.Record, accounts: list[Account]) -> Wallet:
    fields = {k: row[k] for k in Wallet.model_fields if k not in ("handle", "accounts")}
    return Wallet(**fields, handle=f"@{row['handle']}" if row["handle"] else None, accounts=accounts)


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
    (a wallet-bound key sees the other wallets of a transaction by id, not their balances)."""

    posting_id: int
    account_id: UUID
    wallet_id: UUID
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


class Intent(BaseModel):
    id: UUID
    merchant_account_id: UUID
    currency: str
    amount: int
    amount_decimal: str
    paid_amount: int
    paid_amount_decimal: str
    refunded_amount: int
    refunded_amount_decimal: str
    status: str
    expires_at: datetime | None
    payer_account_id: UUID | None
    hold_id: UUID | None
    description: str | None
    metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime


def with_decimals(model: type[BaseModel], row: asyncpg.Record | dict[str, Any], exponent: int) -> Any:
    """``model`` from ``row``, filling each ``<name>_decimal`` field from ``<name>``."""
    data, fields = dict(row), {}
    for name in model.model_fields:
        if name.endswith("_decimal"):
            fields[name] = dec(data[name.removesuffix("_decimal")], exponent)
        elif name in data:
            fields[name] = data[name]
    return model.model_validate(fields)
