"""Currencies, wallets and accounts."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Unpack
from uuid import UUID

from pydantic import TypeAdapter

from contracts import http as docs
from contracts.events import EventEnvelope
from contracts.wallets import WalletKind
from ledger_sdk._async._commands import AsyncAccountsCommands, AsyncCurrenciesCommands, AsyncWalletsCommands
from ledger_sdk._async.client import AsyncPager, CallOptions, route
from ledger_sdk._async.history import entries, events
from ledger_sdk._values import Party, given, path_ref

if TYPE_CHECKING:
    pass

_CURRENCIES = TypeAdapter(list[docs.Currency])


class AsyncCurrencies(AsyncCurrenciesCommands):
    """Currencies and asset types: a code (``USD``, ``GOLD``: ``^[A-Z][A-Z0-9]{2,11}$``) and the exponent
    amounts are read with (``"25.50"`` USD is 2550 minor units)."""

    @route("GET", "/v1/currencies")
    async def list(self, **options: Unpack[CallOptions]) -> builtins.list[docs.Currency]:
        """Every registered currency and asset type, with its exponent."""
        response = await self._client.request("GET", "/v1/currencies", options=options)
        return _CURRENCIES.validate_python(response.json())


class AsyncWallets(AsyncWalletsCommands):
    """Wallets: an owner's accounts, one per currency, named wherever a party is expected.

    - **Naming a wallet**: its ``@handle``, ``ext:<external ref>`` or its id. A handle is ``@`` and 2 to 32
      of ``a-z 0-9 _`` (``^@[a-z0-9_]{2,32}$``, ``contracts.base.Handle``); an external ref 1 to 128 of
      ``A-Z a-z 0-9 . _ : -``. Both are unique: a second wallet with a taken one is refused
      (``HandleTaken``, ``ExternalRefTaken``), so a create that may run again passes the same
      ``idempotency_key`` (the first answer comes back) or a handle of its own.
    - **Kinds**: ``user`` (the default), ``merchant`` and ``group`` are labels to list and filter by
      (``list(kind=...)``); the rules are the same for every kind. ``system`` wallets (each currency's
      treasury, revenue and promotions accounts) are the ledger's own and are never created here.
    """

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


class AsyncAccounts(AsyncAccountsCommands):
    """Accounts: one currency each, with a balance, the amount held by pending holds, ``available``
    (balance minus held) and limits; a party as ``account(id)``."""

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
