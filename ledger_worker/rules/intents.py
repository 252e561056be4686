"""Rules for payment intents and refunds.

An intent is paid once: directly (one transaction) or via a hold that is captured later. Refunds
go back to the payer and never total more than was paid (checked here under the intent's row lock,
and by a CHECK constraint).
"""

from __future__ import annotations

from datetime import timedelta

from contracts.commands import (
    CancelIntentCommand,
    CaptureIntentCommand,
    CreateIntentCommand,
    ExpireHoldCommand,
    ExpireIntentCommand,
    PayIntentCommand,
    RefundCommand,
)
from contracts.events import IntentChanged
from contracts.ids import derived_id
from contracts.results import Refusal
from ledger_worker.book import Book
from ledger_worker.model import Intent, Refused
from ledger_worker.postings import post
from ledger_worker.rules.holds import capture, finish, reserve

#: How long an authorisation (a payment via hold) stays capturable.
AUTHORIZATION_SECONDS = 7 * 86400


def create_intent(book: Book, cmd: CreateIntentCommand) -> None:
    p = cmd.payload
    intent_id = p.intent_id or derived_id("intent", cmd.command_id)
    if intent_id in book.intents:
        raise Refused(Refusal.INTENT_EXISTS, f"payment intent {intent_id} already exists")
    party = p.party("merchant_")
    assert party is not None
    merchant = book.party(party, p.currency, open_if_missing=True)
    if merchant.kind == "system":
        raise Refused(Refusal.SYSTEM_ACCOUNT, "payment intents are paid to customer or merchant accounts")
    intent = Intent(
        id=intent_id,
        merchant_account_id=merchant.id,
        currency=p.currency,
        amount=p.amount,
        command_id=cmd.command_id,
        description=p.description,
        expires_at=book.now + timedelta(seconds=p.expires_in_seconds) if p.expires_in_seconds else None,
        metadata=dict(p.metadata),
        new=True,
    )
    book.add(intent)
    _changed(book, "intent.created", intent)


def pay_intent(book: Book, cmd: PayIntentCommand) -> None:
    p = cmd.payload
    intent = book.intent(p.intent_id)
    if intent.status != "open":
        raise Refused(Refusal.INTENT_NOT_PAYABLE, f"payment intent {intent.id} is {intent.status}")
    if intent.expires_at is not None and intent.expires_at <= book.now:
        raise Refused(Refusal.INTENT_EXPIRED, f"payment intent {intent.id} has expired")
    party = p.party("payer_")
    assert party is not None
    payer = book.party(party, intent.currency)
    merchant = book.account(intent.merchant_account_id)
    if payer.id == merchant.id:
        raise Refused(Refusal.SAME_ACCOUNT, "a merchant cannot pay its own intent")
    if p.via_hold:
        hold = reserve(
            book,
            payer,
            hold_id=derived_id("hold", cmd.command_id),
            amount=intent.amount,
            expires_in=AUTHORIZATION_SECONDS,
            recipient=merchant,
            intent_id=intent.id,
        )
        book.set(intent, status="authorized", payer_account_id=payer.id, hold_id=hold.id)
        _changed(book, "intent.authorized", intent)
        return
    transaction_id = post(
        book, [(payer, -intent.amount), (merchant, intent.amount)], amount=intent.amount, intent_id=intent.id
    )
    book.set(intent, status="paid", payer_account_id=payer.id, paid_amount=intent.amount)
    _changed(book, "intent.paid", intent, transaction_id=transaction_id)


def capture_intent(book: Book, cmd: CaptureIntentCommand) -> None:
    intent = book.intent(cmd.payload.intent_id)
    if intent.status != "authorized" or intent.hold_id is None:
        raise Refused(Refusal.INTENT_NOT_AUTHORIZED, f"payment intent {intent.id} is {intent.status}")
    hold = book.hold(intent.hold_id)
    transaction_id = capture(book, hold, cmd.payload.amount, None)
    book.set(intent, status="paid", paid_amount=hold.captured_amount)
    _changed(book, "intent.paid", intent, transaction_id=transaction_id)


def cancel_intent(book: Book, cmd: CancelIntentCommand) -> None:
    intent = book.intent(cmd.payload.intent_id)
    if intent.status not in ("open", "authorized"):
        raise Refused(Refusal.INTENT_NOT_PAYABLE, f"payment intent {intent.id} is {intent.status}")
    if intent.hold_id is not None:
        hold = book.hold(intent.hold_id)
        if hold.status == "pending":
            finish(book, hold, "released")
    book.set(intent, status="canceled")
    _changed(book, "intent.canceled", intent)


def expire_intent(book: Book, cmd: ExpireIntentCommand) -> None:
    intent = book.intent(cmd.payload.intent_id)
    if intent.status != "open" or intent.expires_at is None or intent.expires_at > book.now:
        raise Refused(Refusal.INTENT_NOT_EXPIRED, f"payment intent {intent.id} is {intent.status}, not due")
    book.set(intent, status="expired")
    _changed(book, "intent.expired", intent)


def lapse_authorization(book: Book, intent: Intent) -> None:
    """The hold behind an authorised intent expired: the intent expires with it."""
    if intent.status == "authorized":
        book.set(intent, status="expired")
        _changed(book, "intent.expired", intent)


def expire_hold(book: Book, cmd: ExpireHoldCommand) -> None:
    hold = book.hold(cmd.payload.hold_id)
    if hold.status != "pending":
        raise Refused(Refusal.HOLD_NOT_PENDING, f"hold {hold.id} is {hold.status}")
    if hold.expires_at is None or hold.expires_at > book.now:
        raise Refused(Refusal.HOLD_NOT_EXPIRED, f"hold {hold.id} has not expired")
    finish(book, hold, "expired")
    if hold.intent_id is not None:
        lapse_authorization(book, book.intent(hold.intent_id))


def refund(book: Book, cmd: RefundCommand) -> None:
    p = cmd.payload
    intent = book.intent(p.intent_id)
    if intent.status != "paid" or intent.payer_account_id is None:
        raise Refused(Refusal.INTENT_NOT_PAID, f"payment intent {intent.id} is {intent.status}")
    if p.currency != intent.currency:
        raise Refused(Refusal.CURRENCY_MISMATCH, f"payment intent {intent.id} is in {intent.currency}")
    if intent.refunded_amount + p.amount > intent.paid_amount:
        raise Refused(
            Refusal.REFUND_EXCEEDS_PAID,
            f"{intent.paid_amount - intent.refunded_amount} of {intent.paid_amount} is left to refund",
        )
    merchant, payer = book.account(intent.merchant_account_id), book.account(intent.payer_account_id)
    metadata = {"reason": p.reason} if p.reason else {}
    transaction_id = post(
        book, [(merchant, -p.amount), (payer, p.amount)], amount=p.amount, metadata=metadata, intent_id=intent.id
    )
    book.set(intent, refunded_amount=intent.refunded_amount + p.amount)
    _changed(book, "intent.refunded", intent, transaction_id=transaction_id, refund_amount=p.amount)


def _changed(
    book: Book, kind: str, intent: Intent, *, transaction_id: object = None, refund_amount: int | None = None
) -> None:
    book.ids["intent_id"] = intent.id
    merchant = book.account(intent.merchant_account_id)
    book.touch(merchant)
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
    )
    book.emit(kind, change, account=merchant)
