"""A minimal HTTP/1.1 client for the ``http`` scenario: one keep-alive connection, one request at a time.

Why not httpx: it spends about a millisecond of CPU per request here (and its pool looks at every
connection on every request), so at 1,500 requests/s the load generator alone would need two
cores on a two-core machine. This client does only what the bench needs: POST a JSON body, read
the status and the body (``Content-Length`` or chunked), keep the connection open unless the
server says ``Connection: close``. Any transport problem is a :class:`TransportError`; the caller
retries it with the same ``Idempotency-Key``, as a careful client does.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from contracts.errors import Unavailable

MAX_HEADER = 64 * 1024


class TransportError(Unavailable):
    """The request may or may not have reached the server: connection refused, cut, or timed out."""


class Connection:
    """One connection to ``base_url`` (``http://host:port``), opened on first use and after a close."""

    def __init__(self, base_url: str, headers: dict[str, str], timeout: float) -> None:
        url = urlsplit(base_url)
        if url.scheme != "http" or url.hostname is None:
            raise ValueError(f"the bench's HTTP client speaks plain http only, not {base_url!r}")
        self._host, self._port = url.hostname, url.port or 80
        fixed = {"Host": f"{self._host}:{self._port}", "Content-Type": "application/json", **headers}
        self._fixed = "".join(f"{k}: {v}\r\n" for k, v in fixed.items())
        self._timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """POST ``body`` (JSON) to ``path``; returns (status, response body)."""
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        head = f"POST {path} HTTP/1.1\r\n{self._fixed}{extra}Content-Length: {len(body)}\r\n\r\n"
        try:
            async with asyncio.timeout(self._timeout):
                reader, writer = await self._open()
                writer.write(head.encode("latin-1") + body)
                status, close, payload = await _response(reader)
        except (OSError, EOFError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            await self.close()
            raise TransportError(type(exc).__name__) from exc
        except TimeoutError as exc:
            await self.close()
            raise TransportError("Timeout") from exc
        if close:
            await self.close()
        return status, payload

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port, limit=MAX_HEADER)
        return self._reader, self._writer

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass  # already reset by the server; closing is all we wanted


async def _response(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    """Read one response: (status, whether the server closes the connection, body)."""
    block = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = block.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
    close = headers.get("connection", "").lower() == "close"
    if "content-length" in headers:
        return status, close, await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding", "").lower() == "chunked":
        return status, close, await _chunked(reader)
    if close:  # no length: the body runs until the server closes the connection
        return status, close, await reader.read()
    return status, close, b""


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readline()).split(b";")[0], 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b""):  # trailers, then the blank line
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
