"""Amounts at the HTTP edge: integer minor units or exact decimal strings in, both out.

A request may write an amount as ``1250`` (minor units) or ``"12.50"`` (the currency's exponent
decides what it means). Floats are refused: ``12.5`` in JSON is a binary approximation. Every
refusal is a 422 ``invalid_amount`` naming the field. The exponents come from the ``currencies``
table, cached for the life of the process: a code's exponent can never change (a trigger forbids
it), so the cache is only ever incomplete, never wrong, and a miss reloads it.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import asyncpg
from pydantic import PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from contracts.amounts import AmountError, parse_decimal_string
from contracts.base import MAX_AMOUNT
from http_gateway.problems import Problem

INVALID_AMOUNT = "invalid_amount"
_DECIMAL = re.compile(r"^-?[0-9]{1,40}(\.[0-9]{1,18})?$")
_HINT = 'an integer of minor units (1250) or an exact decimal string ("12.50")'


def _accept(*, signed: bool) -> Any:
    def check(value: object) -> int | str:
        if isinstance(value, int) and not isinstance(value, bool):
            if not (-MAX_AMOUNT if signed else 1) <= value <= MAX_AMOUNT:
                raise PydanticCustomError(INVALID_AMOUNT, "the amount is out of range")
            return value
        # fullmatch: ``$`` would also match before a trailing newline ("12\n" was taken for 12).
        if isinstance(value, str) and _DECIMAL.fullmatch(value) and (signed or not value.startswith("-")):
            return value
        raise PydanticCustomError(INVALID_AMOUNT, f"an amount is {_HINT}")

    return check


def _schema(*, signed: bool) -> dict[str, Any]:
    sign = "-?" if signed else ""
    return {
        "anyOf": [
            {"type": "integer", "minimum": -MAX_AMOUNT if signed else 1, "maximum": MAX_AMOUNT},
            {"type": "string", "pattern": f"^{sign}[0-9]{{1,40}}(\\.[0-9]{{1,18}})?$"},
        ],
        "description": f"{_HINT}; never a float",
    }


#: A positive amount as a request writes it.
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


class Currencies:
    """The process' view of ``currencies``: code -> exponent, reloaded when a code is missing."""

    def __init__(self) -> None:
        self._exponents: dict[str, int] = {}

    async def exponent(self, pool: asyncpg.Pool, code: str) -> int:
        """The exponent of ``code``; 422 ``currency_not_found`` if it is not registered."""
        if code not in self._exponents:
            rows = await pool.fetch("SELECT code, exponent FROM currencies")
            self._exponents = {r["code"]: r["exponent"] for r in rows}
        if code not in self._exponents:
            raise Problem(422, "currency_not_found", f"currency {code} is not registered")
        return self._exponents[code]

    async def minor(
        self, pool: asyncpg.Pool, currency: str, value: int | str, *, field: str = "amount", positive: bool = True
    ) -> int:
        """Convert a request amount; integers need no exponent (the worker refuses unknown currencies)."""
        if isinstance(value, int):
            return to_minor(value, 0, field=field, positive=positive)
        return to_minor(value, await self.exponent(pool, currency), field=field, positive=positive)
