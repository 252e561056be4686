"""The per-account hash chain that makes edits of the ledger evident.

Each posting's ``entry_hash`` is SHA-256 over the account's previous ``entry_hash`` (32 zero bytes
for its first posting) followed by the posting's canonical text. Anyone holding an account's
postings, or its ``account.credited``/``account.debited`` events, can recompute the chain; a
posting changed, removed or reordered by hand breaks it from that point on.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from uuid import UUID

GENESIS = bytes(32)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_micros(moment: datetime) -> int:
    """Exact microseconds since the Unix epoch (no float rounding)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


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
    text = f"{account_id}|{transaction_id}|{kind}|{currency}|{amount}|{balance_after}|{epoch_micros(created_at)}"
    return hashlib.sha256(previous + text.encode()).digest()
