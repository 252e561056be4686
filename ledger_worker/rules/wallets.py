"""Rules for currencies, wallets and accounts."""

from __future__ import annotations

from contracts.commands import (
    CloseWalletCommand,
    CreateWalletCommand,
    FreezeWalletCommand,
    OpenAccountCommand,
    RegisterCurrencyCommand,
    SetAccountLimitsCommand,
    SetWalletMetadataCommand,
    UnfreezeWalletCommand,
)
from contracts.events import (
    CurrencyRegistered,
    LimitsChanged,
    WalletCreated,
    WalletMetadataChanged,
    WalletStatusChanged,
)
from contracts.ids import derived_id
from contracts.results import Refusal
from ledger_worker.book import Book
from ledger_worker.model import Account, Currency, Refused, Wallet


def register_currency(book: Book, cmd: RegisterCurrencyCommand) -> None:
    p = cmd.payload
    if p.code in book.currencies:
        raise Refused(Refusal.CURRENCY_EXISTS, f"currency {p.code} is already registered")
    book.add_currency(Currency(p.code, p.name, p.exponent))
    book.emit("currency.registered", CurrencyRegistered(code=p.code, name=p.name, exponent=p.exponent))


def create_wallet(book: Book, cmd: CreateWalletCommand) -> None:
    p = cmd.payload
    wallet_id = p.wallet_id or derived_id("wallet", cmd.command_id)
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
    book.ids["wallet_id"] = wallet_id
    created = WalletCreated(
        owner_id=p.owner_id, kind=p.kind, handle=p.handle, external_ref=p.external_ref, metadata=dict(p.metadata)
    )
    book.emit("wallet.created", created, wallet=wallet)
    for currency in p.currencies:
        book.currency(currency)
        book.open_account(wallet, currency, account_id=derived_id("account", f"{wallet_id}:{currency}"))


def freeze_wallet(book: Book, cmd: FreezeWalletCommand) -> None:
    wallet = _customer_wallet(book, cmd.payload.wallet)
    if wallet.status == "closed":
        raise Refused(Refusal.ACCOUNT_CLOSED, f"wallet {cmd.payload.wallet} is closed")
    _set_status(book, wallet, "frozen", cmd.payload.allow_credits, cmd.payload.reason, "wallet.frozen")


def unfreeze_wallet(book: Book, cmd: UnfreezeWalletCommand) -> None:
    wallet = _customer_wallet(book, cmd.payload.wallet)
    if wallet.status != "frozen":
        raise Refused(Refusal.WALLET_NOT_FROZEN, f"wallet {cmd.payload.wallet} is {wallet.status}, not frozen")
    _set_status(book, wallet, "active", True, None, "wallet.unfrozen")


def close_wallet(book: Book, cmd: CloseWalletCommand) -> None:
    wallet = _customer_wallet(book, cmd.payload.wallet)
    if wallet.status == "closed":
        raise Refused(Refusal.ACCOUNT_CLOSED, f"wallet {cmd.payload.wallet} is already closed")
    for account in _accounts_of(book, wallet):
        if account.balance != 0 or account.held != 0:
            raise Refused(
                Refusal.WALLET_NOT_EMPTY,
                f"account {account.id} holds {account.balance} {account.currency} ({account.held} held)",
            )
    _set_status(book, wallet, "closed", False, None, "wallet.closed")


def set_wallet_metadata(book: Book, cmd: SetWalletMetadataCommand) -> None:
    wallet = book.wallet(cmd.payload.wallet)
    metadata = dict(wallet.metadata)
    for key, value in cmd.payload.metadata.items():
        if value is None:
            metadata.pop(key, None)
        else:
            metadata[key] = value
    if len(metadata) > 32:
        raise Refused(Refusal.METADATA_LIMIT, "a wallet keeps at most 32 metadata keys")
    book.set(wallet, metadata=metadata)
    book.ids["wallet_id"] = wallet.id
    book.emit("wallet.metadata_changed", WalletMetadataChanged(metadata=metadata), wallet=wallet)


def open_account(book: Book, cmd: OpenAccountCommand) -> None:
    p = cmd.payload
    book.currency(p.currency)
    account_id = p.account_id or derived_id("account", cmd.command_id)
    if account_id in book.accounts:
        raise Refused(Refusal.ACCOUNT_EXISTS, f"account {account_id} already exists")
    if p.wallet is not None:
        wallet = _customer_wallet(book, p.wallet)
        if book.wallet_account(wallet, p.currency) is not None:
            raise Refused(Refusal.ACCOUNT_EXISTS, f"wallet {p.wallet} already has a {p.currency} account")
    else:  # a standalone account lives in a wallet of its own, with the same id
        if account_id in book.wallets:
            raise Refused(Refusal.ACCOUNT_EXISTS, f"wallet {account_id} already exists")
        wallet = Wallet(id=account_id, owner_id=str(account_id), kind="user", new=True)
        book.add(wallet)
    if wallet.status == "closed":
        raise Refused(Refusal.ACCOUNT_CLOSED, f"wallet {wallet.id} is closed")
    book.open_account(wallet, p.currency, account_id=account_id, min_balance=p.min_balance)
    book.ids.update(account_id=account_id, wallet_id=wallet.id)


def set_account_limits(book: Book, cmd: SetAccountLimitsCommand) -> None:
    p = cmd.payload
    party = p.party()
    assert party is not None
    account = book.party(party, p.currency)
    if account.kind == "system":
        raise Refused(Refusal.SYSTEM_ACCOUNT, "system accounts have no limits")
    if account.available < p.min_balance:
        raise Refused(
            Refusal.INSUFFICIENT_FUNDS,
            f"account {account.id} has {account.available} available, below the new minimum {p.min_balance}",
        )
    book.set(
        account,
        min_balance=p.min_balance,
        max_per_transaction=p.max_per_transaction,
        daily_debit_amount=p.daily_debit_amount,
        daily_debit_count=p.daily_debit_count,
    )
    book.touch(account)
    book.ids["account_id"] = account.id
    limits = LimitsChanged(
        min_balance=p.min_balance,
        max_per_transaction=p.max_per_transaction,
        daily_debit_amount=p.daily_debit_amount,
        daily_debit_count=p.daily_debit_count,
    )
    book.emit("account.limits_changed", limits, account=account)


def _customer_wallet(book: Book, ref: str) -> Wallet:
    wallet = book.wallet(ref)
    if wallet.kind == "system":
        raise Refused(Refusal.SYSTEM_ACCOUNT, "system wallets cannot be changed by commands")
    return wallet


def _accounts_of(book: Book, wallet: Wallet) -> list[Account]:
    return [a for a in book.accounts.values() if a.wallet_id == wallet.id]


def _set_status(book: Book, wallet: Wallet, status: str, allow_credits: bool, reason: str | None, event: str) -> None:
    book.set(wallet, status=status, allow_credits=allow_credits)
    for account in _accounts_of(book, wallet):
        book.set(account, status=status, allow_credits=allow_credits)
        book.touch(account)
    book.ids["wallet_id"] = wallet.id
    change = WalletStatusChanged(status=status, allow_credits=allow_credits, reason=reason)
    book.emit(event, change, wallet=wallet)
