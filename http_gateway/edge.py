"""The gateway's edge: what is refused before a request reaches the app, as problem documents.

Two layers, each bounding what a caller can make the gateway hold in memory before its key is checked
(``contracts.bounds``):

- :class:`BoundedHttpTools`, uvicorn's HTTP/1.1 protocol counting the request line and headers as their
  bytes arrive: past ``MAX_HEAD_BYTES`` it answers 431 and closes the connection, so a header of
  megabytes is never buffered whole. Requests the parser itself refuses (a control character in a header,
  a NUL in the path) get a 400 problem document instead of uvicorn's plain text.
- :class:`BodyLimit`, ASGI middleware in front of everything: a body announced (``Content-Length``) or
  found (chunked) to be over ``MAX_BODY_BYTES`` is answered 413 without the app reading any of it (or the
  rest); past ``DRAIN_BYTES`` the connection is closed instead of reading the body on to drop it.
  FastAPI reads and parses a route's body before any dependency runs, the key check included, so this
  has to come first. A route that streams its body to disk (``http_gateway.streamed``: a statement
  upload) has a bound of its own, checked the same way, and its body is left for it to read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from contracts.bounds import MAX_BODY_BYTES, MAX_HEAD_BYTES
from contracts.errors import Rejected
from http_gateway.problems import PROBLEM_JSON, problem_document, problem_response
from http_gateway.streamed import StreamedBody, StreamedRoute, find

#: A body announced over the bound but at most this large is read on and dropped after the 413; the
#: connection is closed on a larger one.
DRAIN_BYTES = 16 * 1024 * 1024
#: Bytes of a request head the exact count leaves out, at most: a method, `` HTTP/1.1``, line ends.
_FRAMING = 64


class BodyLimit:
    """413 ``payload_too_large`` for a body over ``max_bytes`` (or over the bound a streamed route declares
    for itself, ``http_gateway.streamed``), before the app reads any of it."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, streamed: Sequence[StreamedRoute] = ()) -> None:
        self.app, self.max_bytes, self.streamed = app, max_bytes, tuple(streamed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = find(self.streamed, scope) if self.streamed else None
        limit = self.max_bytes if route is None else route.max_bytes
        length = _content_length(scope, limit)
        if length is not None and length > limit:
            # Up to 16 MiB, uvicorn reads the body on after the answer and drops it, so a client that
            # sends it all before reading gets the 413; more, and the connection is closed.
            await _too_large(scope, receive, send, limit, close=length > DRAIN_BYTES)
            return
        chunked = length is None and _chunked(scope)
        if route is not None:
            # The route reads its body itself, after the key and scope checks, as it streams it to disk:
            # nothing is read ahead of it here, a chunked body is counted as it goes.
            body = StreamedBody(receive, send, None if chunked else length or 0, limit, DRAIN_BYTES)
            await self.app(scope, body.receive, body.send)
            return
        if not chunked:
            await self.app(scope, receive, send)  # the parser never delivers more than announced
            return
        # A chunked body says its size only by ending: read it (up to the bound) before the app does.
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if size > limit:
                await _too_large(scope, receive, send, limit, close=True)  # a chunked body says no size to drain
                return
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        await self.app(scope, _replay(messages, receive), send)


def _content_length(scope: Scope, limit: int) -> int | None:
    """The announced length; one that is not a plain number counts as too large (the parser refuses most)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() and len(text) < 20 else limit + 1
    return None


def _chunked(scope: Scope) -> bool:
    return any(name == b"transfer-encoding" for name, _ in scope["headers"])


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int, *, close: bool) -> None:
    # ``Connection: close``: the unread rest of the body is never read (a client still sending it may see
    # the connection reset rather than this answer; ``Expect: 100-continue`` avoids sending it at all).
    headers = {"Connection": "close"} if close else None
    detail = f"the request body is larger than {limit} bytes"
    response = problem_response(413, "payload_too_large", detail, headers, limit=limit)
    await response(scope, receive, send)


class _Refused(Rejected):
    """A parser callback found the request over a bound. httptools raises it on as an
    ``HttpParserCallbackError``, which uvicorn answers with ``send_400_response``."""


class BoundedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bound on the request head and problem documents for what the
    HTTP parser refuses. Pass as ``uvicorn.run(..., http=BoundedHttpTools)``."""

    max_head_bytes = MAX_HEAD_BYTES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # reading a request line and headers (not a body)
        self._head_bytes = 0  # bytes received since this head began
        self._head_exact = 0  # bytes of its request line and headers, as parsed
        self._refusal: tuple[int, str, str] | None = None
        self._linger: int | None = None  # after a refusal: bytes still read (and dropped) before closing

    def data_received(self, data: bytes) -> None:
        if self._linger is not None:  # refused: what the client still sends is read and dropped
            self._linger -= len(data)
            if self._linger < 0:
                self.transport.close()
            return
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        # Headers still incomplete after this much: refuse now, whatever the parser has buffered (the
        # slack covers what the exact count below leaves out: the method, the version, line ends).
        over = self._head_bytes > self.max_head_bytes + _FRAMING
        if self._in_head and over and self._linger is None and not self.transport.is_closing():
            self._refusal = _HEAD_TOO_LARGE
            self.send_400_response("")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_exact = 0

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head, self._head_bytes = True, 0

    def _count(self, n: int) -> None:
        # Exact: the request target and the header lines (``name: value`` and its line end), as parsed.
        self._head_exact += n
        if self._head_exact > self.max_head_bytes:
            self._refusal = _HEAD_TOO_LARGE
            raise _Refused

    def send_400_response(self, msg: str) -> None:
        """What uvicorn calls when the parser refuses a request: a problem document, then close."""
        if self.transport.is_closing() or self._linger is not None:
            return
        status, code, detail = self._refusal or (400, "malformed_request", "the request is not valid HTTP/1.1")
        body = json.dumps(problem_document(status, code, detail)).encode()
        head = [
            f"HTTP/1.1 {status} {_REASONS[status]}".encode(),
            *(name + b": " + value for name, value in self.server_state.default_headers),
            f"content-type: {PROBLEM_JSON}".encode(),
            f"content-length: {len(body)}".encode(),
            b"connection: close",
        ]
        self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        # Lingering close, as web servers do: closing with the rest of the request unread would reset the
        # connection, and a client still sending would lose this answer. Half-close instead, drop what
        # still comes (a bounded amount, for a bounded time), and close when the client does.
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()
        self._linger = _LINGER_BYTES
        self.loop.call_later(_LINGER_SECONDS, self.transport.close)


_LINGER_BYTES = 1024 * 1024
_LINGER_SECONDS = 2.0
_HEAD_TOO_LARGE = (431, "headers_too_large", f"the request line and headers are larger than {MAX_HEAD_BYTES} bytes")
_REASONS = {400: "Bad Request", 431: "Request Header Fields Too Large"}
