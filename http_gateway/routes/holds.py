"""Holds (authorisations): reserve available funds, then capture all or part, or release them.

A wallet-bound key places, captures and releases holds on its own wallet's accounts; it may also
release (never capture) a hold whose recipient it is, and read holds on either side.
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

router = APIRouter(tags=["holds"])


async def find(pool: asyncpg.Pool, principal: Principal, hold_id: UUID, *, recipient: bool) -> asyncpg.Record:
    """The hold; 403 for a bound key unless it holds it (or, with ``recipient``, receives it), else 404."""
    row = await lookup.hold(pool, hold_id)
    sides = [] if row is None else [row["wallet_id"], row["recipient_wallet_id"] if recipient else None]
    if principal.wallet_id is not None:
        authorize_any(principal, sides)
    if row is None:
        raise Problem(404, "hold_not_found", f"hold {hold_id} does not exist")
    return row


@router.get("/holds/{hold_id}", operation_id="holds.get", response_model=docs.Hold)
async def get_hold(
    hold_id: UUID, pool: PoolDep, currencies: CurrenciesDep, principal: Annotated[Principal, require(Scope.READ)]
) -> docs.Hold:
    """A hold: pending, captured (how much), released or expired."""
    row = await find(pool, principal, hold_id, recipient=True)
    hold: docs.Hold = views.with_decimals(docs.Hold, row, await currencies.exponent(pool, row["currency"]))
    return hold
