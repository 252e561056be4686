"""Posting a balanced transaction against the book: every check a debit or credit must pass.

Debits respect the account's status, its minimum balance (against available funds), its
per-transaction maximum and its rolling 24 h amount and count; credits respect status and overflow.
Checks use the net effect per account, limits the gross debit. Each posting extends the account's
hash chain and, for user accounts, emits ``account.debited`` / ``account.credited``.

A :data:`Posting` is what a rule asks for: an account and a signed amount (credits positive); a
request's ``Leg`` (``contracts.money``) becomes one once its party is resolved.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from uuid import UUID, uuid4

from contracts.base import MAX_AMOUNT
from contracts.chain import entry_hash
from contracts.errors import Bug
from contracts.events import BalanceChanged
from contracts.results import Refusal
from ledger_worker.book import Book
from ledger_worker.limits import charge_key as charge
from ledger_worker.model import Account, PostingRow, Refused, TransactionRow
from ledger_worker.outcome import Outcome

Posting = tuple[Account, int]  # (account, signed amount: credits positive)


def post(
    book: Book,
    out: Outcome,
    legs: Sequence[Posting],
    *,
    amount: int,
    description: str | None = None,
    metadata: dict[str, str] | None = None,
    reverses_id: UUID | None = None,
    hold_id: UUID | None = None,
    intent_id: UUID | None = None,
    enforce_limits: bool = True,
    charge_key: bool = True,
) -> UUID:
    """Check and post ``legs`` as one transaction of the current command; returns its id.

    Debits of customer accounts count against the API key's spending limits, unless ``charge_key``
    is false (a capture: its hold was counted when it was placed).
    """
    currency = legs[0][0].currency
    if sum(m for _, m in legs) != 0 or any(a.currency != currency for a, _ in legs):
        raise Bug("a rule built an unbalanced transaction")  # never a refusal
    if amount > MAX_AMOUNT:  # legs are each in range; their sum (64 of them) need not be
        raise Refused(Refusal.AMOUNT_OUT_OF_RANGE, f"the transaction's total {amount} is over {MAX_AMOUNT}")
    if len({a.id for a, _ in legs}) < len(legs):
        # An account named twice gets its credits first, so no balance recorded on the way to its final
        # one is below its minimum (the minimum is checked on the net; a debit first would record less).
        legs = sorted(legs, key=lambda leg: leg[1] < 0)
    net: dict[UUID, int] = defaultdict(int)
    debited: dict[UUID, int] = defaultdict(int)
    for account, signed in legs:
        net[account.id] += signed
        if signed < 0:
            debited[account.id] -= signed
    for account_id, change in net.items():
        account = book.accounts[account_id]
        if change < 0 or debited[account_id]:
            check_debit(book, account, debited[account_id], change, enforce_limits=enforce_limits)
        if change > 0:
            check_credit(account, change, enforce_limits=enforce_limits)
    if enforce_limits and charge_key:
        charge(book, out, sum(g for a, g in debited.items() if book.accounts[a].kind == "user"), currency)
    transaction_id = uuid4()
    out.transactions.append(
        TransactionRow(
            transaction_id,
            out.command_id,
            out.command_type,
            out.principal or "",
            currency,
            amount,
            description,
            metadata or {},
            reverses_id,
            hold_id,
            intent_id,
        )
    )
    two_legged = len(legs) == 2
    for i, (account, signed) in enumerate(legs):
        counterparty = legs[1 - i][0].id if two_legged else None
        _post_one(book, out, account, signed, transaction_id, counterparty)
    for account_id, gross in debited.items():
        account = book.accounts[account_id]
        book.set(account, debited_24h=account.debited_24h + gross, debits_24h=account.debits_24h + 1)
    out.transaction_id = transaction_id
    return transaction_id


def check_debit(book: Book, account: Account, gross: int, change: int, *, enforce_limits: bool = True) -> None:
    """Refuse a debit of ``gross`` (net ``change``) the account may not take."""
    if account.kind == "system":
        if account.balance + change < -MAX_AMOUNT:
            raise Refused(Refusal.BALANCE_OVERFLOW, "the resulting balance would not fit")
        return
    if account.status == "closed":
        raise Refused(Refusal.ACCOUNT_CLOSED, f"account {account.id} is closed")
    if account.status == "frozen" and enforce_limits:
        raise Refused(Refusal.ACCOUNT_FROZEN, f"account {account.id} is frozen")
    if account.min_balance is not None and account.available + change < account.min_balance:
        raise Refused(
            Refusal.INSUFFICIENT_FUNDS,
            f"account {account.id} has {book.money(account.available - account.min_balance, account.currency)}"
            f" available, needs {book.money(-change, account.currency)}",
        )
    if account.balance + change < -MAX_AMOUNT:
        raise Refused(Refusal.BALANCE_OVERFLOW, "the resulting balance would not fit")
    if enforce_limits:
        check_limits(book, account, gross)


def check_limits(book: Book, account: Account, gross: int) -> None:
    """Per-transaction maximum and rolling 24 h debit limits."""
    if account.max_per_transaction is not None and gross > account.max_per_transaction:
        raise Refused(
            Refusal.EXCEEDS_TRANSACTION_LIMIT,
            f"account {account.id} allows at most {book.money(account.max_per_transaction, account.currency)}"
            " per transaction",
        )
    if account.daily_debit_amount is not None and account.debited_24h + gross > account.daily_debit_amount:
        raise Refused(
            Refusal.EXCEEDS_DAILY_AMOUNT,
            f"account {account.id} may debit {book.money(account.daily_debit_amount, account.currency)} per 24 h;"
            f" {book.money(account.debited_24h, account.currency)} already debited",
        )
    if account.daily_debit_count is not None and account.debits_24h + 1 > account.daily_debit_count:
        raise Refused(
            Refusal.EXCEEDS_DAILY_COUNT,
            f"account {account.id} may make {account.daily_debit_count} debits per 24 h",
        )


def check_credit(account: Account, change: int, *, enforce_limits: bool = True) -> None:
    """Refuse a credit a closed (or frozen, credits included) account may not take; corrections
    (``enforce_limits=False``) still reach a frozen account."""
    if account.kind != "system":
        if account.status == "closed":
            raise Refused(Refusal.ACCOUNT_CLOSED, f"account {account.id} is closed")
        if account.status == "frozen" and not account.allow_credits and enforce_limits:
            raise Refused(Refusal.ACCOUNT_FROZEN, f"account {account.id} is frozen, credits included")
    if account.balance + change > MAX_AMOUNT:
        raise Refused(Refusal.BALANCE_OVERFLOW, "the resulting balance would not fit")


def _post_one(
    book: Book, out: Outcome, account: Account, signed: int, transaction_id: UUID, counterparty: UUID | None
) -> None:
    balance_after = account.balance + signed
    previous = account.last_hash
    digest = entry_hash(
        previous,
        account_id=account.id,
        transaction_id=transaction_id,
        kind=out.command_type,
        currency=account.currency,
        amount=signed,
        balance_after=balance_after,
        created_at=book.now,
    )
    book.set(account, balance=balance_after, last_hash=digest)
    out.postings.append(PostingRow(transaction_id, account.id, account.currency, signed, balance_after, digest))
    out.touch(account)
    change = BalanceChanged(
        command_type=out.command_type,
        transaction_id=transaction_id,
        amount=abs(signed),
        currency=account.currency,
        balance_after=balance_after,
        held_after=account.held,
        available_after=account.available,
        counterparty_account_id=counterparty,
        entry_hash=digest.hex(),
        previous_hash=previous.hex(),
        amount_decimal=book.decimal(abs(signed), account.currency),
    )
    out.emit("account.credited" if signed > 0 else "account.debited", change, account=account)
