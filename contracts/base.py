"""Shared building blocks for contract models."""

from __future__ import annotations

from typing import Annotated, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from contracts.bounds import (
    MAX_AMOUNT,
    MAX_COMMAND_ID_CHARS,
    MAX_EXTERNAL_REF_CHARS,
    MAX_METADATA_KEY_CHARS,
    MAX_METADATA_KEYS,
    MAX_METADATA_VALUE_CHARS,
    MAX_TEXT_CHARS,
)
from contracts.refs import parties

__all__ = ["MAX_AMOUNT"]  # re-exported: where amounts were always imported from

#: Integer amount in the currency's minor units (cents for USD). Never a float.
Amount = Annotated[int, Field(gt=0, le=MAX_AMOUNT, strict=True)]
#: A signed balance bound, e.g. a minimum balance (negative = a credit line).
Bound = Annotated[int, Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT, strict=True)]
#: ISO-4217-style code; custom asset codes (GOLD, POINTS) use the same shape.
Currency = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9]{2,11}$")]
#: Client-chosen command id; doubles as the idempotency key.
CommandId = Annotated[str, Field(min_length=1, max_length=MAX_COMMAND_ID_CHARS, pattern=r"^[A-Za-z0-9._:\-]+$")]
#: A wallet's unique public name, written with its ``@``.
Handle = Annotated[str, Field(pattern=r"^@[a-z0-9_]{2,32}$")]
#: A reference the owner's own systems use for the wallet (unique).
ExternalRef = Annotated[str, Field(min_length=1, max_length=MAX_EXTERNAL_REF_CHARS, pattern=r"^[A-Za-z0-9._:\-]+$")]
#: Names a wallet wherever a party is expected: ``@handle``, ``ext:<external ref>`` or the wallet id.
WalletRef = Annotated[
    str,
    Field(
        pattern=r"^(@[a-z0-9_]{2,32}|ext:[A-Za-z0-9._:\-]{1,128}|"
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$",
        description="@handle, ext:<external_ref>, or the wallet id",
    ),
]
MetadataKey = Annotated[str, StringConstraints(pattern=rf"^[A-Za-z0-9_.:\-]{{1,{MAX_METADATA_KEY_CHARS}}}$")]
MetadataValue = Annotated[str, StringConstraints(max_length=MAX_METADATA_VALUE_CHARS)]
#: String key/values on wallets, transactions, holds and intents; searchable by key.
Metadata = Annotated[dict[MetadataKey, MetadataValue], Field(max_length=MAX_METADATA_KEYS)]
Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS)]


class Contract(BaseModel):
    """Base for every message model: immutable and strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class WalletRefParts(BaseModel):
    """A parsed :data:`WalletRef`: exactly one of the three fields is set."""

    model_config = ConfigDict(frozen=True)

    wallet_id: UUID | None = None
    handle: str | None = None  # without the leading @
    external_ref: str | None = None

    @classmethod
    def parse(cls, ref: str) -> WalletRefParts:
        if ref.startswith("@"):
            return cls(handle=ref[1:])
        if ref.startswith("ext:"):
            return cls(external_ref=ref[4:])
        return cls(wallet_id=UUID(ref))


class Party:
    """Either an account id or a wallet (resolved to its account in the command's currency)."""

    __slots__ = ("account_id", "wallet")

    def __init__(self, *, account_id: UUID | None, wallet: str | None) -> None:
        self.account_id, self.wallet = account_id, wallet

    def __repr__(self) -> str:
        return f"Party({self.account_id or self.wallet})"


class WithParties(Contract):
    """A payload naming parties, each as a pair of fields declared with ``Ref(..., party=name)``:
    exactly one field of each pair is given (one or none if the party is ``optional``)."""

    @model_validator(mode="after")
    def _one_of_each_pair(self) -> Self:
        for p in parties(type(self)):
            given = [f for f in (p.account_field, p.wallet_field) if getattr(self, f) is not None]
            if len(given) > 1:
                raise ValueError(f"give either {p.account_field} or {p.wallet_field}, not both")
            if not given and not p.optional:
                raise ValueError(f"{p.account_field} or {p.wallet_field} is required")
        return self

    def party(self, name: str) -> Party | None:
        """The party ``name`` as given, or None if it was left out."""
        for p in parties(type(self)):
            if p.name == name:
                account_id, wallet = getattr(self, p.account_field), getattr(self, p.wallet_field)
                if account_id is None and wallet is None:
                    return None
                return Party(account_id=account_id, wallet=wallet)
        raise KeyError(f"{type(self).__name__} declares no party {name!r}")
