"""Payloads for two-phase money: holds, payment intents and refunds."""

from __future__ import annotations

from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import Field

from contracts.base import Amount, Contract, Currency, Metadata, Text, WalletRef, WithParties

#: Expiry given as a duration, so the worker's clock (not the caller's) decides; at most 90 days.
ExpiresIn = Annotated[int, Field(ge=1, le=90 * 86400, strict=True)]


class PlaceHold(WithParties):
    """Reserve ``amount`` of the account's available funds until captured, released or expired."""

    _parties: ClassVar[tuple[str, ...]] = ("",)
    _optional_parties: ClassVar[tuple[str, ...]] = ("recipient_",)

    hold_id: UUID | None = None
    account_id: UUID | None = None
    wallet: WalletRef | None = None
    amount: Amount
    currency: Currency
    expires_in_seconds: ExpiresIn | None = None
    recipient_account_id: UUID | None = None
    recipient_wallet: WalletRef | None = None
    description: Text | None = None
    metadata: Metadata = {}


class CaptureHold(WithParties):
    """Pay all (default) or part of a pending hold to its recipient; the remainder is released."""

    _optional_parties: ClassVar[tuple[str, ...]] = ("recipient_",)

    hold_id: UUID
    amount: Amount | None = None
    recipient_account_id: UUID | None = None
    recipient_wallet: WalletRef | None = None


class ReleaseHold(Contract):
    """Give a pending hold's funds back to the account's available balance."""

    hold_id: UUID


class ExpireHold(Contract):
    """Release a pending hold whose expiry has passed (sent by the worker's sweeper)."""

    hold_id: UUID


class CreateIntent(WithParties):
    """A merchant asks to be paid ``amount``; a customer pays it once."""

    _parties: ClassVar[tuple[str, ...]] = ("merchant_",)

    intent_id: UUID | None = None
    merchant_account_id: UUID | None = None
    merchant_wallet: WalletRef | None = None
    amount: Amount
    currency: Currency
    description: Text | None = None
    expires_in_seconds: ExpiresIn | None = None
    metadata: Metadata = {}


class PayIntent(WithParties):
    """Pay an open intent now, or (``via_hold``) authorise it with a hold that is captured later."""

    _parties: ClassVar[tuple[str, ...]] = ("payer_",)

    intent_id: UUID
    payer_account_id: UUID | None = None
    payer_wallet: WalletRef | None = None
    via_hold: bool = False


class CaptureIntent(Contract):
    """Capture all (default) or part of an authorised intent's hold to the merchant."""

    intent_id: UUID
    amount: Amount | None = None


class CancelIntent(Contract):
    """Cancel an open or authorised intent; an authorisation's hold is released."""

    intent_id: UUID


class ExpireIntent(Contract):
    """Mark an open intent whose expiry has passed as expired (sent by the worker's sweeper)."""

    intent_id: UUID


class Refund(Contract):
    """Return all or part of a paid intent to its payer; refunds never total more than was paid."""

    intent_id: UUID
    amount: Amount
    currency: Currency
    reason: Text | None = None
