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

from contracts import http as docs
from contracts.keys import Scope
from http_gateway import lookup, views
from http_gateway.auth import Principal, authorize_any, require
from http_gateway.deps import CurrenciesDep, PoolDep
from http_gateway.problems import Problem

router = APIRouter(tags=["payments"])


async def find(pool: asyncpg.Pool, principal: Principal, intent_id: UUID, *, payer: bool) -> asyncpg.Record:
    """The intent; 403 for a bound key unless it is the merchant (or, with ``payer``, the payer), else 404."""
    row = await lookup.intent(pool, intent_id)
    if principal.wallet_id is not None:
        sides = [] if row is None else [row["merchant_wallet_id"], row["payer_wallet_id"] if payer else None]
        authorize_any(principal, sides)
    if row is None:
        raise Problem(404, "intent_not_found", f"payment intent {intent_id} does not exist")
    return row


@router.get("/payment_intents/{intent_id}", operation_id="payment_intents.get", response_model=docs.Intent)
async def get_intent(
    intent_id: UUID, pool: PoolDep, currencies: CurrenciesDep, principal: Annotated[Principal, require(Scope.READ)]
) -> docs.Intent:
    """A payment intent: status, paid and refunded amounts, payer and hold."""
    row = await find(pool, principal, intent_id, payer=True)
    exponent = await currencies.exponent(pool, row["currency"])
    # The intent's refund transactions (indexed by intent_id): readable here by its payer too, who may not
    # read the merchant's events that also record them. In posting order: one batch shares a created_at.
    refunds = await pool.fetch(
        "SELECT t.id AS transaction_id, t.amount, t.metadata->>'reason' AS reason, t.created_at FROM transactions t"
        " WHERE t.intent_id = $1 AND t.kind = 'refund'"
        " ORDER BY (SELECT min(p.id) FROM postings p WHERE p.transaction_id = t.id)",
        intent_id,
    )
    listed = [views.with_decimals(docs.IntentRefund, r, exponent) for r in refunds]
    intent: docs.Intent = views.with_decimals(docs.Intent, {**dict(row), "refunds": listed}, exponent)
    return intent
