"""Rules for the money flows, multi-leg transactions and reversals."""

from __future__ import annotations

from contracts.catalogue import SPECS
from contracts.commands import Command
from contracts.money import Bonus, Deposit, PostTransaction, ReverseTransaction, Spend, Transfer, Withdraw
from contracts.results import Refusal
from ledger_worker.book import Book
from ledger_worker.model import Account, Refused
from ledger_worker.outcome import Outcome
from ledger_worker.postings import Posting, post
from ledger_worker.rules.common import payee, payer, paying, receiving
from ledger_worker.rules.registry import outcome, rule


@rule("deposit", "bonus")
def credit_from_system(book: Book, cmd: Command, p: Deposit | Bonus) -> Outcome:
    """Top-up or bonus: the flow's system account (``CommandSpec.system``) pays the customer."""
    return _flow(book, cmd, p, customer_credited=True)


@rule("spend", "withdraw")
def debit_to_system(book: Book, cmd: Command, p: Spend | Withdraw) -> Outcome:
    """Spend or withdrawal: the customer pays the flow's system account."""
    return _flow(book, cmd, p, customer_credited=False)


def _flow(book: Book, cmd: Command, p: Deposit | Bonus | Spend | Withdraw, *, customer_credited: bool) -> Outcome:
    out = outcome(cmd)
    if customer_credited:  # a wallet credited in a new currency gets an account; a debited one must have it
        user = _customer(payee(book, out, p, "customer", p.currency))
    else:
        user = _customer(payer(book, p, "customer", p.currency))
    system = _system(book, cmd, p.currency)
    legs: list[Posting] = [(system, -p.amount), (user, p.amount)]
    if not customer_credited:
        legs = [(user, -p.amount), (system, p.amount)]
    post(book, out, legs, amount=p.amount, description=p.description, metadata=dict(p.metadata))
    out.account_id = user.id
    return out


@rule("transfer")
def transfer(book: Book, cmd: Command, p: Transfer) -> Outcome:
    out = outcome(cmd)
    debit = payer(book, p, "debit", p.currency)
    credit = payee(book, out, p, "credit", p.currency)
    if debit.id == credit.id:
        raise Refused(Refusal.SAME_ACCOUNT, "a transfer needs two different accounts")
    post(
        book,
        out,
        [(debit, -p.amount), (credit, p.amount)],
        amount=p.amount,
        description=p.description,
        metadata=dict(p.metadata),
    )
    return out


@rule("transaction.post")
def post_transaction(book: Book, cmd: Command, p: PostTransaction) -> Outcome:
    """N legs in one currency, all or nothing."""
    out = outcome(cmd)
    postings: list[Posting] = []
    for leg in p.legs:
        party = leg.party("leg")
        assert party is not None
        if leg.side == "debit":
            postings.append((paying(book, party, p.currency), -leg.amount))
        else:
            postings.append((receiving(book, out, party, p.currency), leg.amount))
    total = sum(m for _, m in postings if m > 0)
    post(book, out, postings, amount=total, description=p.description, metadata=dict(p.metadata))
    return out


@rule("transaction.reverse")
def reverse_transaction(book: Book, cmd: Command, p: ReverseTransaction) -> Outcome:
    """A new transaction with every posting negated, linked to the original."""
    out = outcome(cmd)
    original = book.past.get(p.transaction_id)
    if original is None:
        raise Refused(Refusal.TRANSACTION_NOT_FOUND, f"transaction {p.transaction_id} does not exist")
    if original.reversed:
        raise Refused(Refusal.ALREADY_REVERSED, f"transaction {p.transaction_id} was already reversed")
    if original.is_reversal or original.kind in ("hold.capture", "intent.capture", "intent.pay", "refund"):
        # Payments have their own undo (refunds); a reversal of a reversal would be a re-post.
        raise Refused(Refusal.NOT_REVERSIBLE, f"a {original.kind} transaction cannot be reversed; use a refund")
    postings: list[Posting] = [(book.account(account_id), -amount) for account_id, amount in original.postings]
    total = sum(m for _, m in postings if m > 0)
    metadata = {"reason": p.reason} if p.reason else {}
    # Corrections bypass freezes and velocity limits, never the minimum balance.
    post(book, out, postings, amount=total, metadata=metadata, reverses_id=original.id, enforce_limits=False)
    return out


def _customer(account: Account) -> Account:
    if account.kind == "system":
        raise Refused(Refusal.SYSTEM_ACCOUNT, "flows move money between a system account and a customer account")
    return account


def _system(book: Book, cmd: Command, currency: str) -> Account:
    role = SPECS[cmd.type].system
    assert role is not None, f"{cmd.type} declares no system account"
    return book.system(role, currency)
