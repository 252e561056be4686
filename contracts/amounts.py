"""Exact conversion between integer minor units and decimal strings, by a currency's exponent."""

from __future__ import annotations

import re

from contracts.errors import Rejected

_DECIMAL = re.compile(r"^(-?)(\d{1,40})(?:\.(\d{1,18}))?$")


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
