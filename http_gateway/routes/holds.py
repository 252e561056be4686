"""Holds (authorisations): reserve available funds, then capture all or part, or release them.

A wallet-bound key places, captures and releases holds on its own wallet's accounts; it may also
release (never capture) a hold whose recipient it is, and read holds on either side.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import asyncpg
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from contracts import http as docs
from contracts.base import Contract, WalletRef, WithParties
from contracts.holds import CaptureHold, ExpiresIn, IncrementHold, PlaceHold, ReleaseHold
from contracts.keys import Scope
from contracts.refs import Ref
from http_gateway import lookup, views
from http_gateway.amounts import AmountIn
from http_gateway.auth import Authenticated, Principal, authorize_any, authorize_parties, require
from http_gateway.deps import CurrenciesDep, PoolDep
from http_gateway.dispatch import WriterDep, command_route, contract
from http_gateway.problems import Problem

router = APIRouter(tags=["holds"])


class HoldBody(PlaceHold):
    """Reserve ``amount`` of the party's available funds, optionally for a named recipient and until
    ``expires_in_seconds`` (the worker releases it then, with nobody calling)."""

    amount: AmountIn  # type: ignore[assignment]


class CaptureBody(WithParties):
    """Capture all (no ``amount``) or part; the rest is released. A recipient here overrides the hold's."""

    amount: AmountIn | None = None
    recipient_account_id: Annotated[UUID | None, Ref("account", party="recipient", optional=True)] = None
    recipient_wallet: Annotated[WalletRef | None, Ref("wallet", party="recipient", optional=True)] = None


class IncrementBody(Contract):
    """Add ``amount`` to the hold; ``expires_in_seconds`` (from now) replaces its expiry if given."""

    amount: AmountIn
    expires_in_seconds: ExpiresIn | None = None


async def find(pool: asyncpg.Pool, principal: Principal, hold_id: UUID, *, recipient: bool) -> asyncpg.Record:
    """The hold; 403 for a bound key unless it holds it (or, with ``recipient``, receives it), else 404."""
    row = await lookup.hold(pool, hold_id)
    sides = [] if row is None else [row["wallet_id"], row["recipient_wallet_id"] if recipient else None]
    if principal.wallet_id is not None:
        authorize_any(principal, sides)
    if row is None:
        raise Problem(404, "hold_not_found", f"hold {hold_id} does not exist")
    return row


@command_route(router, "hold.place", created=True)
async def place_hold(body: HoldBody, w: WriterDep, principal: Authenticated) -> JSONResponse:
    """Place a hold: ``held`` grows and ``available`` shrinks at once (``hold.place``)."""
    await authorize_parties(w.pool, principal, [body.party("holder")])
    return await w.send_priced("hold.place", PlaceHold, body, principal, created=True)


@router.get("/holds/{hold_id}", response_model=docs.Hold)
async def get_hold(
    hold_id: UUID, pool: PoolDep, currencies: CurrenciesDep, principal: Annotated[Principal, require(Scope.READ)]
) -> docs.Hold:
    """A hold: pending, captured (how much), released or expired."""
    row = await find(pool, principal, hold_id, recipient=True)
    hold: docs.Hold = views.with_decimals(docs.Hold, row, await currencies.exponent(pool, row["currency"]))
    return hold


@command_route(router, "hold.increment")
async def increment_hold(hold_id: UUID, body: IncrementBody, w: WriterDep, principal: Authenticated) -> JSONResponse:
    """Reserve more under a pending hold, e.g. a bill that grew (``hold.increment``)."""
    row = await find(w.pool, principal, hold_id, recipient=False)
    amount = await w.currencies.minor(w.pool, row["currency"], body.amount)
    payload = contract(IncrementHold, hold_id=hold_id, amount=amount, expires_in_seconds=body.expires_in_seconds)
    return await w.send("hold.increment", payload, principal)


@command_route(router, "hold.capture")
async def capture_hold(
    hold_id: UUID, w: WriterDep, principal: Authenticated, body: CaptureBody | None = None
) -> JSONResponse:
    """Pay all or part of a pending hold to its recipient and release the rest (``hold.capture``)."""
    row = await find(w.pool, principal, hold_id, recipient=False)
    body = body or CaptureBody()
    amount = None if body.amount is None else await w.currencies.minor(w.pool, row["currency"], body.amount)
    fields = body.model_dump(exclude_none=True, exclude={"amount"})
    payload = contract(CaptureHold, **fields, hold_id=hold_id, amount=amount)
    return await w.send("hold.capture", payload, principal)


@command_route(router, "hold.release")
async def release_hold(hold_id: UUID, w: WriterDep, principal: Authenticated) -> JSONResponse:
    """Give the held funds back to the account's available balance (``hold.release``)."""
    await find(w.pool, principal, hold_id, recipient=True)
    return await w.send("hold.release", contract(ReleaseHold, hold_id=hold_id), principal)
