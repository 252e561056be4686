"""Money as people read it where they read it: refusal details give both forms, events a decimal string."""

from __future__ import annotations

import json

import pytest

from contracts.amounts import both_forms
from contracts.events import parse_event
from contracts.results import Refusal
from ledger_worker.model import Currency
from ledger_worker.store import event_rows
from tests.unit.test_domain import NOW, USERS, apply, command, world


@pytest.mark.parametrize(
    ("minor", "currency", "exponent", "text"),
    [
        (12500, "USD", 2, "12500 (125.00 USD)"),
        (5, "USD", 2, "5 (0.05 USD)"),
        (-250, "USD", 2, "-250 (-2.50 USD)"),
        (7, "JPY", 0, "7 (7 JPY)"),
        (10**38 - 1, "BTC", 8, f"{10**38 - 1} (999999999999999999999999999999.99999999 BTC)"),
        (12, "XYZ", None, "12 XYZ"),
    ],
)
def test_both_forms(minor: int, currency: str, exponent: int | None, text: str) -> None:
    assert both_forms(minor, currency, exponent) == text


def test_insufficient_funds_says_both_forms() -> None:
    book, alice = world(), str(USERS[0])
    apply(book, command("deposit", account_id=alice, amount=12500, currency="USD"))
    result, _ = apply(book, command("spend", account_id=alice, amount=100000, currency="USD"))
    assert result.refusal == Refusal.INSUFFICIENT_FUNDS
    assert "has 12500 (125.00 USD) available, needs 100000 (1000.00 USD)" in (result.detail or "")


def test_a_capture_over_the_hold_says_both_forms() -> None:
    book, alice, hold = world(), str(USERS[0]), "00000000-0000-4000-8000-000000000abc"
    apply(book, command("deposit", account_id=alice, amount=5000, currency="USD"))
    apply(book, command("hold.place", hold_id=hold, account_id=alice, amount=3000, currency="USD"))
    result, _ = apply(book, command("hold.capture", hold_id=hold, recipient_account_id=str(USERS[1]), amount=4000))
    assert result.refusal == Refusal.CAPTURE_EXCEEDS_HOLD
    assert "holds 3000 (30.00 USD), not 4000 (40.00 USD)" in (result.detail or "")


def test_events_carry_the_amount_as_a_decimal_string_beside_the_integer() -> None:
    book, alice, hold = world(), str(USERS[0]), "00000000-0000-4000-8000-000000000abd"
    book.currencies["JPY"] = Currency("JPY", "yen", 0)
    _, deposited = apply(book, command("deposit", account_id=alice, amount=1250, currency="USD"))
    _, held = apply(book, command("hold.place", hold_id=hold, account_id=alice, amount=5, currency="USD"))
    bodies = [json.loads(row.body) for out in (deposited, held) for row in event_rows(out, NOW)]
    assert [(b["type"], b["payload"]["amount"], b["payload"]["amount_decimal"]) for b in bodies] == [
        ("account.credited", 1250, "12.50"),
        ("hold.placed", 5, "0.05"),
    ]
    for out in (deposited, held):
        for row in event_rows(out, NOW):
            parse_event(row.body)  # valid against the contract
