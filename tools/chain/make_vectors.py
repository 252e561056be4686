"""Write contracts/chain_vectors.json, the test vectors of the per-account hash chain (docs/topology.md#the-hash-chain).

    python tools/chain/make_vectors.py          # (re)write the file
    python tools/chain/make_vectors.py --check  # exit 1 if the file is not what this script writes

Each case is one account's ``account.credited``/``account.debited`` events in ``sequence`` order, as the
relay publishes them (body bytes and signature headers). The valid chains are computed with
``contracts.chain``; the invalid ones are a posting altered, dropped or reordered, or an ``entry_hash``
computed by a plausible misreading of the recipe (previous hash as hex text, unsigned amount, event type for
command type, milliseconds). ``examples/node-chain-verifier/verify.mjs`` (Node.js, no code of ours) must agree.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from contracts.amounts import to_decimal_string  # noqa: E402  (run as a script from anywhere)
from contracts.bounds import MAX_AMOUNT  # noqa: E402
from contracts.chain import GENESIS, POSTING_EVENTS, entry_hash, epoch_micros, event_text  # noqa: E402
from contracts.events import BalanceChanged, EventEnvelope  # noqa: E402
from contracts.signing import sign  # noqa: E402
from tools import vectors  # noqa: E402

OUT = ROOT / "contracts" / "chain_vectors.json"
KEY = ("k1", "k1-0b7c2d61e5a94f8cb3f1a2d4e6c8b0a9")  # the signing vectors' k1
SIGNED_AT = 1767225600
ALICE = UUID("7c1e9b3a-2d4f-4a6e-8b0c-1f3e5a7d9b2c")
WALLET = UUID("5b2d8f1e-3c4a-4e6b-9d0f-2a4c6e8b0d1f")


def _uuid(n: int) -> UUID:
    return UUID(f"00000000-0000-4000-8000-{n:012x}")


class Chain:
    """An account's postings, each turned into the event the worker emits for it."""

    def __init__(self, account: UUID, currency: str, exponent: int) -> None:
        self.account, self.currency, self.balance, self.head, self.seq = account, currency, 0, GENESIS, 0
        self.exponent = exponent
        self.events: list[EventEnvelope] = []

    def post(self, command_type: str, signed: int, at: datetime, **misread: Any) -> EventEnvelope:
        """Append a posting; ``misread`` computes its hash by a wrong reading of the recipe instead."""
        self.seq += 1
        self.balance += signed
        tx = _uuid(0xA000 + self.seq)
        fields = {
            "account_id": self.account,
            "transaction_id": tx,
            "kind": misread.get("kind", command_type),
            "currency": self.currency,
            "amount": misread.get("amount", signed),
            "balance_after": self.balance,
            "created_at": misread.get("created_at", at),
        }
        previous = self.head.hex().encode() if misread.get("hex_previous") else self.head
        digest = entry_hash(previous, **fields)
        payload = BalanceChanged(
            command_type=command_type,
            transaction_id=tx,
            amount=abs(signed),
            currency=self.currency,
            balance_after=self.balance,
            available_after=self.balance,
            counterparty_account_id=None,
            entry_hash=digest.hex(),
            previous_hash=self.head.hex(),
            amount_decimal=to_decimal_string(abs(signed), self.exponent),
        )
        event = EventEnvelope(
            event_id=_uuid(0xE000 + self.seq),
            type="account.credited" if signed > 0 else "account.debited",
            occurred_at=at,
            command_id=f"cmd-{self.seq}",
            principal="amqp:orders",
            account_id=self.account,
            wallet_id=WALLET,
            sequence=self.seq,
            payload=payload,
        )
        self.head = digest
        self.events.append(event)
        return event


def _at(second: int, micros: int = 0) -> datetime:
    return datetime(2026, 1, 1, 0, 0, second, micros, tzinfo=UTC)


def _message(event: EventEnvelope, body: bytes | None = None) -> dict[str, Any]:
    body = body if body is not None else event.model_dump_json().encode()
    headers = sign(
        routing_key=event.type,
        message_id=str(event.event_id),
        message_type=event.type,
        body=body,
        keys={KEY[0]: KEY[1].encode()},
        signed_at=SIGNED_AT,
    )
    return {"routing_key": event.type, "message_id": str(event.event_id), "type": event.type, "headers": headers}


def _entry(event: EventEnvelope, *, valid: bool) -> dict[str, Any]:
    body = event.model_dump_json()
    entry = {**_message(event, body.encode()), "body_text": body}
    if valid:  # what a verifier builds on the way, to compare step by step
        entry["text"] = event_text(event)
        entry["micros"] = str(epoch_micros(event.occurred_at))
        entry["signed_amount"] = str(POSTING_EVENTS[event.type] * event.payload.amount)  # type: ignore[union-attr]
    return entry


def _case(name: str, why: str, events: list[EventEnvelope], breaks_at: int | None = None) -> dict[str, Any]:
    case: dict[str, Any] = {"name": name, "valid": breaks_at is None, "why": why}
    if breaks_at is not None:
        case["breaks_at"] = breaks_at
    case["events"] = [_entry(e, valid=breaks_at is None) for e in events]
    return case


def _replace(event: EventEnvelope, **payload: Any) -> EventEnvelope:
    kind = payload.pop("type", event.type)
    changed = event.payload.model_copy(update=payload)
    return event.model_copy(update={"type": kind, "payload": changed})


def _alice() -> Chain:
    chain = Chain(ALICE, "USD", 2)
    chain.post("deposit", 1250, _at(0))
    chain.post("spend", -250, _at(1, 1))
    chain.post("transfer", MAX_AMOUNT - 1000, _at(2, 123456))  # balance_after = 10^38 - 1
    return chain


def cases() -> list[dict[str, Any]]:
    alice = _alice().events
    credit = Chain(UUID("2e4a6c8e-0b1d-4f3a-9c5e-7a9b1d3f5e7a"), "JPY", 0)
    credit.post("bonus", 500, _at(10, 500000))
    credit.post("hold.capture", -2000, _at(11, 999999))  # below zero: a credit line
    credit.post("transaction.reverse", 1500, _at(12, 10))

    def misread(**how: Any) -> list[EventEnvelope]:
        chain = Chain(ALICE, "USD", 2)
        chain.post("deposit", 1250, _at(0))
        chain.post("spend", -250, _at(1, 1), **how)
        return chain.events

    return [
        _case(
            "three postings of one account",
            "a deposit (the first posting: previous_hash is 32 zero bytes), a debit (negative signed amount), then a "
            "credit that brings balance_after to 10^38 - 1: a plain JavaScript JSON.parse rounds it",
            alice,
        ),
        _case(
            "a credit line, in yen",
            "balance_after below zero; command types with a dot; occurred_at with 1 to 6 fraction digits",
            credit.events,
        ),
        _case("amount changed", "the debit's amount edited afterwards", [alice[0], _replace(alice[1], amount=251)], 1),
        _case(
            "a debit relabelled as a credit",
            "the event type gives the amount's sign",
            [alice[0], _replace(alice[1], type="account.credited")],
            1,
        ),
        _case("a posting dropped", "the next previous_hash no longer links", [alice[0], alice[2]], 1),
        _case("postings reordered", "the chain is in sequence order", [alice[0], alice[2], alice[1]], 1),
        _case(
            "previous_hash hashed as hex text",
            "its entry_hash took the 64 hex characters, not the 32 bytes they encode",
            misread(hex_previous=True),
            1,
        ),
        _case("amount hashed unsigned", "a debit enters as -250, not 250", misread(amount=250), 1),
        _case(
            "event type hashed as the command type",
            "the command type is payload.command_type (spend), not the event type",
            misread(kind="account.debited"),
            1,
        ),
        _case(
            "time hashed in milliseconds",
            "occurred_at counts in microseconds: 1767225601000001, not 1767225601000",
            misread(created_at=_at(1)),
            1,
        ),
    ]


def document() -> dict[str, Any]:
    return {
        "recipe": "docs/topology.md#the-hash-chain",
        "hash": "entry_hash = hex(SHA-256(bytes.fromhex(previous_hash) || UTF-8(text)))",
        "text": "account_id|transaction_id|payload.command_type|currency|signed amount|balance_after|microseconds",
        "keys": {KEY[0]: KEY[1]},
        "notes": [
            "each case: one account's account.credited/account.debited events in sequence order, as published "
            "(routing_key, message_id, type, headers signed with keys, body_text: the exact body, UTF-8)",
            "valid: every event's entry_hash recomputes from its own body and its previous_hash is the entry_hash "
            "of the event before (64 zeros for the account's first posting); valid cases give each event's text, "
            "micros and signed_amount as a verifier builds them",
            "invalid: breaks_at is the index of the first event whose hash or link fails; every signature is valid",
        ],
        "cases": cases(),
    }


def main() -> int:
    return vectors.write_or_check(OUT, document(), "tools/chain/make_vectors.py", sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
