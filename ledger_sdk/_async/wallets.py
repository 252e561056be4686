"""Currencies, wallets and accounts."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Unpack
from uuid import UUID

from pydantic import TypeAdapter

from contracts import http as docs
from contracts.events import EventEnvelope
from contracts.results import CommandResult
from contracts.wallets import WalletKind
from ledger_sdk._async.client import AsyncPager, AsyncResource, CallOptions, route
from ledger_sdk._async.history import entries, events
from ledger_sdk._values import Amount, Party, amount, given, path_ref

if TYPE_CHECKING:
    pass

_CURRENCIES = TypeAdapter(list[docs.Currency])


class AsyncCurrencies(AsyncResource):
    @route("GET", "/v1/currencies")
    async def list(self, **options: Unpack[CallOptions]) -> builtins.list[docs.Currency]:
        """Every registered currency and asset type, with its exponent."""
        response = await self._client.request("GET", "/v1/currencies", options=options)
        return _CURRENCIES.validate_python(response.json())

    @route("POST", "/v1/currencies")
    async def register(self, *, code: str, name: str, exponent: int, **options: Unpack[CallOptions]) -> CommandResult:
        """Add a currency or asset type (``admin``); its exponent can never change afterwards."""
        body = {"code": code, "name": name, "exponent": exponent}
        return await self._client.write("POST", "/v1/currencies", body, options)


class AsyncWallets(AsyncResource):
    @route("POST", "/v1/wallets")
    async def create(
        self,
        *,
        owner_id: str,
        kind: WalletKind | None = None,
        handle: str | None = None,
        external_ref: str | None = None,
        currencies: Sequence[str] = (),
        metadata: Mapping[str, str] | None = None,
        wallet_id: UUID | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """Create a wallet for an owner, with an account in each listed currency (``result.wallet_id``)."""
        body = given(
            owner_id=owner_id,
            kind=kind,
            handle=handle,
            external_ref=external_ref,
            currencies=list(currencies) or None,
            metadata=dict(metadata) if metadata else None,
            wallet_id=str(wallet_id) if wallet_id else None,
        )
        return await self._client.write("POST", "/v1/wallets", body, options)

    @route("GET", "/v1/wallets")
    def list(
        self,
        *,
        owner_id: str | None = None,
        kind: WalletKind | None = None,
        metadata: Mapping[str, str] | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        **options: Unpack[CallOptions],
    ) -> AsyncPager[docs.Wallet]:
        """Wallets by owner, kind and metadata (exact values), in id order; iterate to follow the pages."""
        query = given(owner_id=owner_id, kind=kind, metadata=metadata, limit=limit)

        async def fetch(at: str | None) -> tuple[list[docs.Wallet], str | None, bool]:
            page = await self._client.get("/v1/wallets", docs.WalletPage, {**query, "cursor": at}, options)
            return page.wallets, page.next_cursor, page.next_cursor is not None

        return AsyncPager(fetch, cursor)

    @route("GET", "/v1/wallets/{wallet}")
    async def get(self, wallet: Party, **options: Unpack[CallOptions]) -> docs.Wallet:
        """A wallet with its accounts and their posted, held and available balances."""
        return await self._client.get(f"/v1/wallets/{path_ref(wallet)}", docs.Wallet, None, options)

    @route("GET", "/v1/wallets/{wallet}/balance")
    async def balance(
        self, wallet: Party, *, at: datetime | None = None, **options: Unpack[CallOptions]
    ) -> docs.WalletBalances:
        """The wallet's balance in every currency, now or as of a past moment ``at``."""
        path = f"/v1/wallets/{path_ref(wallet)}/balance"
        return await self._client.get(path, docs.WalletBalances, given(at=at), options)

    @route("POST", "/v1/wallets/{wallet}/freeze")
    async def freeze(
        self,
        wallet: Party,
        *,
        allow_credits: bool | None = None,
        reason: str | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """Stop debits from every account of the wallet; credits continue unless ``allow_credits=False``."""
        body = given(allow_credits=allow_credits, reason=reason)
        return await self._client.write("POST", f"/v1/wallets/{path_ref(wallet)}/freeze", body, options)

    @route("POST", "/v1/wallets/{wallet}/unfreeze")
    async def unfreeze(self, wallet: Party, **options: Unpack[CallOptions]) -> CommandResult:
        """Return a frozen wallet to active."""
        return await self._client.write("POST", f"/v1/wallets/{path_ref(wallet)}/unfreeze", None, options)

    @route("POST", "/v1/wallets/{wallet}/close")
    async def close(self, wallet: Party, **options: Unpack[CallOptions]) -> CommandResult:
        """Close a wallet for good: only when every account is at zero with no pending holds."""
        return await self._client.write("POST", f"/v1/wallets/{path_ref(wallet)}/close", None, options)

    @route("PATCH", "/v1/wallets/{wallet}/metadata")
    async def set_metadata(
        self, wallet: Party, *, metadata: Mapping[str, str | None], **options: Unpack[CallOptions]
    ) -> CommandResult:
        """Merge into the wallet's metadata; a key set to ``None`` is removed."""
        body = {"metadata": dict(metadata)}
        return await self._client.write("PATCH", f"/v1/wallets/{path_ref(wallet)}/metadata", body, options)

    @route("POST", "/v1/wallets/{wallet}/accounts")
    async def open_account(
        self,
        wallet: Party,
        *,
        currency: str,
        min_balance: Amount | None = None,
        account_id: UUID | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """Open the wallet's account in ``currency`` (``min_balance`` below zero: a credit line)."""
        body = _account_body(currency, min_balance, account_id)
        return await self._client.write("POST", f"/v1/wallets/{path_ref(wallet)}/accounts", body, options)

    @route("GET", "/v1/wallets/{wallet}/transactions")
    def transactions(
        self,
        wallet: Party,
        *,
        types: Sequence[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        counterparty: Party | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        **options: Unpack[CallOptions],
    ) -> AsyncPager[docs.Entry]:
        """The postings of every account of the wallet, newest first, each with the balance after it."""
        return entries(
            self._client,
            f"/v1/wallets/{path_ref(wallet)}/transactions",
            types,
            since,
            until,
            counterparty,
            limit,
            cursor,
            options,
        )

    @route("GET", "/v1/wallets/{wallet}/events")
    def events(
        self, wallet: Party, *, after: str | None = None, limit: int | None = None, **options: Unpack[CallOptions]
    ) -> AsyncPager[EventEnvelope]:
        """The wallet's events (its own and its accounts'), oldest first; ``pager.cursor`` resumes later."""
        return events(self._client, f"/v1/wallets/{path_ref(wallet)}/events", after, limit, options)


class AsyncAccounts(AsyncResource):
    @route("POST", "/v1/accounts")
    async def open(
        self,
        *,
        currency: str,
        min_balance: Amount | None = None,
        account_id: UUID | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """Open an account in a wallet of its own (``result.account_id``)."""
        return await self._client.write(
            "POST", "/v1/accounts", _account_body(currency, min_balance, account_id), options
        )

    @route("GET", "/v1/accounts/{account_id}")
    async def get(self, account_id: UUID | str, **options: Unpack[CallOptions]) -> docs.Account:
        """An account: posted, held and available balances, limits and status."""
        return await self._client.get(f"/v1/accounts/{UUID(str(account_id))}", docs.Account, None, options)

    @route("GET", "/v1/accounts/{account_id}/balance")
    async def balance(
        self, account_id: UUID | str, *, at: datetime | None = None, **options: Unpack[CallOptions]
    ) -> docs.BalanceAt:
        """The posted balance now, or as of any past moment ``at``."""
        path = f"/v1/accounts/{UUID(str(account_id))}/balance"
        return await self._client.get(path, docs.BalanceAt, given(at=at), options)

    @route("PUT", "/v1/accounts/{account_id}/limits")
    async def set_limits(
        self,
        account_id: UUID | str,
        *,
        min_balance: Amount | None = None,
        max_per_transaction: Amount | None = None,
        daily_debit_amount: Amount | None = None,
        daily_debit_count: int | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """Replace all of the account's limits; one left out is no limit (``min_balance``: 0)."""
        body = given(
            min_balance=None if min_balance is None else amount(min_balance, name="min_balance"),
            max_per_transaction=None if max_per_transaction is None else amount(max_per_transaction),
            daily_debit_amount=None if daily_debit_amount is None else amount(daily_debit_amount),
            daily_debit_count=daily_debit_count,
        )
        return await self._client.write("PUT", f"/v1/accounts/{UUID(str(account_id))}/limits", body, options)

    @route("GET", "/v1/accounts/{account_id}/entries")
    def entries(
        self,
        account_id: UUID | str,
        *,
        types: Sequence[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        counterparty: Party | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        **options: Unpack[CallOptions],
    ) -> AsyncPager[docs.Entry]:
        """The account's postings, newest first, each with the balance after it; filters combine."""
        return entries(
            self._client,
            f"/v1/accounts/{UUID(str(account_id))}/entries",
            types,
            since,
            until,
            counterparty,
            limit,
            cursor,
            options,
        )


def _account_body(currency: str, min_balance: Amount | None, account_id: UUID | None) -> dict[str, Any]:
    minimum = None if min_balance is None else amount(min_balance, name="min_balance")
    return given(currency=currency, min_balance=minimum, account_id=str(account_id) if account_id else None)
