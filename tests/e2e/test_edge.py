"""Black-box, on raw sockets: what the gateway refuses before a request reaches a route (http_gateway/edge.py).

A body over the bound is answered 413 from its ``Content-Length`` before a byte of it is read, a chunked one
once it passes the bound; a head over the bound is 431 as it arrives; what the HTTP parser refuses is a
problem document too; nothing redirects to a Location built from the caller's headers. And the gateway's
memory stays flat while twenty 30 MB bodies are refused at once (issue: +110 MB per request before).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import httpx
import pytest

from contracts.bounds import MAX_BODY_BYTES, MAX_HEAD_BYTES
from ledger_cli.processes import Processes

pytestmark = pytest.mark.e2e

PROBLEM = b"content-type: application/problem+json"


def _address(system: Processes) -> tuple[str, int]:
    host, port = system.base_url.removeprefix("http://").split(":")
    return host, int(port)


async def _exchange(system: Processes, head: bytes, body: bytes = b"", *, timeout: float = 10) -> bytes:
    """Send ``head`` (and ``body``, as far as the server lets it be written); what the server answered."""
    reader, writer = await asyncio.open_connection(*_address(system))
    try:
        writer.write(head)
        if body:
            writer.write(body)
        try:
            await writer.drain()
        except ConnectionError:
            pass  # the server answered and closed before the body was all sent: what these tests want
        return await asyncio.wait_for(_answer(reader), timeout=timeout)
    finally:
        writer.close()


async def _answer(reader: asyncio.StreamReader) -> bytes:
    """One response, read whole by its Content-Length (b"" if the connection closed first)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        return exc.partial
    length = next(
        (int(line.split(b":")[1]) for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")), 0
    )
    return head + await reader.readexactly(length)


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def _document(answer: bytes) -> dict[str, object]:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert PROBLEM in head.lower(), answer[:400]
    doc: dict[str, object] = json.loads(body)
    return doc


async def test_a_body_announced_over_the_bound_is_refused_before_it_is_read(system: Processes) -> None:
    """No key, no body sent at all: the answer comes from the Content-Length alone (before: the gateway
    waited for the 30 MB, read and parsed them, then said 401)."""
    head = b"POST /v1/transfers HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % (
        30 * 1024 * 1024
    )
    answer = await _exchange(system, head, timeout=5)
    assert _status(answer) == 413 and b"connection: close" in answer.lower(), answer[:300]
    assert _document(answer)["code"] == "payload_too_large"


async def test_a_body_at_the_bound_is_read_and_one_byte_more_is_refused(system: Processes) -> None:
    token = system.settings.service_api_key.get_secret_value()
    async with httpx.AsyncClient(base_url=system.base_url, timeout=30) as http:
        wallet = await http.post(
            "/v1/wallets",
            json={"owner_id": "edge", "currencies": ["USD"]},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"edge-{time.time_ns()}"},
        )
        assert wallet.status_code == 201, wallet.text
        body = json.dumps({"wallet": wallet.json()["wallet_id"], "amount": 1, "currency": "USD"}).encode()
        for size, status in ((MAX_BODY_BYTES, 200), (MAX_BODY_BYTES + 1, 413)):
            padded = body + b" " * (size - len(body))  # whitespace after the document is valid JSON
            r = await http.post(
                "/v1/deposits",
                content=padded,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Idempotency-Key": f"edge-{size}-{time.time_ns()}",
                    "content-type": "application/json",
                },
            )
            assert r.status_code == status, (size, r.text[:300])


async def test_a_chunked_body_is_refused_once_it_passes_the_bound(system: Processes) -> None:
    reader, writer = await asyncio.open_connection(*_address(system))
    try:
        writer.write(b"POST /v1/deposits HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n")
        writer.write(b"transfer-encoding: chunked\r\n\r\n")
        chunk = b"a" * 65536
        for _ in range(MAX_BODY_BYTES // len(chunk) + 1):  # one past the bound, then wait for the answer
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
        answer = await asyncio.wait_for(_answer(reader), timeout=10)
    finally:
        writer.close()
    assert _status(answer) == 413, answer[:300]
    assert _document(answer)["code"] == "payload_too_large"


def _head_with(total: int) -> bytes:
    """``GET /healthz`` whose target and header lines count exactly ``total`` bytes (edge.BoundedHttpTools)."""
    target, host = b"/healthz", b"host: x"
    pad = total - len(target) - (len(host) + 2) - len(b"x-pad: \r\n")
    return b"GET " + target + b" HTTP/1.1\r\n" + host + b"\r\nx-pad: " + b"p" * pad + b"\r\n\r\n"


async def test_a_head_at_the_bound_is_served_and_one_byte_more_is_431(system: Processes) -> None:
    assert _status(await _exchange(system, _head_with(MAX_HEAD_BYTES))) == 200
    answer = await _exchange(system, _head_with(MAX_HEAD_BYTES + 1))
    assert _status(answer) == 431 and _document(answer)["code"] == "headers_too_large", answer[:300]


async def test_a_header_that_never_ends_is_refused_as_it_arrives(system: Processes) -> None:
    """A header still growing past the bound is refused without waiting for its end (before: an 8 MB header
    was read whole, then answered 401). Sent all at once, the 8 MB make the server reset the connection
    under the sender after its 431; either way it serves on."""
    start = b"POST /v1/transfers HTTP/1.1\r\nHost: x\r\nx-big: "
    answer = await _exchange(system, start + b"b" * (MAX_HEAD_BYTES + 1024))  # unfinished: no line end
    assert _status(answer) == 431 and _document(answer)["code"] == "headers_too_large", answer[:300]
    try:
        answer = await _exchange(system, start + b"b" * (8 * 1024 * 1024))
        assert not answer or _status(answer) == 431, answer[:300]
    except ConnectionError:
        pass
    async with httpx.AsyncClient(base_url=system.base_url) as http:
        assert (await http.get("/healthz")).status_code == 200


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        pytest.param(b"GET /v1/wallets/" + b"A" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 431, id="100 kB path"),
        pytest.param(
            b"GET /v1/currencies HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n", 400, id="control char in header"
        ),
        pytest.param(b"GET /v1/wallets/a\x00b HTTP/1.1\r\nHost: x\r\n\r\n", 400, id="raw NUL in path"),
    ],
)
async def test_what_the_http_parser_refuses_is_a_problem_document(
    system: Processes, request_bytes: bytes, status: int
) -> None:
    answer = await _exchange(system, request_bytes)
    assert _status(answer) == status, answer[:300]
    assert _document(answer)["status"] == status


async def test_no_redirect_is_built_from_the_callers_headers(system: Processes) -> None:
    """Starlette answered ``GET /v1/wallets/`` with a 307 to ``https://evil.example/v1/wallets``."""
    token = system.settings.service_api_key.get_secret_value()
    async with httpx.AsyncClient(base_url=system.base_url, timeout=30) as http:
        for path in ("/v1/wallets/", "/v1/currencies/"):
            r = await http.get(
                path,
                headers={"Authorization": f"Bearer {token}", "Host": "evil.example", "X-Forwarded-Proto": "https"},
            )
            assert r.status_code == 404 and "location" not in r.headers, (path, r.status_code, r.headers)
            assert r.headers["content-type"] == "application/problem+json"


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def _push(system: Processes, size: int) -> bytes:
    """Announce ``size`` bytes of body with no key and send them as fast as the server takes them, as an
    attacker would; what came back (the 413, or nothing if the connection was reset under the sending)."""
    reader, writer = await asyncio.open_connection(*_address(system))
    head = b"POST /v1/transfers HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
    writer.write(head % size)
    block, sent = b"[" * 65536, 0
    try:
        while sent < size:
            writer.write(block)
            await writer.drain()
            sent += len(block)
        return await asyncio.wait_for(_answer(reader), timeout=10)
    except ConnectionError:
        return b""
    finally:
        writer.close()


async def test_memory_stays_flat_while_twenty_30_mb_bodies_are_refused(system: Processes) -> None:
    pid = system.pid("gateway")
    assert pid is not None
    before, peak, done = _rss(pid), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss(pid))
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        answers = await asyncio.gather(*(_push(system, 30 * 1024 * 1024) for _ in range(20)))
    finally:
        done.set()
        sampler.join()
    assert all(_status(a) == 413 for a in answers if a), [a[:60] for a in answers]
    grown = peak[0] - before
    print(
        f"gateway RSS {before / 2**20:.1f} MiB before, peak {peak[0] / 2**20:.1f} MiB (+{grown / 2**20:.2f} MiB);"
        f" {sum(1 for a in answers if a)} of 20 read the 413, the others were reset while sending"
    )
    assert grown < 10 * 2**20, f"the gateway grew {grown / 2**20:.1f} MiB"
