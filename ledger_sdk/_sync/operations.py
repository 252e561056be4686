# Generated from ledger_sdk/_async/operations.py by tools/sdk_generate.py; edit that file, not this one.
"""Flows between wallets (``read``), and what an operator watches and repairs (``admin``, an unbound key)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Unpack
from urllib.parse import quote

from contracts import http as docs
from ledger_sdk._sync.client import CallOptions, Resource, route
from ledger_sdk._values import given

Source = Literal["commands", "events"]


def _letter(source: Source, id: str) -> str:
    # A dead command's id is whatever message id its publisher chose: quoted as one path segment.
    return f"/v1/admin/dead_letters/{quote(source, safe='')}/{quote(id, safe='')}"


class Flows(Resource):
    """Money between wallets over a period (a wallet-bound key: the edges with its own wallet)."""

    @route("GET", "/v1/flows")
    def graph(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        currency: str | None = None,
        **options: Unpack[CallOptions],
    ) -> docs.FlowGraph:
        """The edges wallet -> wallet per currency, largest first (default period: the last 30 days)."""
        query = given(currency=currency) | given(**{"from": since, "to": until})
        return self._client.get("/v1/flows", docs.FlowGraph, query, options)


class Operations(Resource):
    """The outbox, the dead letters per source and the latest ``ledger audit``."""

    @route("GET", "/v1/admin/operations")
    def get(self, **options: Unpack[CallOptions]) -> docs.Operations:
        """The operations summary; ``dead_letters.commands`` is None when the broker could not be asked."""
        return self._client.get("/v1/admin/operations", docs.Operations, None, options)


class DeadLetters(Resource):
    """Dead-lettered commands (broker queue) and events (outbox rows). Replay and purge are not retried
    after a request that may have arrived: a second one would find nothing (404)."""

    @route("GET", "/v1/admin/dead_letters")
    def list(
        self, *, source: Source = "commands", limit: int | None = None, **options: Unpack[CallOptions]
    ) -> docs.DeadLetterPage:
        """Dead letters of one source, oldest first; nothing is consumed."""
        query = given(source=source, limit=limit)
        return self._client.get("/v1/admin/dead_letters", docs.DeadLetterPage, query, options)

    @route("POST", "/v1/admin/dead_letters/{source}/{letter_id}/replay")
    def replay(self, *, source: Source, id: str, **options: Unpack[CallOptions]) -> docs.DeadLetterAction:
        """Send one dead letter through again (a command is idempotent by its id: applied at most once)."""
        path = _letter(source, id) + "/replay"
        response = self._client.request("POST", path, replayable=False, options=options)
        return docs.DeadLetterAction.model_validate(response.json())

    @route("DELETE", "/v1/admin/dead_letters/{source}/{letter_id}")
    def purge(self, *, source: Source, id: str, **options: Unpack[CallOptions]) -> docs.DeadLetterAction:
        """Drop one dead command for good (dead events cannot be purged: 409 ``not_purgeable``)."""
        response = self._client.request("DELETE", _letter(source, id), replayable=False, options=options)
        return docs.DeadLetterAction.model_validate(response.json())
