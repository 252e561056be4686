# Generated from ledger_sdk/_async/money.py by tools/sdk_generate.py; edit that file, not this one.
"""Money movement (top-ups, bonuses, spends, withdrawals, transfers, multi-leg transactions, reversals)
and command outcomes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Unpack
from uuid import UUID

from contracts import http as docs
from contracts.results import CommandResult
from ledger_sdk._sync._commands import (
    BonusesCommands,
    DepositsCommands,
    SpendsCommands,
    TransactionsCommands,
    TransfersCommands,
    WithdrawalsCommands,
)
from ledger_sdk._sync.client import CallOptions, Pager, Resource, route
from ledger_sdk._values import Leg, given

__all__ = ["Leg"]  # where it was always imported from


class Deposits(DepositsCommands):
    """Top-ups: money in from the currency's treasury account."""


class Bonuses(BonusesCommands):
    """Bonuses: money in from the currency's promotions account."""


class Spends(SpendsCommands):
    """Spends: money out to the currency's revenue account."""


class Withdrawals(WithdrawalsCommands):
    """Withdrawals: money out to the currency's treasury account (it leaves the ledger)."""


class Transfers(TransfersCommands):
    """Transfers between two parties in one currency."""


class Transactions(TransactionsCommands):
    """Transactions: balanced sets of postings, never edited (a reversal is a new transaction)."""

    @route("GET", "/v1/transactions/{transaction_id}")
    def get(self, transaction_id: UUID | str, **options: Unpack[CallOptions]) -> docs.Transaction:
        """A transaction with its postings, metadata and links (reverses / reversed by, hold, intent)."""
        path = f"/v1/transactions/{UUID(str(transaction_id))}"
        return self._client.get(path, docs.Transaction, None, options)

    @route("GET", "/v1/transactions")
    def list(
        self,
        *,
        types: Sequence[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        metadata: Mapping[str, str] | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        **options: Unpack[CallOptions],
    ) -> Pager[docs.Transaction]:
        """Transactions by command type, time and metadata, newest first."""
        query = given(type=list(types) if types else None, metadata=metadata, limit=limit)
        query |= given(**{"from": since, "to": until})

        def fetch(at: str | None) -> tuple[list[docs.Transaction], str | None, bool]:
            page = self._client.get("/v1/transactions", docs.TransactionPage, {**query, "cursor": at}, options)
            return page.transactions, page.next_cursor, page.next_cursor is not None

        return Pager(fetch, cursor)


class Commands(Resource):
    """The recorded outcomes of commands, by command id (the write's idempotency key)."""

    @route("GET", "/v1/commands/{command_id}")
    def get(self, command_id: str, **options: Unpack[CallOptions]) -> CommandResult:
        """The recorded outcome of one of your commands (applied or refused; not raised)."""
        return self._client.get(f"/v1/commands/{command_id}", CommandResult, None, options)
