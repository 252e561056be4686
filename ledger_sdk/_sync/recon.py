# Generated from ledger_sdk/_async/recon.py by tools/sdk_generate.py; edit that file, not this one.
"""Reconciliation: statement sources and imports, runs, breaks (explain, resolve) and matches."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import IO, Any, Unpack
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
        content: bytes | str | os.PathLike[str] | IO[bytes],
        *,
        name: str | None = None,
        **options: Unpack[CallOptions],
    ) -> Imported:
        """Import a statement file (up to 512 MiB): its bytes, or a path or an open binary file, which is
        sent as it is read, never held whole. Importing the same bytes again changes nothing (``created`` is
        false). A file's answer comes once it is imported: it is waited for up to 10 minutes unless
        ``timeout`` says otherwise."""
        headers = {"Content-Type": "application/octet-stream"}
        body: bytes | StatementFile = content if isinstance(content, bytes) else StatementFile(content)
        if isinstance(body, StatementFile):
            options.setdefault("timeout", FILE_TIMEOUT)
            if body.size is not None:  # the gateway refuses a file over its bound before it is sent
                headers["Content-Length"] = str(body.size)
            if not body.replayable:
                options["max_retries"] = 0
        if name is None:
            name = Path(content).name if isinstance(content, str | os.PathLike) else "upload"
        response = self._client.request(
            "POST",
            f"{_source(source)}/files",
            params={"name": name},
            content=body,
            headers=headers,
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


#: Seconds a file's upload waits for each step (its answer comes after the import: a million lines take a while).
FILE_TIMEOUT = 600.0
#: Bytes read from a statement file at a time while it is sent.
CHUNK = 1 << 20


class StatementFile:
    """A statement file sent as it is read: a path (opened anew for each attempt, so a retry sends it
    whole again) or an open binary file (sent from where it stands; one that cannot seek back there is
    sent once and not retried). Its size, when known, is announced as ``Content-Length``."""

    def __init__(self, file: str | os.PathLike[str] | IO[bytes]) -> None:
        self.path: Path | None = None
        self.file: IO[bytes] | None = None
        self.start: int | None = 0
        self.size: int | None
        if isinstance(file, str | os.PathLike):
            self.path = Path(file)
            self.size = self.path.stat().st_size
        else:
            self.file = file
            self.start = file.tell() if file.seekable() else None
            self.size = None if self.start is None else file.seek(0, os.SEEK_END) - self.start
            if self.start is not None:
                file.seek(self.start)

    @property
    def replayable(self) -> bool:
        return self.start is not None

    def __iter__(self) -> Iterator[bytes]:
        # Plain reads of a local file, a megabyte at a time: short next to sending the megabyte.
        if self.file is None:
            assert self.path is not None
            with self.path.open("rb") as f:
                while chunk := f.read(CHUNK):
                    yield chunk
            return
        if self.start is not None:
            self.file.seek(self.start)
        while chunk := self.file.read(CHUNK):
            yield chunk


def _source(name: str) -> str:
    return f"/v1/recon/sources/{quote(name, safe='')}"
