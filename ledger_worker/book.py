"""The book: a batch's working set of locked objects, and what its commands did to them. No I/O.

Rules read and change objects only through the book. Every change is undo-logged, so a command
that is refused half-way leaves nothing behind; the store writes back what changed once the whole
batch has run.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from contracts.amounts import to_decimal_string
from contracts.base import Party, WalletRefParts
from contracts.commands import Command
from contracts.events import AccountOpened, CommandRefused, EventEnvelope, EventPayload
from contracts.ids import SystemRole, derived_id, principal_key, system_account_id
from contracts.results import AccountBalance, CommandResult, Refusal
from ledger_common.outbox import PARTITIONS, EventRow, partition_of
from ledger_worker.model import (
    Account,
    Currency,
    Hold,
    Intent,
    KeyLimit,
    KeySpendRow,
    PastTransaction,
    PostingRow,
    Refused,
    TransactionRow,
    Wallet,
)


class Book:
    """Objects by id plus the rows and changes the batch's commands produced."""

    def __init__(self, *, now: datetime, currencies: dict[str, Currency]) -> None:
        self.now = now
        self.currencies = currencies
        self.accounts: dict[UUID, Account] = {}
        self.wallets: dict[UUID, Wallet] = {}
        self.holds: dict[UUID, Hold] = {}
        self.intents: dict[UUID, Intent] = {}
        self.past: dict[UUID, PastTransaction] = {}
        self.key_limits: dict[tuple[UUID, str], KeyLimit] = {}
        self._by_handle: dict[str, UUID] = {}
        self._by_ref: dict[str, UUID] = {}
        self._by_wallet: dict[tuple[UUID, str], UUID] = {}
        # what the batch produced
        self.transactions: list[TransactionRow] = []
        self.postings: list[PostingRow] = []
        self.events: list[EventRow] = []
        self.new_currencies: list[Currency] = []
        self.key_spend: list[KeySpendRow] = []
        self.changed: set[object] = set()
        # the command being run
        self.cmd: Command | None = None
        self.key_id: UUID | None = None
        self.ids: dict[str, UUID] = {}
        self.touched: dict[UUID, None] = {}
        self._undo: list[Callable[[], None]] = []

    # ---- loading (used by the loader, not by rules) ----

    def load(self, objects: Iterable[Account | Wallet | Hold | Intent | PastTransaction | KeyLimit]) -> None:
        for obj in objects:
            self._index(obj)

    def _index(self, obj: object) -> None:
        if isinstance(obj, Account):
            self.accounts[obj.id] = obj
            self._by_wallet[(obj.wallet_id, obj.currency)] = obj.id
        elif isinstance(obj, Wallet):
            self.wallets[obj.id] = obj
            if obj.handle:
                self._by_handle[obj.handle] = obj.id
            if obj.external_ref:
                self._by_ref[obj.external_ref] = obj.id
        elif isinstance(obj, Hold):
            self.holds[obj.id] = obj
        elif isinstance(obj, Intent):
            self.intents[obj.id] = obj
        elif isinstance(obj, PastTransaction):
            self.past[obj.id] = obj
        elif isinstance(obj, KeyLimit):
            self.key_limits[(obj.key_id, obj.currency)] = obj

    # ---- lookups: each refuses with the matching code when the object is missing ----

    def currency(self, code: str) -> Currency:
        if code not in self.currencies:
            raise Refused(Refusal.CURRENCY_NOT_FOUND, f"currency {code} is not registered")
        return self.currencies[code]

    def find_wallet(self, ref: str) -> Wallet | None:
        parts = WalletRefParts.parse(ref)
        if parts.handle is not None:
            wallet_id = self._by_handle.get(parts.handle)
        elif parts.external_ref is not None:
            wallet_id = self._by_ref.get(parts.external_ref)
        else:
            wallet_id = parts.wallet_id
        return self.wallets.get(wallet_id) if wallet_id is not None else None

    def wallet(self, ref: str) -> Wallet:
        wallet = self.find_wallet(ref)
        if wallet is None:
            raise Refused(Refusal.WALLET_NOT_FOUND, f"wallet {ref} does not exist")
        return wallet

    def account(self, account_id: UUID, currency: str | None = None) -> Account:
        account = self.accounts.get(account_id)
        if account is None:
            raise Refused(Refusal.ACCOUNT_NOT_FOUND, f"account {account_id} does not exist")
        if currency is not None and account.currency != currency:
            raise Refused(Refusal.CURRENCY_MISMATCH, f"account {account_id} holds {account.currency}, not {currency}")
        return account

    def wallet_account(self, wallet: Wallet, currency: str) -> Account | None:
        account_id = self._by_wallet.get((wallet.id, currency))
        return self.accounts.get(account_id) if account_id is not None else None

    def party(self, party: Party, currency: str, *, open_if_missing: bool = False) -> Account:
        """The account a party names; a wallet without an account in ``currency`` gets one if asked."""
        self.currency(currency)
        if party.account_id is not None:
            return self.account(party.account_id, currency)
        assert party.wallet is not None
        wallet = self.wallet(party.wallet)
        account = self.wallet_account(wallet, currency)
        if account is not None:
            return account
        if not open_if_missing or wallet.kind == "system":
            raise Refused(Refusal.ACCOUNT_NOT_FOUND, f"wallet {party.wallet} has no {currency} account")
        return self.open_account(wallet, currency, account_id=derived_id("account", f"{wallet.id}:{currency}"))

    def system(self, role: SystemRole, currency: str) -> Account:
        self.currency(currency)
        return self.account(system_account_id(currency, role), currency)

    def hold(self, hold_id: UUID) -> Hold:
        if hold_id not in self.holds:
            raise Refused(Refusal.HOLD_NOT_FOUND, f"hold {hold_id} does not exist")
        return self.holds[hold_id]

    def intent(self, intent_id: UUID) -> Intent:
        if intent_id not in self.intents:
            raise Refused(Refusal.INTENT_NOT_FOUND, f"payment intent {intent_id} does not exist")
        return self.intents[intent_id]

    # ---- changes (undo-logged) ----

    def set(self, obj: object, **changes: Any) -> None:
        for name, value in changes.items():
            old = getattr(obj, name)
            self._undo.append(_restore(obj, name, old))
            setattr(obj, name, value)
        self._mark(obj)

    def add(self, obj: Account | Wallet | Hold | Intent) -> None:
        """Register a new object; it is inserted when the batch is stored."""
        self._undo.append(lambda: self._forget(obj))
        self._index(obj)
        self._mark(obj)

    def add_currency(self, currency: Currency) -> None:
        self._undo.append(lambda: self._forget_currency(currency.code))
        self.currencies[currency.code] = currency
        self.append(self.new_currencies, currency)

    def open_account(self, wallet: Wallet, currency: str, *, account_id: UUID, min_balance: int = 0) -> Account:
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
        self.add(account)
        self.touch(account)
        opened = AccountOpened(currency=currency, wallet_id=wallet.id, min_balance=account.min_balance)
        self.emit("account.opened", opened, account=account)
        return account

    def append(self, rows: list[Any], row: object) -> None:
        self._undo.append(rows.pop)
        rows.append(row)

    def touch(self, account: Account) -> None:
        if account.id not in self.touched:
            self._undo.append(lambda: self.touched.pop(account.id))
            self.touched[account.id] = None

    def _mark(self, obj: object) -> None:
        if obj not in self.changed:
            self._undo.append(lambda: self.changed.discard(obj))
            self.changed.add(obj)

    def _forget_currency(self, code: str) -> None:
        del self.currencies[code]

    def _forget(self, obj: Account | Wallet | Hold | Intent) -> None:
        if isinstance(obj, Account):
            del self.accounts[obj.id], self._by_wallet[(obj.wallet_id, obj.currency)]
        elif isinstance(obj, Wallet):
            del self.wallets[obj.id]
            self._by_handle.pop(obj.handle or "", None)
            self._by_ref.pop(obj.external_ref or "", None)
        elif isinstance(obj, Hold):
            del self.holds[obj.id]
        else:
            del self.intents[obj.id]

    def charge_key(self, amount: int, currency: str) -> None:
        """Count funds the current command commits against its API key's spending limits, if any."""
        assert self.cmd is not None
        limit = self.key_limits.get((self.key_id, currency)) if self.key_id and amount > 0 else None
        if limit is None:
            return
        if limit.per_transaction_max is not None and amount > limit.per_transaction_max:
            raise Refused(
                Refusal.EXCEEDS_KEY_LIMIT,
                f"this API key may commit at most {limit.per_transaction_max} {currency} per transaction",
            )
        if limit.per_day_max is not None and limit.spent_24h + amount > limit.per_day_max:
            raise Refused(
                Refusal.EXCEEDS_KEY_LIMIT,
                f"this API key may commit {limit.per_day_max} {currency} per 24 h; {limit.spent_24h} already",
            )
        self.set(limit, spent_24h=limit.spent_24h + amount)
        self.append(self.key_spend, KeySpendRow(limit.key_id, currency, amount, self.cmd.command_id))

    # ---- events ----

    def emit(
        self, kind: str, payload: EventPayload, *, account: Account | None = None, wallet: Wallet | None = None
    ) -> None:
        """Record an event on the account's stream, or the wallet's, or (neither) on no stream."""
        assert self.cmd is not None
        if account is not None and account.kind == "system":
            return  # system accounts have no event stream
        sequence = None
        if account is not None:
            sequence = account.last_sequence + 1
            self.set(account, last_sequence=sequence)
        elif wallet is not None:
            sequence = wallet.last_sequence + 1
            self.set(wallet, last_sequence=sequence)
        wallet_id = account.wallet_id if account is not None else wallet.id if wallet is not None else None
        # model_construct: the fields come from this code, already typed; validating them again per
        # event was a tenth of the worker's CPU. Every e2e test parses what subscribers receive.
        envelope = EventEnvelope.model_construct(
            event_id=uuid4(),
            schema_version=1,
            type=kind,  # type: ignore[arg-type]
            occurred_at=self.now,
            command_id=self.cmd.command_id,
            principal=self.cmd.principal,
            account_id=account.id if account is not None else None,
            wallet_id=wallet_id,
            sequence=sequence,
            payload=payload,
        )
        stream = account.id if account is not None else wallet_id
        partition = partition_of(stream) if stream else zlib.crc32(self.cmd.command_id.encode()) % PARTITIONS
        row = EventRow(
            envelope.event_id,
            kind,
            self.cmd.command_id,
            envelope.account_id,
            wallet_id,
            sequence,
            partition,
            envelope.model_dump_json().encode(),
        )
        self.append(self.events, row)

    # ---- running one command ----

    def run(self, cmd: Command, rule: Callable[[Book, Any], None]) -> CommandResult:
        """Apply ``rule`` to ``cmd``; a refusal undoes its changes and is recorded as an outcome."""
        self.cmd, self.ids, self.touched, self._undo = cmd, {}, {}, []
        self.key_id = principal_key(cmd.principal)
        try:
            rule(self, cmd)
        except Refused as refused:
            for undo in reversed(self._undo):
                undo()
            self.ids, self.touched, self._undo = {}, {}, []
            why = CommandRefused(command_type=cmd.type, refusal=refused.refusal, detail=refused.detail)
            self.emit("command.refused", why)
            return CommandResult(
                command_id=cmd.command_id,
                command_type=cmd.type,
                status="refused",
                refusal=refused.refusal,
                detail=refused.detail,
            )
        finally:
            self._undo = []
        return CommandResult.model_construct(
            command_id=cmd.command_id,
            command_type=cmd.type,
            status="applied",
            refusal=None,
            detail=None,
            transaction_id=self.ids.get("transaction_id"),
            account_id=self.ids.get("account_id"),
            wallet_id=self.ids.get("wallet_id"),
            hold_id=self.ids.get("hold_id"),
            intent_id=self.ids.get("intent_id"),
            balances=tuple(self.balance(self.accounts[a]) for a in self.touched if self.accounts[a].kind == "user"),
            replayed=False,
        )

    def balance(self, account: Account) -> AccountBalance:
        exponent = self.currencies[account.currency].exponent
        return AccountBalance.model_construct(
            account_id=account.id,
            wallet_id=account.wallet_id,
            currency=account.currency,
            balance=account.balance,
            held=account.held,
            available=account.available,
            balance_decimal=to_decimal_string(account.balance, exponent),
            held_decimal=to_decimal_string(account.held, exponent),
            available_decimal=to_decimal_string(account.available, exponent),
        )


def _restore(obj: object, name: str, value: Any) -> Callable[[], None]:
    return lambda: setattr(obj, name, value)
