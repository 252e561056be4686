"""Exact conversion between integer minor units and decimal strings, by a currency's exponent, and how an
amount written in an HTTP request is checked (integer minor units or an exact decimal string, never a float)."""

from __future__ import annotations

import re

from pydantic_core import PydanticCustomError

from contracts.bounds import MAX_AMOUNT
from contracts.errors import Rejected

_DECIMAL = re.compile(r"^(-?)(\d{1,40})(?:\.(\d{1,18}))?$")
#: An amount as a request may write it: ``1250`` or ``"12.50"`` (the currency's exponent says what it means).
INVALID_AMOUNT = "invalid_amount"
DECIMAL_TEXT = re.compile(r"^-?[0-9]{1,40}(\.[0-9]{1,18})?$")
REQUEST_HINT = 'an integer of minor units (1250) or an exact decimal string ("12.50")'


class AmountError(Rejected, ValueError):
    """A decimal string that is not an exact amount in the currency."""


def to_decimal_string(minor: int, exponent: int) -> str:
    """``1250, 2 -> "12.50"``; ``-5, 2 -> "-0.05"``; ``7, 0 -> "7"``."""
    sign = "-" if minor < 0 else ""
    digits = str(abs(minor))
    if exponent == 0:
        return sign + digits
    digits = digits.rjust(exponent + 1, "0")
    return f"{sign}{digits[:-exponent]}.{digits[-exponent:]}"


def both_forms(minor: int, currency: str, exponent: int | None) -> str:
    """An amount as refusal details give it: ``12500, "USD", 2 -> "12500 (125.00 USD)"`` (minor units, then as
    a person reads it); without a known exponent just ``"12500 USD"``."""
    if exponent is None:
        return f"{minor} {currency}"
    return f"{minor} ({to_decimal_string(minor, exponent)} {currency})"


def parse_decimal_string(text: str, exponent: int) -> int:
    """``"12.5", 2 -> 1250``; refuses more decimal places than the currency has, and non-numbers."""
    match = _DECIMAL.match(text)
    if match is None:
        raise AmountError(f"{text!r} is not a decimal number like '12.50'")
    sign, whole, fraction = match.group(1), match.group(2), (match.group(3) or "")
    if len(fraction.rstrip("0")) > exponent:
        raise AmountError(f"{text!r} has more than {exponent} decimal place(s) for this currency")
    minor = int(whole + fraction.ljust(exponent, "0")[:exponent]) if exponent else int(whole)
    return -minor if sign else minor


def decimal_text(value: object, *, signed: bool) -> bool:
    """``value`` is an amount written as a decimal string (``"12.50"``; a sign only where ``signed``)."""
    # fullmatch: ``$`` would also match before a trailing newline ("12\n" was taken for 12).
    return isinstance(value, str) and DECIMAL_TEXT.fullmatch(value) is not None and (signed or value[0] != "-")


def request_amount(value: object, *, signed: bool) -> int | str:
    """An amount as an HTTP request wrote it, if it is one: an integer of minor units in range, or a decimal
    string (converted once the currency is known). Anything else, a float above all, is a
    ``PydanticCustomError`` of type ``invalid_amount``."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not (-MAX_AMOUNT if signed else 1) <= value <= MAX_AMOUNT:
            raise PydanticCustomError(INVALID_AMOUNT, "the amount is out of range")
        return value
    if isinstance(value, str) and decimal_text(value, signed=signed):
        return value
    raise PydanticCustomError(INVALID_AMOUNT, f"an amount is {REQUEST_HINT}")
