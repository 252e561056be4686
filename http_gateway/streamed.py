"""Routes whose body is a file streamed to disk rather than a command read into memory (a statement upload).

Such a route declares its own body bound once, in its ``openapi_extra`` (:func:`streamed_body`, with a
number from ``contracts.bounds``), where clients read it too (``x-max-body-bytes``). From that declaration
:class:`http_gateway.edge.BodyLimit` takes the route's bound instead of ``MAX_BODY_BYTES`` and, rather than
reading a chunked body ahead of the app, counts it as the route reads it (:class:`StreamedBody`);
``pages.strict_body`` leaves the body alone. Nothing reads the body before the route does, and the route
runs after its key and scope are checked: an unauthenticated upload is answered without being read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute, compile_path
from starlette.types import Message, Receive, Scope, Send

from http_gateway.problems import Problem

#: Where a route declares its bound (an OpenAPI extension: the published schema says it too).
BOUND_KEY = "x-max-body-bytes"


def streamed_body(max_bytes: int, description: str) -> dict[str, Any]:
    """A route's ``openapi_extra``: its body is any bytes, up to ``max_bytes``, streamed."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {
        "requestBody": {"required": True, "description": description, "content": {"application/octet-stream": binary}},
        BOUND_KEY: max_bytes,
    }


def bound_of(route: object) -> int | None:
    """The body bound a route declares for itself (None: the general one)."""
    if isinstance(route, APIRoute) and route.openapi_extra and BOUND_KEY in route.openapi_extra:
        return int(route.openapi_extra[BOUND_KEY])
    return None


@dataclass(frozen=True, slots=True)
class StreamedRoute:
    methods: frozenset[str]
    path: re.Pattern[str]
    max_bytes: int


def streamed_routes(routes: Sequence[BaseRoute]) -> tuple[StreamedRoute, ...]:
    """Every route of the app that declares a bound of its own, through included routers (read once,
    when the app is made)."""
    found = []
    for ctx in iter_route_contexts(routes):
        route, bound = ctx.original_route, bound_of(ctx.original_route)
        if bound is not None and isinstance(route, APIRoute):
            path = ctx.path or route.path
            found.append(StreamedRoute(frozenset(ctx.methods or ()), compile_path(path)[0], bound))
    return tuple(found)


def find(routes: Sequence[StreamedRoute], scope: Scope) -> StreamedRoute | None:
    """The streamed route ``scope`` is a request for, if it is one (matched as the router will)."""
    for route in routes:
        if scope["method"] in route.methods and route.path.match(scope["path"]):
            return route
    return None


class StreamedBody:
    """A streamed route's body as the route reads it: counted against the route's bound (a chunked body
    says no size up front: 413 once it passes it), and, when the answer comes before all of it did (a
    401, 403, 404 or 413), ``Connection: close`` unless at most ``drain`` bytes are left, which uvicorn
    reads on and drops to keep the connection."""

    def __init__(self, receive: Receive, send: Send, length: int | None, max_bytes: int, drain: int) -> None:
        self._receive, self._send, self.max_bytes, self.drain = receive, send, max_bytes, drain
        self.length = length
        self.size = 0
        self.complete = length == 0  # None: chunked, its end is to come

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.size += len(message.get("body", b""))
            self.complete = not message.get("more_body", False)
            if self.size > self.max_bytes:
                detail = f"the request body is larger than {self.max_bytes} bytes"
                raise Problem(413, "payload_too_large", detail, limit=self.max_bytes)
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start" and not self.complete:
            unread = None if self.length is None else self.length - self.size
            if unread is None or unread > self.drain:
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
        await self._send(message)
