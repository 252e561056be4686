"""A process's own small HTTP port (``METRICS_PORT``): ``/metrics``, ``/livez`` and ``/readyz``.

The worker and the relay have no web framework, and need none for three GET routes: this is
``asyncio.start_server`` answering one HTTP/1.1 request per connection (``Connection: close``), with
bounded reads and a timeout, so a garbage or stalled client costs a socket and nothing else.

- ``/livez``: 200 while the event loop answers (this handler runs on it) and the process's work is not
  stalled (:class:`Progress`); 503 tells an orchestrator to restart a wedged process.
- ``/readyz``: 200 while the database and the broker are usable (the process says how); else 503.
- ``/metrics``: the Prometheus text format of every metric of the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from http import HTTPStatus

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

log = logging.getLogger("ledger.probes")

#: What a check answers: healthy or not, and a few facts for the JSON body.
Check = Callable[[], Awaitable[tuple[bool, dict[str, object]]]]
#: What the process logs once it serves, with the port (``METRICS_PORT=0`` picks one).
SERVING_LINE = "metrics and probes on http://{host}:{port}"
_READ_TIMEOUT = 5.0
_MAX_HEADERS = 100
_LINE_LIMIT = 8192


class Progress:
    """Units of work (a batch) in flight and when each began: one running past a limit is a stall."""

    def __init__(self) -> None:
        self._started: dict[int, float] = {}
        self._next = 0

    @contextlib.contextmanager
    def working(self) -> Iterator[None]:
        token, self._next = self._next, self._next + 1
        self._started[token] = time.monotonic()
        try:
            yield
        finally:
            del self._started[token]

    def longest(self) -> float:
        """Seconds the oldest unit of work in flight has run (0: none in flight)."""
        return time.monotonic() - min(self._started.values()) if self._started else 0.0


class ProbeServer:
    """Serves ``/metrics``, ``/livez`` (``live``) and ``/readyz`` (``ready``) until closed."""

    def __init__(self, *, live: Check, ready: Check) -> None:
        self._checks = {"/livez": live, "/readyz": ready}
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port`` (0: any free port); returns the port."""
        self._server = await asyncio.start_server(self._serve, host, port, limit=_LINE_LIMIT)
        bound = int(self._server.sockets[0].getsockname()[1])
        log.info(SERVING_LINE.format(host=host, port=bound))
        return bound

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), timeout=2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        method = ""
        try:
            method, path = await asyncio.wait_for(_read_request(reader), timeout=_READ_TIMEOUT)
            status, content_type, body = await self._answer(method, path)
        except (TimeoutError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            status, content_type, body = HTTPStatus.BAD_REQUEST, "text/plain", b"bad request\n"
        except ConnectionError:
            writer.close()
            return
        head = (
            f"HTTP/1.1 {status.value} {status.phrase}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        try:
            writer.write(head.encode() + (b"" if method == "HEAD" else body))
            await asyncio.wait_for(writer.drain(), timeout=_READ_TIMEOUT)
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _answer(self, method: str, path: str) -> tuple[HTTPStatus, str, bytes]:
        if method not in ("GET", "HEAD"):
            return HTTPStatus.METHOD_NOT_ALLOWED, "text/plain", b"GET only\n"
        if path == "/metrics":
            return HTTPStatus.OK, CONTENT_TYPE_LATEST, generate_latest(REGISTRY)
        check = self._checks.get(path)
        if check is None:
            return HTTPStatus.NOT_FOUND, "text/plain", b"not found: /metrics, /livez, /readyz\n"
        try:
            ok, facts = await asyncio.wait_for(check(), timeout=_READ_TIMEOUT)
        except Exception as exc:  # a check that fails is an answer: not healthy
            ok, facts = False, {"error": type(exc).__name__}
        body = json.dumps({"status": "ok" if ok else "unavailable", **facts}).encode()
        return (HTTPStatus.OK if ok else HTTPStatus.SERVICE_UNAVAILABLE), "application/json", body


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str]:
    """The method and path of one request; its headers are read and dropped (no body is expected)."""
    parts = (await reader.readuntil(b"\n")).decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise ValueError("not an HTTP request line")
    for _ in range(_MAX_HEADERS):
        if (await reader.readuntil(b"\n")).strip() == b"":
            return parts[0], parts[1].split("?", 1)[0]
    raise ValueError("too many headers")


async def serve(host: str, port: int | None, *, live: Check, ready: Check) -> ProbeServer | None:
    """Start a :class:`ProbeServer` if ``port`` is set (``METRICS_PORT``); None otherwise."""
    if port is None:
        return None
    server = ProbeServer(live=live, ready=ready)
    await server.start(host, port)
    return server


async def every(seconds: float, refresh: Callable[[], Awaitable[None]], stop: asyncio.Event) -> None:
    """Run ``refresh`` now and then every ``seconds`` until ``stop``; a failure is logged and retried later."""
    while not stop.is_set():
        try:
            await refresh()
        except Exception as exc:  # the database or broker is away: the gauges keep their last value
            log.debug("metrics refresh failed: %s", type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)


async def database_ok(pool: object) -> bool:
    """``SELECT 1`` answers within 2 s."""
    try:
        return bool(await pool.fetchval("SELECT 1", timeout=2))  # type: ignore[attr-defined]
    except Exception:
        return False
