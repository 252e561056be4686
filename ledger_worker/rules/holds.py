"""Rules for holds (two-phase debits): place, increment, extend, capture, release, expire.

A pending hold adds its amount to the account's ``held``, so available funds (balance minus held)
shrink at once. Capturing takes all or part of it with a real transaction and releases the rest;
a hold is captured at most once, so concurrent captures can never take more than was held.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from contracts.base import Party
from contracts.commands import Command
from contracts.holds import CaptureHold, ExpireHold, ExtendHold, IncrementHold, PlaceHold, ReleaseHold
from contracts.ids import object_id
from contracts.results import Refusal
from ledger_worker.book import Book
from ledger_worker.limits import charge_key
from ledger_worker.model import Account, Hold, Refused
from ledger_worker.outcome import Outcome
from ledger_worker.postings import check_debit, post
from ledger_worker.rules.common import payer, receiving
from ledger_worker.rules.events import hold_changed, intent_changed
from ledger_worker.rules.registry import outcome, rule


@rule("hold.place")
def place_hold(book: Book, cmd: Command, p: PlaceHold) -> Outcome:
    out = outcome(cmd)
    account = payer(book, p, "holder", p.currency)
    recipient_party = p.party("recipient")
    recipient = receiving(book, out, recipient_party, p.currency) if recipient_party else None
    reserve(
        book,
        out,
        account,
        hold_id=p.hold_id or object_id("hold", principal=cmd.principal, command_id=cmd.command_id),
        amount=p.amount,
        expires_in=p.expires_in_seconds,
        recipient=recipient,
        description=p.description,
        metadata=dict(p.metadata),
    )
    return out


def reserve(
    book: Book,
    out: Outcome,
    account: Account,
    *,
    hold_id: UUID,
    amount: int,
    expires_in: int | None,
    recipient: Account | None,
    intent_id: UUID | None = None,
    description: str | None = None,
    metadata: dict[str, str] | None = None,
) -> Hold:
    """Place a hold on ``account``: the same checks as a debit of ``amount``, without posting."""
    if hold_id in book.holds:
        raise Refused(Refusal.HOLD_EXISTS, f"hold {hold_id} already exists")
    if account.kind == "system":
        raise Refused(Refusal.SYSTEM_ACCOUNT, "holds are placed on customer accounts")
    if recipient is not None and recipient.id == account.id:
        raise Refused(Refusal.SAME_ACCOUNT, "a hold cannot be captured to the account it holds")
    check_debit(book, account, amount, -amount)
    charge_key(book, out, amount, account.currency)
    hold = Hold(
        id=hold_id,
        account_id=account.id,
        currency=account.currency,
        amount=amount,
        command_id=out.command_id,
        expires_at=book.now + timedelta(seconds=expires_in) if expires_in else None,
        recipient_account_id=recipient.id if recipient else None,
        intent_id=intent_id,
        description=description,
        metadata=metadata or {},
        new=True,
    )
    book.add(hold)
    book.set(account, held=account.held + amount)
    out.touch(account)
    out.hold_id, out.account_id = hold_id, account.id
    out.emit("hold.placed", hold_changed(book, hold, account), account=account)
    return hold


@rule("hold.increment")
def increment_hold(book: Book, cmd: Command, p: IncrementHold) -> Outcome:
    """Reserve more of the account's available funds under the same hold (an incremental authorisation).

    Checked like placing a hold of the new total (status, minimum balance against the increment;
    per-transaction and daily limits against the total); the key that sends it is charged the increment.
    """
    out = outcome(cmd)
    hold = _own_hold(book, p.hold_id)
    _check_pending(book, hold)
    account = book.account(hold.account_id)
    total = hold.amount + p.amount
    check_debit(book, account, total, -p.amount)
    charge_key(book, out, p.amount, account.currency, payment=total)
    expires_at = book.now + timedelta(seconds=p.expires_in_seconds) if p.expires_in_seconds else hold.expires_at
    book.set(hold, amount=total, expires_at=expires_at)
    book.set(account, held=account.held + p.amount)
    out.touch(account)
    out.hold_id, out.account_id = hold.id, account.id
    out.emit("hold.incremented", hold_changed(book, hold, account), account=account)
    return out


@rule("hold.extend")
def extend_hold(book: Book, cmd: Command, p: ExtendHold) -> Outcome:
    """A later expiry for a pending hold; never an earlier one (a hold that never expires stays so)."""
    out = outcome(cmd)
    hold = _own_hold(book, p.hold_id)
    _check_pending(book, hold)
    expires_at = book.now + timedelta(seconds=p.expires_in_seconds)
    if hold.expires_at is None or expires_at <= hold.expires_at:
        current = "never" if hold.expires_at is None else f"at {hold.expires_at:%Y-%m-%dT%H:%M:%SZ}"
        asked = f"{expires_at:%Y-%m-%dT%H:%M:%SZ}"
        raise Refused(Refusal.EXPIRY_NOT_LATER, f"hold {hold.id} expires {current}: {asked} is not later")
    account = book.account(hold.account_id)
    book.set(hold, expires_at=expires_at)
    out.touch(account)
    out.hold_id, out.account_id = hold.id, account.id
    out.emit("hold.extended", hold_changed(book, hold, account), account=account)
    return out


@rule("hold.capture")
def capture_hold(book: Book, cmd: Command, p: CaptureHold) -> Outcome:
    out = outcome(cmd)
    capture(book, out, _own_hold(book, p.hold_id), p.amount, p.party("recipient"))
    return out


def capture(book: Book, out: Outcome, hold: Hold, amount: int | None, recipient_party: Party | None) -> UUID:
    """Post ``amount`` (default: all) of a pending hold to its recipient and release the rest."""
    _check_pending(book, hold)
    amount = hold.amount if amount is None else amount
    if amount > hold.amount:
        raise Refused(
            Refusal.CAPTURE_EXCEEDS_HOLD,
            f"hold {hold.id} holds {book.money(hold.amount, hold.currency)}, not {book.money(amount, hold.currency)}",
        )
    if recipient_party is not None:
        recipient = receiving(book, out, recipient_party, hold.currency)
    elif hold.recipient_account_id is not None:
        recipient = book.account(hold.recipient_account_id)
    else:
        raise Refused(Refusal.RECIPIENT_REQUIRED, f"hold {hold.id} has no recipient; name one to capture")
    if recipient.id == hold.account_id:
        raise Refused(Refusal.SAME_ACCOUNT, "a hold cannot be captured to the account it holds")
    account = book.account(hold.account_id)
    book.set(account, held=account.held - hold.amount)  # the whole reservation ends here
    transaction_id = post(
        book,
        out,
        [(account, -amount), (recipient, amount)],
        amount=amount,
        hold_id=hold.id,
        intent_id=hold.intent_id,
        charge_key=False,  # counted against the key that placed the hold
    )
    book.set(
        hold,
        status="captured",
        captured_amount=amount,
        transaction_id=transaction_id,
        recipient_account_id=recipient.id,
        finished_at=book.now,
    )
    out.hold_id = hold.id
    out.emit("hold.captured", hold_changed(book, hold, account), account=account)
    return transaction_id


@rule("hold.release")
def release_hold(book: Book, cmd: Command, p: ReleaseHold) -> Outcome:
    out = outcome(cmd)
    hold = _own_hold(book, p.hold_id)
    _check_pending(book, hold)
    finish(book, out, hold, "released")
    return out


@rule("hold.expire")
def expire_hold(book: Book, cmd: Command, p: ExpireHold) -> Outcome:
    """The sweeper's expiry: an authorised intent whose hold lapses expires with it."""
    out = outcome(cmd)
    hold = book.hold(p.hold_id)
    if hold.status != "pending":
        raise Refused(Refusal.HOLD_NOT_PENDING, f"hold {hold.id} is {hold.status}")
    if hold.expires_at is None or hold.expires_at > book.now:
        raise Refused(Refusal.HOLD_NOT_EXPIRED, f"hold {hold.id} has not expired")
    finish(book, out, hold, "expired")
    if hold.intent_id is not None:
        intent = book.intent(hold.intent_id)
        if intent.status == "authorized":
            book.set(intent, status="expired")
            intent_changed(book, out, "intent.expired", intent)
    return out


def finish(book: Book, out: Outcome, hold: Hold, status: str) -> None:
    """End a pending hold without posting: its amount becomes available again."""
    account = book.account(hold.account_id)
    book.set(account, held=account.held - hold.amount)
    book.set(hold, status=status, finished_at=book.now)
    out.touch(account)
    out.hold_id, out.account_id = hold.id, account.id
    out.emit(f"hold.{status}", hold_changed(book, hold, account), account=account)


def _own_hold(book: Book, hold_id: UUID) -> Hold:
    hold = book.hold(hold_id)
    if hold.intent_id is not None:
        raise Refused(
            Refusal.HOLD_BELONGS_TO_INTENT, f"hold {hold_id} authorises intent {hold.intent_id}; capture or cancel that"
        )
    return hold


def _check_pending(book: Book, hold: Hold) -> None:
    if hold.status != "pending":
        raise Refused(Refusal.HOLD_NOT_PENDING, f"hold {hold.id} is {hold.status}")
    if hold.expires_at is not None and hold.expires_at <= book.now:
        raise Refused(Refusal.HOLD_EXPIRED, f"hold {hold.id} expired at {hold.expires_at:%Y-%m-%dT%H:%M:%SZ}")
