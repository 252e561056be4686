"""API key spending limits: funds a command commits count against the limits of the key that sent it.

The limits and the key's 24 h spend are loaded under the key's row lock (``ledger_worker.load``), so
parallel batches of one key cannot both fit under a limit only one of them fits under.
"""

from __future__ import annotations

from contracts.results import Refusal
from ledger_worker.book import Book
from ledger_worker.model import KeySpendRow, Refused
from ledger_worker.outcome import Outcome


def charge_key(book: Book, out: Outcome, amount: int, currency: str, *, payment: int | None = None) -> None:
    """Count ``amount`` of ``currency`` against the command's API key; refuse what exceeds its limits.

    ``payment``: the whole payment ``amount`` adds to (a hold's total after an increment), which the
    per-transaction maximum covers; the 24 h total counts only what is new.
    """
    key_id = out.key_id
    limit = book.key_limits.get((key_id, currency)) if key_id is not None and amount > 0 else None
    if limit is None:
        return
    whole = amount if payment is None else payment
    if limit.per_transaction_max is not None and whole > limit.per_transaction_max:
        raise Refused(
            Refusal.EXCEEDS_KEY_LIMIT,
            f"this API key may commit at most {book.money(limit.per_transaction_max, currency)} per transaction",
        )
    if limit.per_day_max is not None and limit.spent_24h + amount > limit.per_day_max:
        raise Refused(
            Refusal.EXCEEDS_KEY_LIMIT,
            f"this API key may commit {book.money(limit.per_day_max, currency)} per 24 h;"
            f" {book.money(limit.spent_24h, currency)} already",
        )
    book.set(limit, spent_24h=limit.spent_24h + amount)
    out.key_spend.append(KeySpendRow(limit.key_id, currency, amount, out.command_id))
