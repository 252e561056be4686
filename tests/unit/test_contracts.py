"""Contracts: committed JSON Schemas match the models, and the models refuse what they must."""

from __future__ import annotations

import json
import uuid

import pytest
from pydantic import ValidationError

from contracts.commands import TransferCommand, parse_command
from contracts.export import SCHEMA_DIR, render
from contracts.money import Transfer

A, B = str(uuid.UUID(int=1)), str(uuid.UUID(int=2))


def test_committed_schemas_match_the_models() -> None:
    expected = render()
    committed = {p.name: p.read_text() for p in SCHEMA_DIR.glob("*.json")}
    assert committed == expected, "contracts changed: run `make schemas` and commit contracts/schemas"


def _transfer(**payload: object) -> bytes:
    body = {"debit_account_id": A, "credit_account_id": B, "amount": 100, "currency": "USD", **payload}
    return json.dumps(
        {"command_id": "c-1", "type": "transfer", "issued_at": "2026-01-01T00:00:00Z", "payload": body}
    ).encode()


def test_valid_transfer_round_trips() -> None:
    cmd = parse_command(_transfer())
    assert isinstance(cmd, TransferCommand) and isinstance(cmd.payload, Transfer) and cmd.payload.amount == 100
    assert parse_command(cmd.model_dump_json().encode()) == cmd


@pytest.mark.parametrize(
    "payload",
    [
        {"amount": 12.5},  # floats are never money
        {"amount": "12"},
        {"amount": 0},
        {"amount": -1},
        {"amount": 10**38},
        {"currency": "usd"},
        {"credit_account_id": A},  # to itself
        {"memo": "extra fields are refused"},
    ],
)
def test_bad_payloads_are_refused(payload: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        parse_command(_transfer(**payload))


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\xff\xfe",
        b"[]",
        b'{"command_id": "x", "type": "teleport", "issued_at": "2026-01-01T00:00:00Z", "payload": {}}',
        b'{"command_id": "x y", "type": "account.open", "issued_at": "2026-01-01T00:00:00Z", '
        b'"payload": {"currency": "USD"}}',
        b'{"command_id": "x", "type": "account.open", "schema_version": 2, "issued_at": "2026-01-01T00:00:00Z", '
        b'"payload": {"currency": "USD"}}',
    ],
)
def test_undecodable_or_unknown_commands_are_refused(body: bytes) -> None:
    with pytest.raises(ValidationError):
        parse_command(body)
