"""The book: a batch's working set of locked objects, indexed, with an undo log. No I/O.

Rules read and change objects only through the book. Every change is undo-logged, so a command
that is refused half-way leaves nothing behind (:meth:`Book.attempt`); the store writes back the
objects in :attr:`Book.changed` once the whole batch has run. What a command *produced* (postings,
events, result ids) is not kept here: each rule returns it as an ``Outcome``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

from contracts.amounts import both_forms, to_decimal_string
from contracts.base import MAX_AMOUNT, Party, WalletRefParts
from contracts.errors import Bug
from contracts.ids import SystemRole, system_account_id, system_wallet_id
from contracts.results import Refusal
from ledger_worker.model import Account, Currency, Hold, Intent, KeyLimit, PastTransaction, Refused, Wallet
from ledger_worker.recon.data import ReconBook

Loaded = Account | Wallet | Hold | Intent | PastTransaction | KeyLimit

#: Fields stored as ``numeric(38, 0)``: a change leaving ±MAX_AMOUNT is refused here, whichever rule makes
#: it, and never reaches the database as an error that would sink the batch.
_STORED_AMOUNTS = {
    "balance": Refusal.BALANCE_OVERFLOW,
    "held": Refusal.BALANCE_OVERFLOW,
    "amount": Refusal.AMOUNT_OUT_OF_RANGE,
    "captured_amount": Refusal.AMOUNT_OUT_OF_RANGE,
    "paid_amount": Refusal.AMOUNT_OUT_OF_RANGE,
    "refunded_amount": Refusal.AMOUNT_OUT_OF_RANGE,
}


class Book:
    """Objects by id, and which of them the batch changed or created."""

    def __init__(self, *, now: datetime, currencies: dict[str, Currency]) -> None:
        self.now = now
        self.currencies = currencies
        self.accounts: dict[UUID, Account] = {}
        self.wallets: dict[UUID, Wallet] = {}
        self.holds: dict[UUID, Hold] = {}
        self.intents: dict[UUID, Intent] = {}
        self.past: dict[UUID, PastTransaction] = {}
        self.key_limits: dict[tuple[UUID, str], KeyLimit] = {}
        #: Statement sources and breaks, loaded only for reconciliation commands (ledger_worker.recon.load).
        self.recon = ReconBook()
        self._by_handle: dict[str, UUID] = {}
        self._by_ref: dict[str, UUID] = {}
        self._by_wallet: dict[tuple[UUID, str], UUID] = {}
        #: Objects to write back (new ones are inserted), in no particular order.
        self.changed: set[object] = set()
        self.new_currencies: list[Currency] = []
        self._undo: list[Callable[[], None]] = []

    # ---- loading (used by the loader) ----

    def load(self, objects: Iterable[Loaded]) -> None:
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

    def money(self, amount: int, code: str) -> str:
        """``amount`` of ``code`` in both forms for a refusal's detail: ``12500 (125.00 USD)``."""
        known = self.currencies.get(code)
        return both_forms(amount, code, known.exponent if known else None)

    def decimal(self, amount: int, code: str) -> str | None:
        """``amount`` of ``code`` as a decimal string in the currency's unit (events' ``amount_decimal``)."""
        known = self.currencies.get(code)
        return to_decimal_string(amount, known.exponent) if known else None

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

    def accounts_of(self, wallet: Wallet) -> list[Account]:
        return [a for a in self.accounts.values() if a.wallet_id == wallet.id]

    def party(self, party: Party, currency: str) -> Account | Wallet:
        """The account a party names, or (a wallet without an account in ``currency``) its wallet."""
        self.currency(currency)
        if party.account_id is not None:
            return self.account(party.account_id, currency)
        assert party.wallet is not None
        wallet = self.wallet(party.wallet)
        return self.wallet_account(wallet, currency) or wallet

    def system(self, role: SystemRole, currency: str) -> Account:
        """The ``role`` system account in ``currency``: found by its well-known id, trusted by its row.

        Being a system account is a property of the row (its kind, its wallet), never of the id; the ids
        are closed to callers (``contracts.ids.is_ledger_id``), so a row at this id that is not the system
        account is damage from before that rule: no flow pays into it (``ledger audit`` names it)."""
        self.currency(currency)
        account = self.account(system_account_id(currency, role), currency)
        if account.kind != "system" or account.wallet_id != system_wallet_id(role):
            raise Bug(f"account {account.id}, the {role} account of {currency}, is not a system account")
        return account

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
            if name in _STORED_AMOUNTS and not -MAX_AMOUNT <= value <= MAX_AMOUNT:
                raise Refused(_STORED_AMOUNTS[name], f"the {name} would be {value}, beyond what the ledger stores")
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
        self._undo.append(lambda: self._forget_currency(currency))
        self.currencies[currency.code] = currency
        self.new_currencies.append(currency)

    @contextmanager
    def attempt(self) -> Iterator[None]:
        """Run one command's changes: a :class:`Refused` (or any error) raised inside undoes them all."""
        self._undo = []
        try:
            yield
        except BaseException:
            for undo in reversed(self._undo):
                undo()
            raise
        finally:
            self._undo = []

    def _mark(self, obj: object) -> None:
        if obj not in self.changed:
            self._undo.append(lambda: self.changed.discard(obj))
            self.changed.add(obj)

    def _forget_currency(self, currency: Currency) -> None:
        del self.currencies[currency.code]
        self.new_currencies.remove(currency)

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


def _restore(obj: object, name: str, value: Any) -> Callable[[], None]:
    return lambda: setattr(obj, name, value)
