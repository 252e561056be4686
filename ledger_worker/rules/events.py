"""Event payloads of holds and payment intents: the object as it is after the change."""

from __future__ import annotations

from uuid import UUID

from contracts.events import HoldChanged, IntentChanged
from ledger_worker.book import Book
from ledger_worker.model import Account, Hold, Intent
from ledger_worker.outcome import Outcome


def hold_changed(book: Book, hold: Hold, account: Account) -> HoldChanged:
    return HoldChanged(
        hold_id=hold.id,
        currency=hold.currency,
        amount=hold.amount,
        captured_amount=hold.captured_amount,
        status=hold.status,
        expires_at=hold.expires_at,
        recipient_account_id=hold.recipient_account_id,
        transaction_id=hold.transaction_id,
        held_after=account.held,
        available_after=account.available,
        amount_decimal=book.decimal(hold.amount, hold.currency),
    )


def intent_changed(
    book: Book,
    out: Outcome,
    kind: str,
    intent: Intent,
    *,
    transaction_id: UUID | None = None,
    refund_amount: int | None = None,
) -> None:
    """Emit ``kind`` on the merchant's stream; the result names the intent and the merchant's balance."""
    out.intent_id = intent.id
    merchant = book.account(intent.merchant_account_id)
    out.touch(merchant)
    change = IntentChanged(
        intent_id=intent.id,
        status=intent.status,
        amount=intent.amount,
        currency=intent.currency,
        paid_amount=intent.paid_amount,
        refunded_amount=intent.refunded_amount,
        payer_account_id=intent.payer_account_id,
        hold_id=intent.hold_id,
        transaction_id=transaction_id,
        refund_amount=refund_amount,
        amount_decimal=book.decimal(intent.amount, intent.currency),
    )
    out.emit(kind, change, account=merchant)
