"""Payment intents and refunds: a merchant asks to be paid, a customer pays once (directly, or via a
hold the merchant captures later), and the merchant may refund up to what was paid.

A wallet-bound key creates, captures, cancels and refunds intents only as their merchant, pays them
only from its own wallet, and reads those where it is the merchant or the payer.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import asyncpg
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from contracts import http as docs
from contracts.base import Contract, Currency, Text, WalletRef, WithParties
from contracts.holds import CancelIntent, CaptureIntent, CreateIntent, PayIntent, Refund
from contracts.keys import Scope
from contracts.refs import Ref
from http_gateway import lookup, views
from http_gateway.amounts import AmountIn
from http_gateway.auth import Authenticated, Principal, authorize_any, authorize_parties, require
from http_gateway.deps import CurrenciesDep, PoolDep
from http_gateway.dispatch import WriterDep, command_route, contract
from http_gateway.problems import Problem

router = APIRouter(tags=["payments"])


class IntentBody(CreateIntent):
    """What the merchant (``merchant_account_id`` or ``merchant_wallet``) asks to be paid."""

    amount: AmountIn  # type: ignore[assignment]


class PayBody(WithParties):
    """The payer; ``via_hold`` authorises now (a hold on the payer) and the merchant captures later."""

    payer_account_id: Annotated[UUID | None, Ref("account", party="payer")] = None
    payer_wallet: Annotated[WalletRef | None, Ref("wallet", party="payer")] = None
    via_hold: bool = False


class CaptureBody(Contract):
    """Capture all (no ``amount``) or part of the authorisation; the rest goes back to the payer."""

    amount: AmountIn | None = None


class RefundBody(Contract):
    """Return ``amount`` of a paid intent to its payer; refunds never total more than was paid."""

    intent_id: UUID
    amount: AmountIn
    currency: Currency
    reason: Text | None = None


async def find(pool: asyncpg.Pool, principal: Principal, intent_id: UUID, *, payer: bool) -> asyncpg.Record:
    """The intent; 403 for a bound key unless it is the merchant (or, with ``payer``, the payer), else 404."""
    row = await lookup.intent(pool, intent_id)
    if principal.wallet_id is not None:
        sides = [] if row is None else [row["merchant_wallet_id"], row["payer_wallet_id"] if payer else None]
        authorize_any(principal, sides)
    if row is None:
        raise Problem(404, "intent_not_found", f"payment intent {intent_id} does not exist")
    return row


@command_route(router, "intent.create", created=True)
async def create_intent(body: IntentBody, w: WriterDep, principal: Authenticated) -> JSONResponse:
    """Create a payment intent for the merchant (``intent.create``)."""
    await authorize_parties(w.pool, principal, [body.party("merchant")])
    return await w.send_priced("intent.create", CreateIntent, body, principal, created=True)


@router.get("/payment_intents/{intent_id}", response_model=docs.Intent)
async def get_intent(
    intent_id: UUID, pool: PoolDep, currencies: CurrenciesDep, principal: Annotated[Principal, require(Scope.READ)]
) -> docs.Intent:
    """A payment intent: status, paid and refunded amounts, payer and hold."""
    row = await find(pool, principal, intent_id, payer=True)
    intent: docs.Intent = views.with_decimals(docs.Intent, row, await currencies.exponent(pool, row["currency"]))
    return intent


@command_route(router, "intent.pay")
async def pay_intent(intent_id: UUID, body: PayBody, w: WriterDep, principal: Authenticated) -> JSONResponse:
    """Pay an open intent from the payer's wallet, now or via a hold (``intent.pay``)."""
    await authorize_parties(w.pool, principal, [body.party("payer")])
    payload = contract(PayIntent, **body.model_dump(exclude_none=True), intent_id=intent_id)
    return await w.send("intent.pay", payload, principal)


@command_route(router, "intent.capture")
async def capture_intent(
    intent_id: UUID, w: WriterDep, principal: Authenticated, body: CaptureBody | None = None
) -> JSONResponse:
    """Capture all or part of an authorised intent to the merchant (``intent.capture``)."""
    row = await find(w.pool, principal, intent_id, payer=False)
    amount = None
    if body is not None and body.amount is not None:
        amount = await w.currencies.minor(w.pool, row["currency"], body.amount)
    return await w.send("intent.capture", contract(CaptureIntent, intent_id=intent_id, amount=amount), principal)


@command_route(router, "intent.cancel")
async def cancel_intent(intent_id: UUID, w: WriterDep, principal: Authenticated) -> JSONResponse:
    """Cancel an open or authorised intent; an authorisation's hold is released (``intent.cancel``)."""
    await find(w.pool, principal, intent_id, payer=False)
    return await w.send("intent.cancel", contract(CancelIntent, intent_id=intent_id), principal)


@command_route(router, "refund")
async def refund(body: RefundBody, w: WriterDep, principal: Authenticated) -> JSONResponse:
    """Refund all or part of a paid intent to its payer, from the merchant (``refund``)."""
    if principal.wallet_id is not None:
        await find(w.pool, principal, body.intent_id, payer=False)
    return await w.send_priced("refund", Refund, body, principal)
