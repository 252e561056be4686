"""How a call's arguments become request fields: amounts, parties, and leaving out what was not given.

Amounts: an ``int`` is minor units (1250 is 12.50 USD); a ``Decimal`` or a ``str`` ("12.50") is read by
the gateway with the currency's exponent, and refused if it has more decimals than the currency has.
A ``float`` is refused here, before anything is sent: 0.1 + 0.2 is not money.

Parties: a ``str`` names a wallet (``"@handle"``, ``"ext:<external ref>"`` or the wallet id); an account is
named with :func:`account` (``account("3f2c…")``), since a bare id could be either.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote
from uuid import UUID

Amount = int | Decimal | str


@dataclass(frozen=True, slots=True)
class AccountRef:
    """An account named by its id, where a party is expected."""

    id: UUID


def account(account_id: str | UUID) -> AccountRef:
    """Name an account as a party: ``client.transfers.create(debit=account(a), credit="@bob", …)``."""
    return AccountRef(account_id if isinstance(account_id, UUID) else UUID(str(account_id)))


Party = str | UUID | AccountRef


def amount(value: Amount, *, name: str = "amount") -> int | str:
    """The JSON value of an amount: an int as it is, a Decimal as its exact fixed-point string."""
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError(f"{name}: use int minor units, Decimal or str, never {type(value).__name__}")
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{name}: {value} is not an amount")
        return format(value, "f")
    if isinstance(value, str):
        return value
    raise TypeError(f"{name}: use int minor units, Decimal or str, not {type(value).__name__}")


def party(prefix: str, value: Party | None) -> dict[str, str]:
    """The request fields naming a party: ``<prefix>wallet`` or ``<prefix>account_id`` (none if ``None``)."""
    if value is None:
        return {}
    if isinstance(value, AccountRef):
        return {f"{prefix}account_id": str(value.id)}
    if isinstance(value, UUID | str):
        return {f"{prefix}wallet": str(value)}
    raise TypeError(f"{prefix or 'party'}: a wallet ref (str), a wallet id (UUID) or account(id), not {value!r}")


def given(**fields: Any) -> dict[str, Any]:
    """``fields`` without those left at ``None``: the gateway applies its own defaults."""
    return {k: v for k, v in fields.items() if v is not None}


def uuid_text(value: UUID | str) -> str:
    """An id as a request field, checked to be one before it is sent."""
    return str(UUID(str(value)))


def path_name(value: str) -> str:
    """A name in a URL path (``/v1/recon/sources/{source}/runs``), quoted."""
    return quote(value, safe="")


def path_id(value: UUID | str) -> UUID:
    """An id in a URL path (``/v1/holds/{hold_id}``), checked to be one before it is sent."""
    return UUID(str(value))


@dataclass(frozen=True, slots=True)
class Leg:
    """One leg of a multi-leg transaction: a party, a side and an amount."""

    party: Party
    side: Literal["debit", "credit"]
    amount: Amount

    def body(self) -> dict[str, Any]:
        """The leg as the request's JSON (``transactions.post`` sends it)."""
        return {**party("", self.party), "side": self.side, "amount": amount(self.amount)}


def path_ref(value: Party) -> str:
    """A wallet named in a URL path (``/v1/wallets/{wallet}``): a handle, ``ext:`` ref or id."""
    if isinstance(value, AccountRef):
        raise TypeError("a wallet is expected here, not an account")
    return quote(str(value), safe="@:")
