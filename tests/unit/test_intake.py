"""``intake.decode``: one exception type, with a reason, for everything that is not a command."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.commands import DepositCommand
from contracts.money import Deposit
from ledger_common.intake import MAX_BODY_BYTES, MAX_REASON, Undecodable, decode

VALID: dict[str, Any] = {
    "command_id": "c-1",
    "type": "deposit",
    "schema_version": 1,
    "issued_at": "2026-01-01T00:00:00Z",
    "payload": {"account_id": "00000000-0000-4000-8000-000000000001", "amount": 5, "currency": "USD"},
}


def body(doc: Any = VALID) -> bytes:
    return json.dumps(doc).encode()


def nested(depth: int) -> Any:
    doc: Any = 1
    for _ in range(depth):
        doc = [doc]
    return doc


def with_payload(**fields: Any) -> bytes:
    return body({**VALID, "payload": {**VALID["payload"], **fields}})


@pytest.mark.parametrize("content_type", [None, "", "application/json", "Application/JSON; charset=UTF-8"])
def test_valid_command_decodes(content_type: str | None) -> None:
    cmd = decode(body(), content_type)
    assert isinstance(cmd, DepositCommand) and isinstance(cmd.payload, Deposit) and cmd.payload.amount == 5


@pytest.mark.parametrize(
    ("raw", "content_type", "reason"),
    [
        (b"", None, "empty body"),
        (b"\xff\xfe{}", None, "not UTF-8"),
        (b'{"command_id": "c-1", "type": "dep', None, "invalid JSON"),
        (b"[" * 10_000 + b"]" * 10_000, None, "nested deeper"),
        (body({**VALID, "payload": nested(40)}), None, "deeper"),
        (body().replace(b'"amount": 5', b'"amount": 5, "amount": 500'), None, "duplicate key 'amount'"),
        (with_payload(amount=float("nan")), None, "NaN"),
        (with_payload(amount=1.5), None, "payload.amount"),
        (with_payload(amount="5"), None, "payload.amount"),
        (with_payload(amount=-5), None, "payload.amount"),
        (with_payload(amount=0), None, "payload.amount"),
        (with_payload(amount=10**38), None, "payload.amount"),
        (body().replace(b'"amount": 5', b'"amount": ' + b"9" * 5000), None, "invalid JSON"),
        (with_payload(extra=1), None, "extra"),
        (body({**VALID, "type": "teleport"}), None, "invalid command"),
        (body({**VALID, "schema_version": 2}), None, "schema_version"),
        (body({**VALID, "principal": "a\x00b"}), None, "NUL"),
        (body({**VALID, "principal": "\ud800"}), None, "surrogate"),
        (body([VALID]), None, "invalid command"),
        (body(), "text/plain", "content_type"),
        (body(), "application/json; charset=latin-1", "charset"),
        (b" " * (MAX_BODY_BYTES + 1), None, "too large"),
    ],
)
def test_malformed_bodies_raise_undecodable_with_reason(raw: bytes, content_type: str | None, reason: str) -> None:
    with pytest.raises(Undecodable) as caught:
        decode(raw, content_type)
    assert reason in caught.value.reason and len(caught.value.reason) <= MAX_REASON


def test_a_5_mb_body_is_refused_before_parsing() -> None:
    padded = body()[:-1] + b" " * (5 * 1024 * 1024) + b"}"
    with pytest.raises(Undecodable, match="too large"):
        decode(padded, "application/json")


def test_reason_is_bounded_even_for_huge_field_names() -> None:
    with pytest.raises(Undecodable) as caught:
        decode(with_payload(**{"k" * 10_000: 1}), None)
    assert len(caught.value.reason) <= MAX_REASON


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_arbitrary_bytes_never_escape_as_another_exception(raw: bytes) -> None:
    try:
        decode(raw, None)
    except Undecodable as exc:
        assert exc.reason


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["command_id", "type", "schema_version", "issued_at", "payload", "reply_to"]), _json)
def test_any_json_in_any_envelope_field_decodes_or_is_undecodable(field: str, value: Any) -> None:
    try:
        cmd = decode(body({**VALID, field: value}), "application/json")
    except Undecodable as exc:
        assert exc.reason
    else:
        assert cmd.command_id


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=len(body()) - 1))
def test_every_truncation_is_undecodable(cut: int) -> None:
    with pytest.raises(Undecodable):
        decode(body()[:cut], None)
