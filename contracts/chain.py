"""The per-account hash chain that makes edits of the ledger evident.

Each posting's ``entry_hash`` is SHA-256 over the account's previous ``entry_hash`` (its 32 raw bytes; 32
zero bytes before the account's first posting) followed by the posting's canonical text, UTF-8::

    <account_id>|<transaction_id>|<command_type>|<currency>|<signed amount>|<balance_after>|<microseconds>

Anyone holding an account's postings, or its ``account.credited``/``account.debited`` events, can
recompute the chain (``event_entry_hash``; the exact recipe, field by field, with test vectors in
``contracts/chain_vectors.json``: docs/topology.md#the-hash-chain); a posting changed, removed or
reordered by hand breaks it from that point on.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from uuid import UUID

from contracts.events import BalanceChanged, EventEnvelope

GENESIS = bytes(32)
#: The event types that carry a posting, and the sign of the posting's amount in the chain.
POSTING_EVENTS = {"account.credited": 1, "account.debited": -1}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_micros(moment: datetime) -> int:
    """Exact microseconds since the Unix epoch (no float rounding)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def posting_text(
    *,
    account_id: UUID,
    transaction_id: UUID,
    kind: str,
    currency: str,
    amount: int,
    balance_after: int,
    created_at: datetime,
) -> str:
    """The canonical text of one posting: what follows the previous hash in the hashed bytes."""
    return f"{account_id}|{transaction_id}|{kind}|{currency}|{amount}|{balance_after}|{epoch_micros(created_at)}"


def entry_hash(
    previous: bytes,
    *,
    account_id: UUID,
    transaction_id: UUID,
    kind: str,
    currency: str,
    amount: int,
    balance_after: int,
    created_at: datetime,
) -> bytes:
    """Hash of one posting; ``amount`` is signed (credits positive)."""
    text = posting_text(
        account_id=account_id,
        transaction_id=transaction_id,
        kind=kind,
        currency=currency,
        amount=amount,
        balance_after=balance_after,
        created_at=created_at,
    )
    return hashlib.sha256(previous + text.encode()).digest()


def event_text(event: EventEnvelope) -> str:
    """The canonical text of the posting an ``account.credited``/``account.debited`` event reports."""
    sign, payload = POSTING_EVENTS.get(event.type), event.payload
    if sign is None or not isinstance(payload, BalanceChanged) or event.account_id is None:
        raise ValueError(f"a {event.type} event carries no posting")
    return posting_text(
        account_id=event.account_id,
        transaction_id=payload.transaction_id,
        kind=payload.command_type,
        currency=payload.currency,
        amount=sign * payload.amount,
        balance_after=payload.balance_after,
        created_at=event.occurred_at,
    )


def event_entry_hash(event: EventEnvelope) -> str:
    """The ``entry_hash`` (hex) recomputed from the event alone: its ``previous_hash`` and its posting."""
    if not isinstance(event.payload, BalanceChanged):
        raise ValueError(f"a {event.type} event carries no posting")
    previous = bytes.fromhex(event.payload.previous_hash)
    return hashlib.sha256(previous + event_text(event).encode()).hexdigest()
