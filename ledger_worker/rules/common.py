"""Helpers several rules share: resolving parties, opening accounts, system wallets."""

from __future__ import annotations

from uuid import UUID

from contracts.base import Party, WithParties
from contracts.events import AccountOpened
from contracts.ids import wallet_account_id
from contracts.results import Refusal
from ledger_worker.book import Book
from ledger_worker.model import Account, Refused, Wallet
from ledger_worker.outcome import Outcome


def payer(book: Book, payload: WithParties, name: str, currency: str) -> Account:
    """The account party ``name`` of ``payload`` names; refused if it is missing or has none in ``currency``."""
    return paying(book, _given(payload, name), currency)


def payee(book: Book, out: Outcome, payload: WithParties, name: str, currency: str) -> Account:
    """The account party ``name`` names; a customer wallet without one in ``currency`` gets one."""
    return receiving(book, out, _given(payload, name), currency)


def paying(book: Book, party: Party, currency: str) -> Account:
    found = book.party(party, currency)
    if isinstance(found, Wallet):
        raise Refused(Refusal.ACCOUNT_NOT_FOUND, f"wallet {party.wallet} has no {currency} account")
    return found


def receiving(book: Book, out: Outcome, party: Party, currency: str) -> Account:
    found = book.party(party, currency)
    if isinstance(found, Account):
        return found
    if found.kind == "system":
        raise Refused(Refusal.ACCOUNT_NOT_FOUND, f"wallet {party.wallet} has no {currency} account")
    return open_account(book, out, found, currency, account_id=wallet_account_id(found.id, currency))


def open_account(
    book: Book, out: Outcome, wallet: Wallet, currency: str, *, account_id: UUID, min_balance: int = 0
) -> Account:
    if account_id in book.accounts:
        raise Refused(Refusal.ACCOUNT_EXISTS, f"account {account_id} already exists")
    account = Account(
        id=account_id,
        wallet_id=wallet.id,
        currency=currency,
        kind="system" if wallet.kind == "system" else "user",
        min_balance=None if wallet.kind == "system" else min_balance,
        status=wallet.status,
        allow_credits=wallet.allow_credits,
        new=True,
    )
    book.add(account)
    out.touch(account)
    opened = AccountOpened(currency=currency, wallet_id=wallet.id, min_balance=account.min_balance)
    out.emit("account.opened", opened, account=account)
    return account


def customer_wallet(book: Book, ref: str) -> Wallet:
    wallet = book.wallet(ref)
    if wallet.kind == "system":
        raise Refused(Refusal.SYSTEM_ACCOUNT, "system wallets cannot be changed by commands")
    return wallet


def _given(payload: WithParties, name: str) -> Party:
    party = payload.party(name)
    assert party is not None, f"the contract requires party {name}"
    return party
