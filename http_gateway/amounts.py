"""Amounts at the HTTP edge: integer minor units or exact decimal strings in, both out.

A request may write an amount as ``1250`` (minor units) or ``"12.50"`` (the currency's exponent
decides what it means). Floats are refused: ``12.5`` in JSON is a binary approximation. Every
refusal is a 422 ``invalid_amount`` naming the field. The exponents come from the ``currencies``
table, cached for the life of the process: a code's exponent can never change (a trigger forbids
it), so the cache is only ever incomplete, never wrong, and a miss reloads it.
"""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
from pydantic import PlainValidator, WithJsonSchema

from contracts.amounts import INVALID_AMOUNT, REQUEST_HINT, AmountError, parse_decimal_string, request_amount
from contracts.base import MAX_AMOUNT
from http_gateway.problems import Problem

__all__ = ["INVALID_AMOUNT", "AmountIn", "Currencies", "SignedAmountIn", "to_minor"]


def _accept(*, signed: bool) -> Any:
    def check(value: object) -> int | str:
        return request_amount(value, signed=signed)

    return check


def _schema(*, signed: bool) -> dict[str, Any]:
    sign = "-?" if signed else ""
    return {
        "anyOf": [
            {"type": "integer", "minimum": -MAX_AMOUNT if signed else 1, "maximum": MAX_AMOUNT},
            {"type": "string", "pattern": f"^{sign}[0-9]{{1,40}}(\\.[0-9]{{1,18}})?$"},
        ],
        "description": f"{REQUEST_HINT}; never a float",
    }


#: A positive amount as a request writes it (the request bodies of the OpenAPI document).
AmountIn = Annotated[int | str, PlainValidator(_accept(signed=False)), WithJsonSchema(_schema(signed=False))]
#: A signed amount (a minimum balance: below zero is a credit line).
SignedAmountIn = Annotated[int | str, PlainValidator(_accept(signed=True)), WithJsonSchema(_schema(signed=True))]


def to_minor(value: int | str, exponent: int, *, field: str, positive: bool = True) -> int:
    """The amount in minor units; 422 ``invalid_amount`` naming ``field`` if it does not fit."""
    if isinstance(value, int):
        minor = value
    else:
        try:
            minor = parse_decimal_string(value, exponent)
        except AmountError as exc:
            raise Problem(422, INVALID_AMOUNT, f"{field}: {exc}", field=field) from None
    if abs(minor) > MAX_AMOUNT or (positive and minor <= 0):
        raise Problem(422, INVALID_AMOUNT, f"{field}: the amount must be above zero and fit", field=field)
    return minor


def unknown_currency(code: str) -> Problem:
    return Problem(422, "currency_not_found", f"currency {code} is not registered")


class Currencies:
    """The process' view of ``currencies``: code -> exponent, reloaded when a code is missing."""

    def __init__(self) -> None:
        self._exponents: dict[str, int] = {}

    async def exponent(self, pool: asyncpg.Pool, code: str) -> int:
        """The exponent of ``code``; 422 ``currency_not_found`` if it is not registered."""
        exponent = await self.find(pool, code)
        if exponent is None:
            raise unknown_currency(code)
        return exponent

    async def find(self, pool: asyncpg.Pool, code: str) -> int | None:
        """The exponent of ``code``, or None if it is not registered (read again from the table first)."""
        if code not in self._exponents:
            rows = await pool.fetch("SELECT code, exponent FROM currencies")
            self._exponents = {r["code"]: r["exponent"] for r in rows}
        return self._exponents.get(code)

    async def minor(
        self, pool: asyncpg.Pool, currency: str, value: int | str, *, field: str = "amount", positive: bool = True
    ) -> int:
        """Convert a request amount; integers need no exponent (the worker refuses unknown currencies)."""
        if isinstance(value, int):
            return to_minor(value, 0, field=field, positive=positive)
        return to_minor(value, await self.exponent(pool, currency), field=field, positive=positive)
