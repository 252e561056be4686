"""Currencies and asset types: list them; register one (its exponent never changes afterwards)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from contracts import http as docs
from contracts.keys import Scope
from contracts.wallets import RegisterCurrency
from http_gateway.auth import Authenticated, Principal, require
from http_gateway.deps import PoolDep
from http_gateway.dispatch import WriterDep, command_route

router = APIRouter(tags=["currencies"])


@router.get("/currencies", response_model=list[docs.Currency])
async def list_currencies(pool: PoolDep, _: Annotated[Principal, require(Scope.READ)]) -> list[docs.Currency]:
    """Every registered currency with its exponent (digits of its minor unit)."""
    rows = await pool.fetch("SELECT code, name, exponent FROM currencies ORDER BY code")
    return [docs.Currency(**dict(r)) for r in rows]


@command_route(router, "currency.register", created=True)
async def register_currency(body: RegisterCurrency, w: WriterDep, principal: Authenticated) -> JSONResponse:
    """Register a currency or asset (``GOLD`` with exponent 18): command ``currency.register``."""
    return await w.send("currency.register", body, principal, created=True)
