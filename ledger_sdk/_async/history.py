"""History as pagers (postings and event streams, shared by wallets, accounts and ``me``), and ``me``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Unpack

from contracts import http as docs
from contracts.events import EventEnvelope
from ledger_sdk._async.client import AsyncPager, AsyncResource, CallOptions, route
from ledger_sdk._values import AccountRef, Party, given

if TYPE_CHECKING:
    from ledger_sdk._async.client import AsyncClient


def history(
    types: Sequence[str] | None, since: datetime | None, until: datetime | None, counterparty: Party | None
) -> dict[str, Any]:
    """The query of the history endpoints (``type`` may repeat; ``counterparty`` is an account id or a wallet)."""
    other = counterparty.id if isinstance(counterparty, AccountRef) else counterparty
    return given(type=list(types) if types else None, counterparty=None if other is None else str(other)) | given(
        **{"from": since, "to": until}
    )


class AsyncMe(AsyncResource):
    """The wallet the calling key is bound to."""

    @route("GET", "/v1/wallets/me")
    async def wallet(self, **options: Unpack[CallOptions]) -> docs.Wallet:
        """The key's own wallet with its accounts and balances."""
        return await self._client.get("/v1/wallets/me", docs.Wallet, None, options)

    @route("GET", "/v1/wallets/me/balance")
    async def balance(self, *, at: datetime | None = None, **options: Unpack[CallOptions]) -> docs.WalletBalances:
        """The key's wallet balance in every currency, now or as of a past moment ``at``."""
        return await self._client.get("/v1/wallets/me/balance", docs.WalletBalances, given(at=at), options)

    @route("GET", "/v1/wallets/me/transactions")
    def transactions(
        self,
        *,
        types: Sequence[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        counterparty: Party | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        **options: Unpack[CallOptions],
    ) -> AsyncPager[docs.Entry]:
        """The postings of the key's wallet, newest first."""
        return entries(
            self._client, "/v1/wallets/me/transactions", types, since, until, counterparty, limit, cursor, options
        )

    @route("GET", "/v1/wallets/me/events")
    def events(
        self, *, after: str | None = None, limit: int | None = None, **options: Unpack[CallOptions]
    ) -> AsyncPager[EventEnvelope]:
        """The key's wallet's events, oldest first; ``pager.cursor`` resumes later."""
        return events(self._client, "/v1/wallets/me/events", after, limit, options)


def entries(
    client: AsyncClient,
    path: str,
    types: Sequence[str] | None,
    since: datetime | None,
    until: datetime | None,
    counterparty: Party | None,
    limit: int | None,
    cursor: str | None,
    options: CallOptions,
) -> AsyncPager[docs.Entry]:
    query = {**history(types, since, until, counterparty), **given(limit=limit)}

    async def fetch(at: str | None) -> tuple[list[docs.Entry], str | None, bool]:
        page = await client.get(path, docs.EntryPage, {**query, "cursor": at}, options)
        return page.entries, page.next_cursor, page.next_cursor is not None

    return AsyncPager(fetch, cursor)


def events(
    client: AsyncClient, path: str, after: str | None, limit: int | None, options: CallOptions
) -> AsyncPager[EventEnvelope]:
    async def fetch(at: str | None) -> tuple[list[EventEnvelope], str | None, bool]:
        page = await client.get(path, docs.EventPage, given(after=at, limit=limit), options)
        return page.events, page.next_cursor, page.has_more

    return AsyncPager(fetch, after)
