"""Reading statement amounts and lines: exact at the currency's exponent, every bad line named."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger_common.recon.importer import StatementError, _line, minor_units
from ledger_common.recon.sources import Columns, SourceConfig

CONFIG = SourceConfig(
    account_id=UUID("00000000-0000-4000-8000-000000000001"),
    currency="USD",
    columns=Columns(amount="amount", value_date="date", reference="ref", currency="ccy", negate=True),
)


@pytest.mark.parametrize(
    ("text", "exponent", "minor"),
    [("12.50", 2, 1250), ("-0.01", 2, -1), ("7", 0, 7), ("1 000.5", 1, 10005), ("0.000000000000000001", 18, 1)],
)
def test_amounts_are_exact_minor_units(text: str, exponent: int, minor: int) -> None:
    assert minor_units(text, exponent) == minor


@pytest.mark.parametrize("text", ["12.345", "abc", "1e400", "NaN", "Infinity", "1" * 19])
def test_an_amount_the_currency_cannot_hold_is_refused_not_rounded(text: str) -> None:
    with pytest.raises(StatementError):
        minor_units(text, 2, 7)


@given(st.integers(-(10**15), 10**15), st.integers(0, 3))
def test_a_written_amount_reads_back(minor: int, exponent: int) -> None:
    sign = "-" if minor < 0 else ""
    digits = str(abs(minor)).rjust(exponent + 1, "0")
    text = f"{sign}{digits[: len(digits) - exponent]}.{digits[len(digits) - exponent :]}" if exponent else str(minor)
    assert minor_units(text, exponent) == minor


def test_a_line_is_mapped_and_negated_and_its_errors_name_it() -> None:
    row = _line(CONFIG, {"USD": 2, "JPY": 0}, 3, {"amount": "5", "date": "2026-11-02", "ref": " R1 ", "ccy": "JPY"})
    assert row[1:5] == ("JPY", -5, date(2026, 11, 2), "R1")
    with pytest.raises(StatementError, match="line 4: 'date' is missing"):
        _line(CONFIG, {"USD": 2}, 4, {"amount": "1.00"})
    with pytest.raises(StatementError, match="line 5: currency 'XXX' is not registered"):
        _line(CONFIG, {"USD": 2}, 5, {"amount": "1.00", "date": "2026-11-02", "ccy": "XXX"})
    with pytest.raises(StatementError, match="line 6: '02/11/2026' is not a date"):
        _line(CONFIG, {"USD": 2}, 6, {"amount": "1.00", "date": "02/11/2026"})
