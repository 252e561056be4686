"""The gateway's pure edges: how amounts are read, how refusals become statuses, how bad requests
are answered, and that cursors only decode what the API issued."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from contracts.base import MAX_AMOUNT
from contracts.results import Refusal, refusal_status
from http_gateway import pages
from http_gateway.amounts import AmountIn, SignedAmountIn, to_minor
from http_gateway.problems import Problem, invalid_request


class Body(BaseModel):
    amount: AmountIn
    floor: SignedAmountIn = 0


@pytest.mark.parametrize("value", [1, MAX_AMOUNT, "12.50", "0.000000000000000001", "7"])
def test_amounts_accept_integers_and_decimal_strings(value: int | str) -> None:
    assert Body.model_validate({"amount": value}).amount == value


@pytest.mark.parametrize("value", [0, -1, MAX_AMOUNT + 1, 12.5, 12.0, True, "12,50", "-1", " 1", "1e3", "١٢", None])
def test_amounts_refuse_floats_and_anything_else_as_invalid_amount(value: object) -> None:
    with pytest.raises(ValidationError) as info:
        Body.model_validate({"amount": value})
    assert [e["type"] for e in info.value.errors()] == ["invalid_amount"]


def test_signed_amounts_take_a_sign() -> None:
    assert Body.model_validate({"amount": 1, "floor": "-200.00"}).floor == "-200.00"
    assert Body.model_validate({"amount": 1, "floor": -5}).floor == -5


def test_conversion_is_exact_and_names_the_field() -> None:
    assert to_minor("12.5", 2, field="amount") == 1250
    assert to_minor("0.000000000000000001", 18, field="amount") == 1
    assert to_minor("-200.00", 2, field="min_balance", positive=False) == -20_000
    for text, exponent in (("1.005", 2), ("1.5", 0), ("0.00", 2), ("9" * 40, 0)):
        with pytest.raises(Problem) as info:
            to_minor(text, exponent, field="legs.1.amount")
        assert (info.value.status, info.value.code, info.value.extra["field"]) == (
            422,
            "invalid_amount",
            "legs.1.amount",
        )


def test_every_refusal_has_its_status() -> None:
    statuses = {r: refusal_status(r) for r in Refusal}
    assert {r for r, s in statuses.items() if s == 404} == {r for r in Refusal if r.value.endswith("_not_found")}
    assert {r.value for r, s in statuses.items() if s == 409} == {
        "idempotency_conflict",
        "currency_exists",
        "wallet_exists",
        "handle_taken",
        "external_ref_taken",
        "account_exists",
        "hold_exists",
        "intent_exists",
        "already_reversed",
    }
    assert statuses[Refusal.INSUFFICIENT_FUNDS] == statuses[Refusal.WALLET_NOT_EMPTY] == 422


def _problem(errors: list[dict[str, object]]) -> tuple[int, dict[str, Any]]:
    response = invalid_request(errors)
    return response.status_code, json.loads(bytes(response.body))


def test_invalid_requests_map_to_their_codes() -> None:
    missing: dict[str, object] = {"loc": ("header", "Idempotency-Key"), "msg": "Field required", "type": "missing"}
    body: dict[str, object] = {"loc": ("body", "currency"), "msg": "bad", "type": "string_pattern_mismatch"}
    status, doc = _problem([body, missing])
    assert (status, doc["code"]) == (400, "idempotency_key_required")
    status, doc = _problem([{**missing, "type": "string_pattern_mismatch"}])
    assert (status, doc["code"]) == (400, "invalid_idempotency_key")
    amount: dict[str, object] = {
        "loc": ("body", "legs", 1, "amount"),
        "msg": "an amount is ...",
        "type": "invalid_amount",
    }
    status, doc = _problem([body, amount])
    assert (status, doc["code"], doc["field"]) == (422, "invalid_amount", "legs.1.amount")
    status, doc = _problem([body])
    assert (status, doc["code"], len(doc["errors"])) == (422, "validation_error", 1)


def test_cursors_decode_only_what_was_issued() -> None:
    shape: TypeAdapter[int] = TypeAdapter(pages.Position)
    assert pages.decode(pages.encode("p", 42), "p", shape) == 42
    forged = [pages.encode("x", 42), pages.encode("p", -1), pages.encode("p", 2**63), "%%%", "", "e30", "W10"]
    for cursor in forged:
        with pytest.raises(Problem) as info:
            pages.decode(cursor, "p", shape)
        assert (info.value.status, info.value.code) == (400, "invalid_cursor")
