"""What one command did, as data: the rule's typed return value, and the rows the store writes for it.

A rule changes objects through the book and records everything else here: the ids its result names,
the accounts whose balances the result reports, the transactions and postings it posted, the key
spend it counted and the events it emits. Events are plain data until the command is accepted: only
then do they get their stream's next ``sequence`` (:func:`settle`), and the store serialises them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from contracts.events import EventPayload
from contracts.ids import principal_key
from contracts.recon import ReconciliationCompleted
from ledger_worker.book import Book
from ledger_worker.model import Account, KeySpendRow, PostingRow, TransactionRow, Wallet
from ledger_worker.recon.data import RunWrite


@dataclass(slots=True)
class Emitted:
    """An event of the command: on an account's stream, a wallet's, or (neither) on none."""

    type: str
    payload: EventPayload
    account_id: UUID | None = None
    wallet_id: UUID | None = None
    sequence: int | None = None


@dataclass(slots=True)
class Outcome:
    """What one command did; ``command`` fields are copied in so helpers need nothing else."""

    command_id: str
    command_type: str
    principal: str | None
    transaction_id: UUID | None = None
    account_id: UUID | None = None
    wallet_id: UUID | None = None
    hold_id: UUID | None = None
    intent_id: UUID | None = None
    break_id: UUID | None = None
    reconciliation: ReconciliationCompleted | None = None
    #: Accounts whose balances the result reports, in the order they were first touched.
    touched: dict[UUID, None] = field(default_factory=dict)
    transactions: list[TransactionRow] = field(default_factory=list)
    postings: list[PostingRow] = field(default_factory=list)
    key_spend: list[KeySpendRow] = field(default_factory=list)
    events: list[Emitted] = field(default_factory=list)
    #: Reconciliation runs to store (``recon.run``).
    runs: list[RunWrite] = field(default_factory=list)

    @property
    def key_id(self) -> UUID | None:
        """The API key whose spending limits this command counts against, if any."""
        return principal_key(self.principal)

    def touch(self, account: Account) -> None:
        self.touched.setdefault(account.id, None)

    def emit(
        self, kind: str, payload: EventPayload, *, account: Account | None = None, wallet: Wallet | None = None
    ) -> None:
        """An event on ``account``'s stream (none for system accounts), or ``wallet``'s, or on no stream."""
        if account is not None:
            if account.kind != "system":  # system accounts have no event stream
                self.events.append(Emitted(kind, payload, account.id, account.wallet_id))
        elif wallet is not None:
            self.events.append(Emitted(kind, payload, None, wallet.id))
        else:
            self.events.append(Emitted(kind, payload))


def settle(book: Book, outcome: Outcome) -> None:
    """Give each event of an accepted command its stream's next sequence (under the stream's row lock)."""
    for event in outcome.events:
        if event.account_id is not None:
            account = book.accounts[event.account_id]
            account.last_sequence += 1
            event.sequence = account.last_sequence
            book.changed.add(account)
        elif event.wallet_id is not None:
            wallet = book.wallets[event.wallet_id]
            wallet.last_sequence += 1
            event.sequence = wallet.last_sequence
            book.changed.add(wallet)
