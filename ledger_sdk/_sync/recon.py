# Generated from ledger_sdk/_async/recon.py by tools/sdk_generate.py; edit that file, not this one.
"""Reconciliation: statement sources and imports, runs, breaks (explain, resolve) and matches."""

from __future__ import annotations

from datetime import date
from typing import Any, Unpack
from urllib.parse import quote
from uuid import UUID

from contracts.recon import SourceConfig
from contracts.recon_views import (
    BalanceCheck,
    BreakPage,
    BreakView,
    Imported,
    MatchView,
    OpenBreaks,
    RunPage,
    SourceView,
)
from ledger_sdk._sync._commands import ReconCommands
from ledger_sdk._sync.client import CallOptions, route


class Recon(ReconCommands):
    """``client.recon`` (``reconcile`` scope, a key bound to no wallet): declare a source, import its
    statements, run it, and explain or resolve what does not match."""

    @route("PUT", "/v1/recon/sources/{source}")
    def define_source(self, source: str, config: SourceConfig, **options: Unpack[CallOptions]) -> SourceView:
        """Declare a statement source (or replace its mapping and rules)."""
        body = config.model_dump(mode="json")
        response = self._client.request("PUT", _source(source), json=body, options=options)
        return SourceView.model_validate(response.json())

    @route("GET", "/v1/recon/sources/{source}")
    def get_source(self, source: str, **options: Unpack[CallOptions]) -> SourceView:
        """A statement source's declaration."""
        return self._client.get(_source(source), SourceView, None, options)

    @route("POST", "/v1/recon/sources/{source}/files")
    def import_file(
        self,
        source: str,
        content: bytes,
        *,
        name: str = "upload",
        **options: Unpack[CallOptions],
    ) -> Imported:
        """Import a statement file (up to the gateway's body limit; ``ledger recon import`` streams any size).
        Importing the same bytes again changes nothing (``created`` is false)."""
        response = self._client.request(
            "POST",
            f"{_source(source)}/files",
            params={"name": name},
            content=content,
            headers={"Content-Type": "application/octet-stream"},
            options=options,
        )
        return Imported.model_validate(response.json())

    @route("GET", "/v1/recon/sources/{source}/balances")
    def balances(
        self, source: str, *, since: date | None = None, until: date | None = None, **options: Unpack[CallOptions]
    ) -> BalanceCheck:
        """Per statement day: the statement's closing balance, the ledger account's, and the drift."""
        params = {"from": since and since.isoformat(), "to": until and until.isoformat()}
        return self._client.get(f"{_source(source)}/balances", BalanceCheck, params, options)

    @route("GET", "/v1/recon/runs")
    def runs(self, *, source: str | None = None, limit: int = 50, **options: Unpack[CallOptions]) -> RunPage:
        """Reconciliation runs, newest first."""
        return self._client.get("/v1/recon/runs", RunPage, {"source": source, "limit": limit}, options)

    @route("GET", "/v1/recon/breaks")
    def breaks(
        self,
        *,
        source: str | None = None,
        state: str | None = None,
        reason: str | None = None,
        older_than: int | None = None,
        cursor: str | None = None,
        limit: int = 50,
        **options: Unpack[CallOptions],
    ) -> BreakPage:
        """Breaks, oldest first, each with its statement line and ledger posting."""
        params: dict[str, Any] = {
            "source": source,
            "state": state,
            "reason": reason,
            "older_than": older_than,
            "cursor": cursor,
            "limit": limit,
        }
        return self._client.get("/v1/recon/breaks", BreakPage, params, options)

    @route("GET", "/v1/recon/open_breaks")
    def open_breaks(self, **options: Unpack[CallOptions]) -> OpenBreaks:
        """Open breaks counted by source, reason and age."""
        return self._client.get("/v1/recon/open_breaks", OpenBreaks, None, options)

    @route("GET", "/v1/recon/breaks/{break_id}")
    def get_break(self, break_id: UUID | str, **options: Unpack[CallOptions]) -> BreakView:
        """A break with its two sides."""
        return self._client.get(f"/v1/recon/breaks/{UUID(str(break_id))}", BreakView, None, options)

    @route("GET", "/v1/recon/matches/{match_id}")
    def get_match(self, match_id: UUID | str, **options: Unpack[CallOptions]) -> MatchView:
        """A match: its statement lines and ledger postings side by side."""
        return self._client.get(f"/v1/recon/matches/{UUID(str(match_id))}", MatchView, None, options)


def _source(name: str) -> str:
    return f"/v1/recon/sources/{quote(name, safe='')}"
