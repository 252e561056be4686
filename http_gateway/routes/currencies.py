"""Currencies and asset types: list them (``currency.register``'s route is ``http_gateway.writes``')."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from contracts import http as docs
from contracts.keys import Scope
from http_gateway.auth import Principal, require
from http_gateway.deps import PoolDep

router = APIRouter(tags=["currencies"])


@router.get("/currencies", operation_id="currencies.list", response_model=list[docs.Currency])
async def list_currencies(pool: PoolDep, _: Annotated[Principal, require(Scope.READ)]) -> list[docs.Currency]:
    """Every registered currency with its exponent (digits of its minor unit)."""
    rows = await pool.fetch("SELECT code, name, exponent FROM currencies ORDER BY code")
    return [docs.Currency(**dict(r)) for r in rows]
