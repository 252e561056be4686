"""Payloads for two-phase money: holds, payment intents and refunds."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field

from contracts.base import Amount, Contract, Currency, Metadata, Text, WalletRef, WithParties
from contracts.bounds import MAX_EXPIRY_SECONDS
from contracts.keys import Scope
from contracts.refs import Ref
from contracts.spec import CommandSpec, PartyRule, own, post

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


class ExtendHold(Contract):
    """Push a pending hold's expiry later: it expires ``expires_in_seconds`` from now (the worker's clock).

    Refused ``hold_not_pending`` unless the hold is pending, ``hold_expired`` once its expiry has passed
    (the sweeper releases it), and ``expiry_not_later`` unless the new expiry is later than the current one,
    so an extension never shortens a hold (nor gives one that never expires an expiry). The amount, the
    recipient and the funds held stay as they are; a hold that authorises an intent is the intent's.
    """

    hold_id: Annotated[UUID, Ref("hold")]
    expires_in_seconds: ExpiresIn


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


#: Event types about a hold (payload ``contracts.events.HoldChanged``, on the holder's account's stream).
HOLD_EVENTS = ("hold.placed", "hold.incremented", "hold.extended", "hold.captured", "hold.released", "hold.expired")
#: Event types about a payment intent (payload ``contracts.events.IntentChanged``, on the merchant's account's stream).
INTENT_EVENTS = (
    "intent.created",
    "intent.authorized",
    "intent.paid",
    "intent.canceled",
    "intent.expired",
    "intent.refunded",
)

#: The catalogue entries of these payloads (``contracts.catalogue`` gathers every module's).
COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "hold.place",
        PlaceHold,
        Scope.HOLDS,
        post("/v1/holds", "holds.place"),
        parties=(PartyRule("holder"), PartyRule("recipient", reach="any")),
    ),
    CommandSpec(
        "hold.increment",
        IncrementHold,
        Scope.HOLDS,
        post("/v1/holds/{hold_id}/increment", "holds.increment"),
        parties=own("hold"),
    ),
    CommandSpec(
        "hold.capture",
        CaptureHold,
        Scope.HOLDS,
        post("/v1/holds/{hold_id}/capture", "holds.capture"),
        parties=(PartyRule("hold"), PartyRule("recipient", reach="any", scope=Scope.TRANSFER)),
    ),
    CommandSpec(
        "hold.release",
        ReleaseHold,
        Scope.HOLDS,
        post("/v1/holds/{hold_id}/release", "holds.release"),
        parties=(PartyRule("hold", recipient_too=True),),
    ),
    CommandSpec(
        "hold.extend", ExtendHold, Scope.HOLDS, post("/v1/holds/{hold_id}/extend", "holds.extend"), parties=own("hold")
    ),
    CommandSpec("hold.expire", ExpireHold, None),
    CommandSpec(
        "intent.create",
        CreateIntent,
        Scope.PAYMENTS,
        post("/v1/payment_intents", "payment_intents.create"),
        parties=own("merchant"),
    ),
    CommandSpec(
        "intent.pay",
        PayIntent,
        Scope.TRANSFER,
        post("/v1/payment_intents/{intent_id}/pay", "payment_intents.pay"),
        derives=("hold",),
        parties=(PartyRule("payer"), PartyRule("intent", reach="any")),  # anyone's intent, from one's own wallet
    ),
    CommandSpec(
        "intent.capture",
        CaptureIntent,
        Scope.PAYMENTS,
        post("/v1/payment_intents/{intent_id}/capture", "payment_intents.capture"),
        parties=own("intent"),
        state="authorized",
    ),
    CommandSpec(
        "intent.cancel",
        CancelIntent,
        Scope.PAYMENTS,
        post("/v1/payment_intents/{intent_id}/cancel", "payment_intents.cancel"),
        parties=own("intent"),
    ),
    CommandSpec("intent.expire", ExpireIntent, None),
    CommandSpec(
        "refund", Refund, Scope.REFUNDS, post("/v1/refunds", "refunds.create"), parties=own("intent"), state="paid"
    ),
)
