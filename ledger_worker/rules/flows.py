"""Rules for the money flows, multi-leg transactions and reversals."""

from __future__ import annotations

from contracts.commands import (
    BonusCommand,
    DepositCommand,
    PostTransactionCommand,
    ReverseTransactionCommand,
    SpendCommand,
    TransferCommand,
    WithdrawCommand,
)
from contracts.ids import SystemRole
from contracts.results import Refusal
from ledger_worker.book import Book
from ledger_worker.model import Refused
from ledger_worker.postings import Leg, post

#: (system role, whether the user's account is credited) for each single-party flow.
_FLOWS: dict[str, tuple[SystemRole, bool]] = {
    "deposit": ("treasury", True),
    "bonus": ("promotions", True),
    "spend": ("revenue", False),
    "withdraw": ("treasury", False),
}

SingleParty = DepositCommand | BonusCommand | SpendCommand | WithdrawCommand


def single_party_flow(book: Book, cmd: SingleParty) -> None:
    """Top-up, bonus, spend or withdrawal against the flow's system account."""
    p = cmd.payload
    role, credit_user = _FLOWS[cmd.type]
    party = p.party()
    assert party is not None
    user = book.party(party, p.currency, open_if_missing=credit_user)
    if user.kind == "system":
        raise Refused(Refusal.SYSTEM_ACCOUNT, "flows move money between a system account and a customer account")
    system = book.system(role, p.currency)
    legs: list[Leg] = (
        [(system, -p.amount), (user, p.amount)] if credit_user else [(user, -p.amount), (system, p.amount)]
    )
    post(book, legs, amount=p.amount, description=p.description, metadata=dict(p.metadata))
    book.ids["account_id"] = user.id


def transfer(book: Book, cmd: TransferCommand) -> None:
    p = cmd.payload
    debit_party, credit_party = p.party("debit_"), p.party("credit_")
    assert debit_party is not None and credit_party is not None
    debit = book.party(debit_party, p.currency)
    credit = book.party(credit_party, p.currency, open_if_missing=True)
    if debit.id == credit.id:
        raise Refused(Refusal.SAME_ACCOUNT, "a transfer needs two different accounts")
    post(
        book,
        [(debit, -p.amount), (credit, p.amount)],
        amount=p.amount,
        description=p.description,
        metadata=dict(p.metadata),
    )


def post_transaction(book: Book, cmd: PostTransactionCommand) -> None:
    """N legs in one currency, all or nothing."""
    p = cmd.payload
    legs: list[Leg] = []
    for leg in p.legs:
        party = leg.party()
        assert party is not None
        account = book.party(party, p.currency, open_if_missing=leg.side == "credit")
        legs.append((account, -leg.amount if leg.side == "debit" else leg.amount))
    total = sum(m for _, m in legs if m > 0)
    post(book, legs, amount=total, description=p.description, metadata=dict(p.metadata))


def reverse_transaction(book: Book, cmd: ReverseTransactionCommand) -> None:
    """A new transaction with every posting negated, linked to the original."""
    p = cmd.payload
    original = book.past.get(p.transaction_id)
    if original is None:
        raise Refused(Refusal.TRANSACTION_NOT_FOUND, f"transaction {p.transaction_id} does not exist")
    if original.reversed:
        raise Refused(Refusal.ALREADY_REVERSED, f"transaction {p.transaction_id} was already reversed")
    if original.is_reversal or original.kind in ("hold.capture", "intent.capture", "intent.pay", "refund"):
        # Payments have their own undo (refunds); a reversal of a reversal would be a re-post.
        raise Refused(Refusal.NOT_REVERSIBLE, f"a {original.kind} transaction cannot be reversed; use a refund")
    legs: list[Leg] = [(book.account(account_id), -amount) for account_id, amount in original.postings]
    total = sum(m for _, m in legs if m > 0)
    metadata = {"reason": p.reason} if p.reason else {}
    # Corrections bypass freezes and velocity limits, never the minimum balance.
    post(book, legs, amount=total, metadata=metadata, reverses_id=original.id, enforce_limits=False)
