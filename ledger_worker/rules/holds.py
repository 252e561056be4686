"""Rules for holds (two-phase debits): place, capture, release, expire.

A pending hold adds its amount to the account's ``held``, so available funds (balance minus held)
shrink at once. Capturing takes all or part of it with a real transaction and releases the rest;
a hold is captured at most once, so concurrent captures can never take more than was held.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from contracts.base import Party
from contracts.commands import CaptureHoldCommand, PlaceHoldCommand, ReleaseHoldCommand
from contracts.events import HoldChanged
from contracts.ids import derived_id
from contracts.results import Refusal
from ledger_worker.book import Book
from ledger_worker.model import Account, Hold, Refused
from ledger_worker.postings import check_debit, post


def place_hold(book: Book, cmd: PlaceHoldCommand) -> None:
    p = cmd.payload
    party = p.party()
    assert party is not None
    account = book.party(party, p.currency)
    recipient_party = p.party("recipient_")
    recipient = book.party(recipient_party, p.currency, open_if_missing=True) if recipient_party else None
    reserve(
        book,
        account,
        hold_id=p.hold_id or derived_id("hold", cmd.command_id),
        amount=p.amount,
        expires_in=p.expires_in_seconds,
        recipient=recipient,
        description=p.description,
        metadata=dict(p.metadata),
    )


def reserve(
    book: Book,
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
    assert book.cmd is not None
    if hold_id in book.holds:
        raise Refused(Refusal.HOLD_EXISTS, f"hold {hold_id} already exists")
    if account.kind == "system":
        raise Refused(Refusal.SYSTEM_ACCOUNT, "holds are placed on customer accounts")
    if recipient is not None and recipient.id == account.id:
        raise Refused(Refusal.SAME_ACCOUNT, "a hold cannot be captured to the account it holds")
    check_debit(account, amount, -amount)
    book.charge_key(amount, account.currency)
    hold = Hold(
        id=hold_id,
        account_id=account.id,
        currency=account.currency,
        amount=amount,
        command_id=book.cmd.command_id,
        expires_at=book.now + timedelta(seconds=expires_in) if expires_in else None,
        recipient_account_id=recipient.id if recipient else None,
        intent_id=intent_id,
        description=description,
        metadata=metadata or {},
        new=True,
    )
    book.add(hold)
    book.set(account, held=account.held + amount)
    book.touch(account)
    book.ids.update(hold_id=hold_id, account_id=account.id)
    book.emit("hold.placed", hold_changed(hold, account), account=account)
    return hold


def capture_hold(book: Book, cmd: CaptureHoldCommand) -> None:
    hold = _own_hold(book, cmd.payload.hold_id)
    party = cmd.payload.party("recipient_")
    capture(book, hold, cmd.payload.amount, party)


def capture(book: Book, hold: Hold, amount: int | None, recipient_party: Party | None) -> UUID:
    """Post ``amount`` (default: all) of a pending hold to its recipient and release the rest."""
    _check_pending(book, hold)
    amount = hold.amount if amount is None else amount
    if amount > hold.amount:
        raise Refused(Refusal.CAPTURE_EXCEEDS_HOLD, f"hold {hold.id} holds {hold.amount}, not {amount}")
    if recipient_party is not None:
        recipient = book.party(recipient_party, hold.currency, open_if_missing=True)
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
    book.ids["hold_id"] = hold.id
    book.emit("hold.captured", hold_changed(hold, account), account=account)
    return transaction_id


def release_hold(book: Book, cmd: ReleaseHoldCommand) -> None:
    hold = _own_hold(book, cmd.payload.hold_id)
    _check_pending(book, hold)
    finish(book, hold, "released")


def finish(book: Book, hold: Hold, status: str) -> None:
    """End a pending hold without posting: its amount becomes available again."""
    account = book.account(hold.account_id)
    book.set(account, held=account.held - hold.amount)
    book.set(hold, status=status, finished_at=book.now)
    book.touch(account)
    book.ids.update(hold_id=hold.id, account_id=account.id)
    book.emit(f"hold.{status}", hold_changed(hold, account), account=account)


def hold_changed(hold: Hold, account: Account) -> HoldChanged:
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
    )


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
