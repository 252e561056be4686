"""Statement uploads over HTTP on real processes: a multi-MB file streamed in by the SDK (from a path, and
chunked from a file that cannot seek) imports every line in flat gateway memory; one byte past the bound
is 413 with nothing imported; an upload without a key or without the scope is answered before a byte of
it is read, and pushing 100 MB at it leaves the gateway's memory flat (http_gateway/streamed.py)."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import asyncpg
import httpx
import pytest

from contracts.bounds import MAX_STATEMENT_BYTES
from contracts.keys import Scope
from contracts.recon import Columns, SourceConfig
from contracts.recon_views import Imported
from ledger_cli.processes import Processes
from ledger_sdk import AsyncClient, Client
from tests.e2e.access import make_key
from tests.e2e.api import new_wallet
from tests.e2e.test_edge import _address, _answer, _document, _rss, _status

pytestmark = pytest.mark.e2e

LINES = 120_000  # about 7 MB


@pytest.fixture
async def source(system: Processes, client: httpx.AsyncClient) -> str:
    bank = await new_wallet(client)
    name = f"upload-{uuid.uuid4().hex[:8]}"
    columns = Columns(amount="a", value_date="d", reference="r", description="n")
    config = SourceConfig(account_id=uuid.UUID(bank.usd), currency="USD", columns=columns)
    r = await client.put(f"/v1/recon/sources/{name}", json=config.model_dump(mode="json"))
    assert r.status_code == 200, r.text
    return name


@pytest.fixture
async def db(system: Processes) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(system.settings.database_url.get_secret_value())
    yield conn
    await conn.close()


async def _imported(db: asyncpg.Connection, source: str) -> tuple[int, int]:
    """Files and lines the source holds."""
    row = await db.fetchrow(
        "SELECT count(DISTINCT f.id) AS files, count(l.*) AS lines FROM recon_sources s"
        " LEFT JOIN recon_files f ON f.source_id = s.id LEFT JOIN recon_lines l ON l.file_id = f.id"
        " WHERE s.name = $1",
        source,
    )
    return row["files"], row["lines"]


class Peak:
    """The gateway's resident memory sampled every 5 ms on a thread while a block runs."""

    def __init__(self, pid: int) -> None:
        self.pid, self.before, self.peak, self._done = pid, _rss(pid), 0, threading.Event()
        self._thread = threading.Thread(target=self._sample)

    def _sample(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, _rss(self.pid))
            time.sleep(0.005)

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    @property
    def grown(self) -> int:
        return self.peak - self.before

    def __str__(self) -> str:
        mib = 2**20
        return f"gateway RSS {self.before / mib:.1f} MiB before, peak {self.peak / mib:.1f} (+{self.grown / mib:.1f})"


async def test_a_multi_mb_statement_is_streamed_in_and_every_line_imported(
    system: Processes, source: str, db: asyncpg.Connection, tmp_path: Path
) -> None:
    day = datetime.now(UTC).date().isoformat()
    path = tmp_path / "statement.csv"
    with path.open("w") as f:
        f.write("d,a,r,n\n")
        f.writelines(
            f"{day},{i % 100_000}.{i % 100:02d},PAY-{i:08d},card settlement batch {i:08d}\n" for i in range(LINES)
        )
    pid = system.pid("gateway")
    assert pid is not None
    token = system.settings.service_api_key.get_secret_value()
    async with AsyncClient(system.base_url, api_key=token) as sdk:
        with Peak(pid) as memory:
            first = await sdk.recon.import_file(source, path)
        # The same bytes through a pipe (a file that cannot seek: sent chunked, no Content-Length): the same
        # file, nothing added.
        with _piped(path) as pipe:
            again = await sdk.recon.import_file(source, pipe, name="again.csv")

    def sync_import() -> Imported:  # the sync client, from an open file: sent as read, its size announced
        with Client(system.base_url, api_key=token) as sync, path.open("rb") as f:
            return sync.recon.import_file(source, f)

    third = await asyncio.to_thread(sync_import)
    size = path.stat().st_size
    print(f"{size / 2**20:.1f} MB, {LINES} lines: {memory}")
    assert (first.lines, first.created, again.created, again.file_id) == (LINES, True, False, first.file_id)
    assert (third.created, third.file_id) == (False, first.file_id)
    assert await _imported(db, source) == (1, LINES)
    assert memory.grown < 48 * 2**20, memory  # the file is 7 MB; the importer's batches are what grows


@contextmanager
def _piped(path: Path) -> Iterator[BinaryIO]:
    """The read end of a pipe a thread writes ``path`` into, as ``cat statement.csv |`` would."""
    read, write = os.pipe()

    def feed() -> None:
        with os.fdopen(write, "wb") as out:
            out.write(path.read_bytes())

    feeder = threading.Thread(target=feed)
    feeder.start()
    with os.fdopen(read, "rb") as pipe:
        yield pipe
    feeder.join()


def _head(source: str, length: int, token: str | None, *extra: str) -> bytes:
    lines = [f"POST /v1/recon/sources/{source}/files HTTP/1.1", "Host: x", f"content-length: {length}"]
    lines += [f"Authorization: Bearer {token}"] if token else []
    return ("\r\n".join([*lines, *extra]) + "\r\n\r\n").encode()


async def _ask(system: Processes, head: bytes) -> bytes:
    """Send ``head`` alone and read the first answer (an interim ``100 Continue`` would come first)."""
    reader, writer = await asyncio.open_connection(*_address(system))
    try:
        writer.write(head)
        await writer.drain()
        return await asyncio.wait_for(_answer(reader), timeout=10)
    finally:
        writer.close()


async def test_at_the_bound_the_upload_is_taken_and_one_byte_more_is_413_with_nothing_imported(
    system: Processes, source: str, db: asyncpg.Connection
) -> None:
    """Cheaply: the bound's check comes from ``Content-Length`` before the key's, so an upload announcing
    exactly the bound without a key gets the 401 (its size refused nothing), and one byte more the 413,
    key or not; neither sends its body (``Expect: 100-continue``, which the gateway never answers)."""
    token = system.settings.service_api_key.get_secret_value()
    expect = "Expect: 100-continue"
    at = await _ask(system, _head(source, MAX_STATEMENT_BYTES, None, expect))
    assert _status(at) == 401, at[:300]
    for key in (None, token):
        past = await _ask(system, _head(source, MAX_STATEMENT_BYTES + 1, key, expect))
        assert _status(past) == 413 and b"connection: close" in past.lower(), past[:300]
        assert _document(past)["limit"] == MAX_STATEMENT_BYTES
    # An upload given up halfway leaves nothing either, and is no error of the gateway's.
    logged = len(system.log("gateway"))
    _, writer = await asyncio.open_connection(*_address(system))
    writer.write(_head(source, 10 * 2**20, token) + b"x" * 2**20)
    await writer.drain()
    writer.close()
    await asyncio.sleep(0.5)
    assert await _imported(db, source) == (0, 0)
    assert "internal error" not in system.log("gateway")[logged:]


async def test_an_upload_without_key_or_scope_is_answered_unread(
    system: Processes, client: httpx.AsyncClient, source: str, db: asyncpg.Connection
) -> None:
    reader_key = (await make_key(client, [Scope.READ], name="no reconcile"))["secret"]
    for key, status in ((None, 401), ("not-a-key", 401), (reader_key, 403)):
        answer = await _ask(system, _head(source, 100 * 2**20, key, "Expect: 100-continue"))
        # No ``100 Continue`` first: the gateway never asked for the body.
        assert _status(answer) == status and b"connection: close" in answer.lower(), answer[:300]
    # Sent anyway, as fast as the gateway takes it: it stops reading once it has answered.
    pid = system.pid("gateway")
    assert pid is not None
    with Peak(pid) as memory:
        pushed = await asyncio.gather(*(_push(system, _head(source, 100 * 2**20, None)) for _ in range(4)))
    print(f"4 unauthenticated 100 MB uploads: {memory}; sent before the gateway closed: {pushed}")
    assert all(status in (401, None) for status, _ in pushed), pushed
    assert all(sent < 32 * 2**20 for _, sent in pushed), pushed  # socket buffers, not the 100 MB
    assert memory.grown < 10 * 2**20, memory
    assert await _imported(db, source) == (0, 0)


async def _push(system: Processes, head: bytes) -> tuple[int | None, int]:
    """Send ``head`` and its body as fast as the server takes it: its status (None if the connection was
    reset under the sending) and how much was sent."""
    reader, writer = await asyncio.open_connection(*_address(system))
    block, sent, length = b"x" * 65536, 0, 100 * 2**20
    writer.write(head)
    try:
        while sent < length:
            writer.write(block)
            await asyncio.wait_for(writer.drain(), timeout=5)
            sent += len(block)
        answer = await asyncio.wait_for(_answer(reader), timeout=10)
        return (_status(answer) if answer else None), sent
    except (ConnectionError, TimeoutError):
        return None, sent
    finally:
        writer.close()


async def test_uploads_past_the_gateways_slots_are_429_unread_and_a_slot_frees_when_one_ends(
    system: Processes, client: httpx.AsyncClient, source: str, db: asyncpg.Connection
) -> None:
    """Each upload may spool 512 MiB to disk: ``GATEWAY_MAX_UPLOADS`` (2 here) at once, one more is refused
    with 429 and ``Retry-After`` before a byte of it is read; an upload given up frees its slot."""
    token = system.settings.service_api_key.get_secret_value()
    slots = system.settings.gateway_max_uploads
    holders = []
    for _ in range(slots):  # uploads that announce 10 MB, send 1 MB and wait
        _, writer = await asyncio.open_connection(*_address(system))
        writer.write(_head(source, 10 * 2**20, token) + b"x" * 2**20)
        await writer.drain()
        holders.append(writer)
    await asyncio.sleep(1.0)  # both are in their route, receiving
    refused = await _ask(system, _head(source, 2**20, token, "Expect: 100-continue"))
    assert _status(refused) == 429 and b"retry-after: 5" in refused.lower(), refused[:300]
    assert _document(refused)["code"] == "too_many_uploads"
    for writer in holders:
        writer.close()
    await asyncio.sleep(1.0)  # given up: 400 upload_incomplete, and their slots are free again
    r = await client.post(f"/v1/recon/sources/{source}/files", content=b"d,a,r,n\n2026-12-01,1.00,x,y\n")
    assert r.status_code == 200, r.text
    assert await _imported(db, source) == (1, 1)
