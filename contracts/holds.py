"""Payloads for two-phase money: holds, payment intents and refunds."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field

from contracts.base import Amount, Contract, Currency, Metadata, Text, WalletRef, WithParties
from contracts.bounds import MAX_EXPIRY_SECONDS
from contracts.refs import Ref

#: Expiry given as a duration, so the worker's clock (not the caller's) decides; at most 90 days.
ExpiresIn = Annotated[int, Field(ge=1, le=MAX_EXPIRY_SECONDS, strict=True)]


class PlaceHold(WithParties):
    """Reserve ``amount`` of the account's available funds until captured, released or expired."""

    hold_id: Annotated[UUID | None, Ref("hold", new=True)] = None
    account_id: Annotated[UUID | None, Ref("account", party="holder")] = None
    wallet: Annotated[WalletRef | None, Ref("wallet", party="holder")] = None
    amount: Amount
    currency: Annotated[Currency, Ref("currency")]
    expires_in_seconds: ExpiresIn | None = None
    recipient_account_id: Annotated[UUID | None, Ref("account", party="recipient", optional=True)] = None
    recipient_wallet: Annotated[WalletRef | None, Ref("wallet", party="recipient", optional=True)] = None
    description: Text | None = None
    metadata: Metadata = {}


class CaptureHold(WithParties):
    """Pay all (default) or part of a pending hold to its recipient; the remainder is released."""

    hold_id: Annotated[UUID, Ref("hold")]
    amount: Amount | None = None
    recipient_account_id: Annotated[UUID | None, Ref("account", party="recipient", optional=True)] = None
    recipient_wallet: Annotated[WalletRef | None, Ref("wallet", party="recipient", optional=True)] = None


class IncrementHold(Contract):
    """Add ``amount`` to a pending hold (the same checks as placing it), optionally with a new expiry."""

    hold_id: Annotated[UUID, Ref("hold")]
    amount: Amount
    #: From now; without it the hold keeps its expiry.
    expires_in_seconds: ExpiresIn | None = None


class ReleaseHold(Contract):
    """Give a pending hold's funds back to the account's available balance."""

    hold_id: Annotated[UUID, Ref("hold")]


class ExpireHold(Contract):
    """Release a pending hold whose expiry has passed (sent by the worker's sweeper)."""

    hold_id: Annotated[UUID, Ref("hold")]


class CreateIntent(WithParties):
    """A merchant asks to be paid ``amount``; a customer pays it once."""

    intent_id: Annotated[UUID | None, Ref("intent", new=True)] = None
    merchant_account_id: Annotated[UUID | None, Ref("account", party="merchant")] = None
    merchant_wallet: Annotated[WalletRef | None, Ref("wallet", party="merchant")] = None
    amount: Amount
    currency: Annotated[Currency, Ref("currency")]
    description: Text | None = None
    expires_in_seconds: ExpiresIn | None = None
    metadata: Metadata = {}


class PayIntent(WithParties):
    """Pay an open intent now, or (``via_hold``) authorise it with a hold that is captured later."""

    intent_id: Annotated[UUID, Ref("intent")]
    payer_account_id: Annotated[UUID | None, Ref("account", party="payer")] = None
    payer_wallet: Annotated[WalletRef | None, Ref("wallet", party="payer")] = None
    via_hold: bool = False


class CaptureIntent(Contract):
    """Capture all (default) or part of an authorised intent's hold to the merchant."""

    intent_id: Annotated[UUID, Ref("intent")]
    amount: Amount | None = None


class CancelIntent(Contract):
    """Cancel an open or authorised intent; an authorisation's hold is released."""

    intent_id: Annotated[UUID, Ref("intent")]


class ExpireIntent(Contract):
    """Mark an open intent whose expiry has passed as expired (sent by the worker's sweeper)."""

    intent_id: Annotated[UUID, Ref("intent")]


class Refund(Contract):
    """Return all or part of a paid intent to its payer; refunds never total more than was paid."""

    intent_id: Annotated[UUID, Ref("intent")]
    amount: Amount
    currency: Annotated[Currency, Ref("currency")]
    reason: Text | None = None
