"""The event log over HTTP (``client.events``) and the named readers whose lag the ledger watches
(``client.readers``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Literal, Unpack
from urllib.parse import quote

from contracts import log as docs
from ledger_sdk._async.client import AsyncResource, CallOptions, route
from ledger_sdk._values import given

#: Seconds a request may take beyond the long-poll it asked for.
_MARGIN = 10.0


class AsyncEvents(AsyncResource):
    """Every event the key may read, in log position order (a wallet-bound key: its wallet's)."""

    @route("GET", "/v1/events")
    async def list(
        self,
        *,
        after: int | None = None,
        since: datetime | None = None,
        types: Sequence[str] | None = None,
        wallet: str | None = None,
        wait: int | None = None,
        limit: int | None = None,
        reader: str | None = None,
        **options: Unpack[CallOptions],
    ) -> docs.LogPage:
        """One page after position ``after`` (or from the first event logged at ``since``); with ``wait``, the
        answer waits up to that many seconds (at most 30) for an event when none is there yet. Continue with
        ``after=page.next_after``; ``reader`` records ``after`` as that named reader's position."""
        query = given(after=after, since=since, wallet=wallet, wait=wait, limit=limit, reader=reader)
        if types:
            query["type"] = list(types)
        if wait:
            options = {**options, "timeout": max(options.get("timeout", self._client.timeout), wait + _MARGIN)}
        return await self._client.get("/v1/events", docs.LogPage, query, options)

    async def follow(
        self,
        *,
        after: int | Literal["now"] = 0,
        types: Sequence[str] | None = None,
        wallet: str | None = None,
        wait: int = 20,
        limit: int | None = None,
        reader: str | None = None,
        **options: Unpack[CallOptions],
    ) -> AsyncIterator[docs.LogEntry]:
        """Every event after ``after``, then each new one as it is logged, forever: long-polls of ``list``.

        ``after="now"``: only events logged from now on (after the head of the first answer). Each page's
        ``after`` is the last position handed out before it, so with ``reader`` the ledger's record of the
        reader's position trails what the caller consumed by at most one page."""
        position = (await self.list(limit=1, **options)).head if after == "now" else after
        while True:
            page = await self.list(
                after=position, types=types, wallet=wallet, wait=wait, limit=limit, reader=reader, **options
            )
            for entry in page.events:
                yield entry
            position = page.next_after


class AsyncReaders(AsyncResource):
    """Named readers of the event log: report a position (its lag is measured from it), forget one, list all."""

    @route("PUT", "/v1/readers/{name}")
    async def report(
        self,
        name: str,
        *,
        position: int,
        transport: Literal["http", "amqp"] = "amqp",
        **options: Unpack[CallOptions],
    ) -> docs.Reader:
        """Record the last position the reader ``name`` handled (names are unique across keys)."""
        body = {"position": position, "transport": transport}
        response = await self._client.request("PUT", _path(name), json=body, options=options)
        return docs.Reader.model_validate(response.json())

    @route("DELETE", "/v1/readers/{name}")
    async def forget(self, name: str, **options: Unpack[CallOptions]) -> docs.Reader:
        """Forget one of the key's readers (no lag measured or alerted on any more)."""
        response = await self._client.request("DELETE", _path(name), replayable=False, options=options)
        return docs.Reader.model_validate(response.json())

    @route("GET", "/v1/admin/readers")
    async def list(self, **options: Unpack[CallOptions]) -> docs.ReaderList:
        """Every named reader and how far behind it is (``admin``, a key bound to no wallet)."""
        return await self._client.get("/v1/admin/readers", docs.ReaderList, None, options)


def _path(name: str) -> str:
    return f"/v1/readers/{quote(name, safe='')}"
