"""Rules for currencies, wallets and accounts."""

from __future__ import annotations

from contracts.commands import Command
from contracts.events import (
    CurrencyRegistered,
    LimitsChanged,
    WalletCreated,
    WalletMetadataChanged,
    WalletStatusChanged,
)
from contracts.ids import SYSTEM_ROLES, object_id, system_account_id, system_wallet_id, wallet_account_id
from contracts.results import Refusal
from contracts.wallets import (
    CloseWallet,
    CreateWallet,
    FreezeWallet,
    OpenAccount,
    RegisterCurrency,
    SetAccountLimits,
    SetWalletMetadata,
    UnfreezeWallet,
)
from ledger_worker.book import Book
from ledger_worker.model import Account, Currency, Refused, Wallet
from ledger_worker.outcome import Outcome
from ledger_worker.rules.common import customer_wallet, open_account, payer
from ledger_worker.rules.registry import outcome, rule


@rule("currency.register")
def register_currency(book: Book, cmd: Command, p: RegisterCurrency) -> Outcome:
    out = outcome(cmd)
    if p.code in book.currencies:
        raise Refused(Refusal.CURRENCY_EXISTS, f"currency {p.code} is already registered")
    book.add_currency(Currency(p.code, p.name, p.exponent))
    for role in SYSTEM_ROLES:  # a currency's system accounts exist from here on, never made on first use
        account_id = system_account_id(p.code, role)
        if account_id in book.accounts:  # only an account opened before ids were closed to callers
            raise Refused(Refusal.ACCOUNT_EXISTS, f"account {account_id}, the {role} account of {p.code}, exists")
        book.add(Account(account_id, system_wallet_id(role), p.code, "system", min_balance=None, new=True))
    out.emit("currency.registered", CurrencyRegistered(code=p.code, name=p.name, exponent=p.exponent))
    return out


@rule("wallet.create")
def create_wallet(book: Book, cmd: Command, p: CreateWallet) -> Outcome:
    out = outcome(cmd)
    wallet_id = p.wallet_id or object_id("wallet", principal=cmd.principal, command_id=cmd.command_id)
    if wallet_id in book.wallets:
        raise Refused(Refusal.WALLET_EXISTS, f"wallet {wallet_id} already exists")
    if p.handle and book.find_wallet(p.handle):
        raise Refused(Refusal.HANDLE_TAKEN, f"handle {p.handle} is taken")
    if p.external_ref and book.find_wallet(f"ext:{p.external_ref}"):
        raise Refused(Refusal.EXTERNAL_REF_TAKEN, f"external reference {p.external_ref} is taken")
    wallet = Wallet(
        id=wallet_id,
        owner_id=p.owner_id,
        kind=p.kind,
        handle=p.handle[1:] if p.handle else None,
        external_ref=p.external_ref,
        metadata=dict(p.metadata),
        new=True,
    )
    book.add(wallet)
    out.wallet_id = wallet_id
    created = WalletCreated(
        owner_id=p.owner_id, kind=p.kind, handle=p.handle, external_ref=p.external_ref, metadata=dict(p.metadata)
    )
    out.emit("wallet.created", created, wallet=wallet)
    for currency in p.currencies:
        book.currency(currency)
        open_account(book, out, wallet, currency, account_id=wallet_account_id(wallet_id, currency))
    return out


@rule("wallet.freeze")
def freeze_wallet(book: Book, cmd: Command, p: FreezeWallet) -> Outcome:
    wallet = customer_wallet(book, p.wallet)
    if wallet.status == "closed":
        raise Refused(Refusal.ACCOUNT_CLOSED, f"wallet {p.wallet} is closed")
    return _set_status(book, outcome(cmd), wallet, "frozen", p.allow_credits, p.reason, "wallet.frozen")


@rule("wallet.unfreeze")
def unfreeze_wallet(book: Book, cmd: Command, p: UnfreezeWallet) -> Outcome:
    wallet = customer_wallet(book, p.wallet)
    if wallet.status != "frozen":
        raise Refused(Refusal.WALLET_NOT_FROZEN, f"wallet {p.wallet} is {wallet.status}, not frozen")
    return _set_status(book, outcome(cmd), wallet, "active", True, None, "wallet.unfrozen")


@rule("wallet.close")
def close_wallet(book: Book, cmd: Command, p: CloseWallet) -> Outcome:
    wallet = customer_wallet(book, p.wallet)
    if wallet.status == "closed":
        raise Refused(Refusal.ACCOUNT_CLOSED, f"wallet {p.wallet} is already closed")
    for account in book.accounts_of(wallet):
        if account.balance != 0 or account.held != 0:
            raise Refused(
                Refusal.WALLET_NOT_EMPTY,
                f"account {account.id} holds {account.balance} {account.currency} ({account.held} held)",
            )
    return _set_status(book, outcome(cmd), wallet, "closed", False, None, "wallet.closed")


@rule("wallet.set_metadata")
def set_wallet_metadata(book: Book, cmd: Command, p: SetWalletMetadata) -> Outcome:
    out = outcome(cmd)
    wallet = book.wallet(p.wallet)
    metadata = dict(wallet.metadata)
    for key, value in p.metadata.items():
        if value is None:
            metadata.pop(key, None)
        else:
            metadata[key] = value
    if len(metadata) > 32:
        raise Refused(Refusal.METADATA_LIMIT, "a wallet keeps at most 32 metadata keys")
    book.set(wallet, metadata=metadata)
    out.wallet_id = wallet.id
    out.emit("wallet.metadata_changed", WalletMetadataChanged(metadata=metadata), wallet=wallet)
    return out


@rule("account.open")
def open_standalone_or_wallet_account(book: Book, cmd: Command, p: OpenAccount) -> Outcome:
    out = outcome(cmd)
    book.currency(p.currency)
    account_id = p.account_id or object_id("account", principal=cmd.principal, command_id=cmd.command_id)
    if account_id in book.accounts:
        raise Refused(Refusal.ACCOUNT_EXISTS, f"account {account_id} already exists")
    if p.wallet is not None:
        wallet = customer_wallet(book, p.wallet)
        if book.wallet_account(wallet, p.currency) is not None:
            raise Refused(Refusal.ACCOUNT_EXISTS, f"wallet {p.wallet} already has a {p.currency} account")
    else:  # a standalone account lives in a wallet of its own, with the same id
        if account_id in book.wallets:
            raise Refused(Refusal.ACCOUNT_EXISTS, f"wallet {account_id} already exists")
        wallet = Wallet(id=account_id, owner_id=str(account_id), kind="user", new=True)
        book.add(wallet)
    if wallet.status == "closed":
        raise Refused(Refusal.ACCOUNT_CLOSED, f"wallet {wallet.id} is closed")
    open_account(book, out, wallet, p.currency, account_id=account_id, min_balance=p.min_balance)
    out.account_id, out.wallet_id = account_id, wallet.id
    return out


@rule("account.set_limits")
def set_account_limits(book: Book, cmd: Command, p: SetAccountLimits) -> Outcome:
    out = outcome(cmd)
    account = payer(book, p, "account", p.currency)
    if account.kind == "system":
        raise Refused(Refusal.SYSTEM_ACCOUNT, "system accounts have no limits")
    if account.available < p.min_balance:
        raise Refused(
            Refusal.INSUFFICIENT_FUNDS,
            f"account {account.id} has {book.money(account.available, account.currency)} available, below the new"
            f" minimum {book.money(p.min_balance, account.currency)}",
        )
    book.set(
        account,
        min_balance=p.min_balance,
        max_per_transaction=p.max_per_transaction,
        daily_debit_amount=p.daily_debit_amount,
        daily_debit_count=p.daily_debit_count,
    )
    out.touch(account)
    out.account_id = account.id
    limits = LimitsChanged(
        min_balance=p.min_balance,
        max_per_transaction=p.max_per_transaction,
        daily_debit_amount=p.daily_debit_amount,
        daily_debit_count=p.daily_debit_count,
    )
    out.emit("account.limits_changed", limits, account=account)
    return out


def _set_status(
    book: Book, out: Outcome, wallet: Wallet, status: str, allow_credits: bool, reason: str | None, event: str
) -> Outcome:
    book.set(wallet, status=status, allow_credits=allow_credits)
    for account in book.accounts_of(wallet):
        book.set(account, status=status, allow_credits=allow_credits)
        out.touch(account)
    out.wallet_id = wallet.id
    change = WalletStatusChanged(status=status, allow_credits=allow_credits, reason=reason)
    out.emit(event, change, wallet=wallet)
    return out
