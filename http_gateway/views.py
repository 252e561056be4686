"""Building the read models (``contracts.http``) from database rows: every amount as integer minor
units and as the same amount written with the currency's exponent (``*_decimal``)."""

from __future__ import annotations

from typing import Any

import asyncpg
from pydantic import BaseModel

from contracts.amounts import to_decimal_string
from contracts.http import Account, Limits, Wallet
from contracts.results import AccountBalance


def dec(minor: int | None, exponent: int) -> str | None:
    return None if minor is None else to_decimal_string(minor, exponent)


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


def wallet(row: asyncpg.Record, accounts: list[Account]) -> Wallet:
    fields = {k: row[k] for k in Wallet.model_fields if k not in ("handle", "accounts")}
    return Wallet(**fields, handle=f"@{row['handle']}" if row["handle"] else None, accounts=accounts)


def with_decimals(model: type[BaseModel], row: asyncpg.Record | dict[str, Any], exponent: int) -> Any:
    """``model`` from ``row``, filling each ``<name>_decimal`` field from ``<name>``."""
    data, fields = dict(row), {}
    for name in model.model_fields:
        if name.endswith("_decimal"):
            fields[name] = dec(data[name.removesuffix("_decimal")], exponent)
        elif name in data:
            fields[name] = data[name]
    return model.model_validate(fields)
