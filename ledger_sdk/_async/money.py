"""Money movement (top-ups, bonuses, spends, withdrawals, transfers, multi-leg transactions, reversals)
and command outcomes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Unpack
from uuid import UUID

from contracts import http as docs
from contracts.results import CommandResult
from ledger_sdk._async._commands import (
    AsyncBonusesCommands,
    AsyncDepositsCommands,
    AsyncSpendsCommands,
    AsyncTransactionsCommands,
    AsyncTransfersCommands,
    AsyncWithdrawalsCommands,
)
from ledger_sdk._async.client import AsyncPager, AsyncResource, CallOptions, route
from ledger_sdk._values import Leg, given

__all__ = ["Leg"]  # where it was always imported from


class AsyncDeposits(AsyncDepositsCommands):
    """Top-ups: money in from the currency's treasury account."""


class AsyncBonuses(AsyncBonusesCommands):
    """Bonuses: money in from the currency's promotions account."""


class AsyncSpends(AsyncSpendsCommands):
    """Spends: money out to the currency's revenue account."""


class AsyncWithdrawals(AsyncWithdrawalsCommands):
    """Withdrawals: money out to the currency's treasury account (it leaves the ledger)."""


class AsyncTransfers(AsyncTransfersCommands):
    """Transfers between two parties in one currency."""


class AsyncTransactions(AsyncTransactionsCommands):
    """Transactions: balanced sets of postings, never edited (a reversal is a new transaction)."""

    @route("GET", "/v1/transactions/{transaction_id}")
    async def get(self, transaction_id: UUID | str, **options: Unpack[CallOptions]) -> docs.Transaction:
        """A transaction with its postings, metadata and links (reverses / reversed by, hold, intent)."""
        path = f"/v1/transactions/{UUID(str(transaction_id))}"
        return await self._client.get(path, docs.Transaction, None, options)

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
    ) -> AsyncPager[docs.Transaction]:
        """Transactions by command type, time and metadata, newest first."""
        query = given(type=list(types) if types else None, metadata=metadata, limit=limit)
        query |= given(**{"from": since, "to": until})

        async def fetch(at: str | None) -> tuple[list[docs.Transaction], str | None, bool]:
            page = await self._client.get("/v1/transactions", docs.TransactionPage, {**query, "cursor": at}, options)
            return page.transactions, page.next_cursor, page.next_cursor is not None

        return AsyncPager(fetch, cursor)


class AsyncCommands(AsyncResource):
    """The recorded outcomes of commands, by command id (the write's idempotency key)."""

    @route("GET", "/v1/commands/{command_id}")
    async def get(self, command_id: str, **options: Unpack[CallOptions]) -> CommandResult:
        """The recorded outcome of one of your commands (applied or refused; not raised)."""
        return await self._client.get(f"/v1/commands/{command_id}", CommandResult, None, options)
