"""Rules for payment intents and refunds.

An intent is paid once: directly (one transaction) or via a hold that is captured later. Refunds
go back to the payer and never total more than was paid (checked here under the intent's row lock,
and by a CHECK constraint).
"""

from __future__ import annotations

from datetime import timedelta

from contracts.commands import Command
from contracts.holds import CancelIntent, CaptureIntent, CreateIntent, ExpireIntent, PayIntent, Refund
from contracts.ids import object_id
from contracts.results import Refusal
from ledger_worker.book import Book
from ledger_worker.model import Intent, Refused
from ledger_worker.outcome import Outcome
from ledger_worker.postings import post
from ledger_worker.rules.common import payee, payer
from ledger_worker.rules.events import intent_changed
from ledger_worker.rules.holds import capture, finish, reserve
from ledger_worker.rules.registry import outcome, rule

#: How long an authorisation (a payment via hold) stays capturable.
AUTHORIZATION_SECONDS = 7 * 86400


@rule("intent.create")
def create_intent(book: Book, cmd: Command, p: CreateIntent) -> Outcome:
    out = outcome(cmd)
    intent_id = p.intent_id or object_id("intent", principal=cmd.principal, command_id=cmd.command_id)
    if intent_id in book.intents:
        raise Refused(Refusal.INTENT_EXISTS, f"payment intent {intent_id} already exists")
    merchant = payee(book, out, p, "merchant", p.currency)
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
    intent_changed(book, out, "intent.created", intent)
    return out


@rule("intent.pay")
def pay_intent(book: Book, cmd: Command, p: PayIntent) -> Outcome:
    out = outcome(cmd)
    intent = book.intent(p.intent_id)
    if intent.status != "open":
        raise Refused(Refusal.INTENT_NOT_PAYABLE, f"payment intent {intent.id} is {intent.status}")
    if intent.expires_at is not None and intent.expires_at <= book.now:
        raise Refused(Refusal.INTENT_EXPIRED, f"payment intent {intent.id} has expired")
    paying = payer(book, p, "payer", intent.currency)
    merchant = book.account(intent.merchant_account_id)
    if paying.id == merchant.id:
        raise Refused(Refusal.SAME_ACCOUNT, "a merchant cannot pay its own intent")
    if p.via_hold:
        hold = reserve(
            book,
            out,
            paying,
            hold_id=object_id(
                "hold", principal=cmd.principal, command_id=cmd.command_id
            ),  # CommandSpec.derives: loaded, so a taken id is refused
            amount=intent.amount,
            expires_in=AUTHORIZATION_SECONDS,
            recipient=merchant,
            intent_id=intent.id,
        )
        book.set(intent, status="authorized", payer_account_id=paying.id, hold_id=hold.id)
        intent_changed(book, out, "intent.authorized", intent)
        return out
    transaction_id = post(
        book, out, [(paying, -intent.amount), (merchant, intent.amount)], amount=intent.amount, intent_id=intent.id
    )
    book.set(intent, status="paid", payer_account_id=paying.id, paid_amount=intent.amount)
    intent_changed(book, out, "intent.paid", intent, transaction_id=transaction_id)
    return out


@rule("intent.capture")
def capture_intent(book: Book, cmd: Command, p: CaptureIntent) -> Outcome:
    out = outcome(cmd)
    intent = book.intent(p.intent_id)
    if intent.status != "authorized" or intent.hold_id is None:
        raise Refused(Refusal.INTENT_NOT_AUTHORIZED, f"payment intent {intent.id} is {intent.status}")
    hold = book.hold(intent.hold_id)
    transaction_id = capture(book, out, hold, p.amount, None)
    book.set(intent, status="paid", paid_amount=hold.captured_amount)
    intent_changed(book, out, "intent.paid", intent, transaction_id=transaction_id)
    return out


@rule("intent.cancel")
def cancel_intent(book: Book, cmd: Command, p: CancelIntent) -> Outcome:
    out = outcome(cmd)
    intent = book.intent(p.intent_id)
    if intent.status not in ("open", "authorized"):
        raise Refused(Refusal.INTENT_NOT_PAYABLE, f"payment intent {intent.id} is {intent.status}")
    if intent.hold_id is not None:
        hold = book.hold(intent.hold_id)
        if hold.status == "pending":
            finish(book, out, hold, "released")
    book.set(intent, status="canceled")
    intent_changed(book, out, "intent.canceled", intent)
    return out


@rule("intent.expire")
def expire_intent(book: Book, cmd: Command, p: ExpireIntent) -> Outcome:
    out = outcome(cmd)
    intent = book.intent(p.intent_id)
    if intent.status != "open" or intent.expires_at is None or intent.expires_at > book.now:
        raise Refused(Refusal.INTENT_NOT_EXPIRED, f"payment intent {intent.id} is {intent.status}, not due")
    book.set(intent, status="expired")
    intent_changed(book, out, "intent.expired", intent)
    return out


@rule("refund")
def refund(book: Book, cmd: Command, p: Refund) -> Outcome:
    out = outcome(cmd)
    intent: Intent = book.intent(p.intent_id)
    if intent.status != "paid" or intent.payer_account_id is None:
        raise Refused(Refusal.INTENT_NOT_PAID, f"payment intent {intent.id} is {intent.status}")
    if p.currency != intent.currency:
        raise Refused(Refusal.CURRENCY_MISMATCH, f"payment intent {intent.id} is in {intent.currency}")
    if intent.refunded_amount + p.amount > intent.paid_amount:
        raise Refused(
            Refusal.REFUND_EXCEEDS_PAID,
            f"{book.money(intent.paid_amount - intent.refunded_amount, intent.currency)} of"
            f" {book.money(intent.paid_amount, intent.currency)} is left to refund",
        )
    merchant, paid_by = book.account(intent.merchant_account_id), book.account(intent.payer_account_id)
    metadata = {"reason": p.reason} if p.reason else {}
    transaction_id = post(
        book, out, [(merchant, -p.amount), (paid_by, p.amount)], amount=p.amount, metadata=metadata, intent_id=intent.id
    )
    book.set(intent, refunded_amount=intent.refunded_amount + p.amount)
    intent_changed(book, out, "intent.refunded", intent, transaction_id=transaction_id, refund_amount=p.amount)
    return out
