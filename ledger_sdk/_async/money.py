"""Money movement (top-ups, bonuses, spends, withdrawals, transfers, multi-leg transactions, reversals)
and command outcomes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Unpack
from uuid import UUID

from contracts import http as docs
from contracts.results import CommandResult
from ledger_sdk._async.client import AsyncPager, AsyncResource, CallOptions, route
from ledger_sdk._values import Amount, Party, amount, given, party


@dataclass(frozen=True, slots=True)
class Leg:
    """One leg of a multi-leg transaction: a party, a side and an amount."""

    party: Party
    side: Literal["debit", "credit"]
    amount: Amount

    def body(self) -> dict[str, Any]:
        return {**party("", self.party), "side": self.side, "amount": amount(self.amount)}


class _AsyncFlow(AsyncResource):
    """A single-party flow against the currency's system account (which one is the flow's)."""

    _path: str

    async def _create(
        self,
        party_: Party,
        amount_: Amount,
        currency: str,
        description: str | None,
        metadata: Mapping[str, str] | None,
        options: CallOptions,
    ) -> CommandResult:
        body = {
            **party("", party_),
            "amount": amount(amount_),
            "currency": currency,
            **given(description=description, metadata=dict(metadata) if metadata else None),
        }
        return await self._client.write("POST", self._path, body, options)


class AsyncDeposits(_AsyncFlow):
    _path = "/v1/deposits"

    @route("POST", "/v1/deposits")
    async def create(
        self,
        *,
        to: Party,
        amount: Amount,
        currency: str,
        description: str | None = None,
        metadata: Mapping[str, str] | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """Top up ``to`` from the currency's treasury account (``deposit`` scope)."""
        return await self._create(to, amount, currency, description, metadata, options)


class AsyncBonuses(_AsyncFlow):
    _path = "/v1/bonuses"

    @route("POST", "/v1/bonuses")
    async def create(
        self,
        *,
        to: Party,
        amount: Amount,
        currency: str,
        description: str | None = None,
        metadata: Mapping[str, str] | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """Credit ``to`` from the currency's promotions account."""
        return await self._create(to, amount, currency, description, metadata, options)


class AsyncSpends(_AsyncFlow):
    _path = "/v1/spends"

    @route("POST", "/v1/spends")
    async def create(
        self,
        *,
        source: Party,
        amount: Amount,
        currency: str,
        description: str | None = None,
        metadata: Mapping[str, str] | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """Debit ``source`` to the currency's revenue account; ``InsufficientFunds`` if short."""
        return await self._create(source, amount, currency, description, metadata, options)


class AsyncWithdrawals(_AsyncFlow):
    _path = "/v1/withdrawals"

    @route("POST", "/v1/withdrawals")
    async def create(
        self,
        *,
        source: Party,
        amount: Amount,
        currency: str,
        description: str | None = None,
        metadata: Mapping[str, str] | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """Debit ``source`` to the currency's treasury account (money leaves the ledger)."""
        return await self._create(source, amount, currency, description, metadata, options)


class AsyncTransfers(AsyncResource):
    @route("POST", "/v1/transfers")
    async def create(
        self,
        *,
        debit: Party,
        credit: Party,
        amount: Amount,
        currency: str,
        description: str | None = None,
        metadata: Mapping[str, str] | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """Move ``amount`` from ``debit`` to ``credit`` in one currency."""
        body = {
            **party("debit_", debit),
            **party("credit_", credit),
            "amount": _amount(amount),
            "currency": currency,
            **given(description=description, metadata=dict(metadata) if metadata else None),
        }
        return await self._client.write("POST", "/v1/transfers", body, options)


class AsyncTransactions(AsyncResource):
    @route("POST", "/v1/transactions")
    async def post(
        self,
        *,
        currency: str,
        legs: Sequence[Leg],
        description: str | None = None,
        metadata: Mapping[str, str] | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """Post the legs together or not at all (debits must equal credits)."""
        body = {
            "currency": currency,
            "legs": [leg.body() for leg in legs],
            **given(description=description, metadata=dict(metadata) if metadata else None),
        }
        return await self._client.write("POST", "/v1/transactions", body, options)

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

    @route("POST", "/v1/transactions/{transaction_id}/reverse")
    async def reverse(
        self, transaction_id: UUID | str, *, reason: str | None = None, **options: Unpack[CallOptions]
    ) -> CommandResult:
        """Post a new transaction that undoes this one; the original stays as it was."""
        path = f"/v1/transactions/{UUID(str(transaction_id))}/reverse"
        return await self._client.write("POST", path, given(reason=reason) or None, options)


class AsyncCommands(AsyncResource):
    @route("GET", "/v1/commands/{command_id}")
    async def get(self, command_id: str, **options: Unpack[CallOptions]) -> CommandResult:
        """The recorded outcome of one of your commands (applied or refused; not raised)."""
        return await self._client.get(f"/v1/commands/{command_id}", CommandResult, None, options)


def _amount(value: Amount) -> int | str:
    return amount(value)
