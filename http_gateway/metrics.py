"""The gateway's metrics: requests by route template and status, and ``GET /metrics``.

Requests are counted by a plain ASGI middleware (cheaper than a ``BaseHTTPMiddleware``, which wraps
every response in a stream); the route is the full template of the route Starlette matched (``scope["route"]``), so
``/v1/wallets/@alice`` and ``/v1/wallets/@bob`` are one series, and an unmatched path is one value.

``GET /metrics`` on the public port needs a key with the ``read`` scope bound to no wallet (such a key can
already read everything the counts summarise; a wallet-bound key cannot, and gets 403). With
``METRICS_PORT`` set, the same metrics are also served without credentials on that port, bound to
``METRICS_HOST``, for a scraper on a private network (docs/security.md, "Metrics").
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response
from fastapi.routing import iter_route_contexts
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts.keys import Scope as KeyScope
from http_gateway.auth import UNBOUND, require
from ledger_common import metrics


class RequestMetrics:
    """Counts every HTTP request once it is answered: method, route template, status, duration."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._templates: dict[int, str] | None = None
        # The labelled series by their labels: ``labels()`` takes a lock and builds a key each time.
        self._counted: dict[tuple[str, str, int], Any] = {}
        self._timed: dict[tuple[str, str], Any] = {}

    def _template(self, scope: Scope) -> str:
        """The full template of the route that matched: an included router's route knows only its own
        part (``/wallets/{wallet}``), so the app's route contexts give the prefix (routes are fixed by now)."""
        route = scope.get("route")
        if route is None:
            return metrics.UNMATCHED_ROUTE
        if self._templates is None:
            contexts = iter_route_contexts(scope["app"].routes)
            self._templates = {
                id(c.original_route): str(c.path or getattr(c.original_route, "path", "")) for c in contexts
            }
        return self._templates.get(id(route)) or getattr(route, "path", None) or metrics.UNMATCHED_ROUTE

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before it answers

        async def counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counted)
        finally:
            method = scope["method"] if scope["method"] in metrics.METHODS else "other"
            route = self._template(scope)
            counted_series = self._counted.get((method, route, status))
            if counted_series is None:
                counted_series = self._counted[(method, route, status)] = metrics.HTTP_REQUESTS.labels(
                    method, route, str(status)
                )
            timed = self._timed.get((method, route))
            if timed is None:
                timed = self._timed[(method, route)] = metrics.HTTP_SECONDS.labels(method, route)
            counted_series.inc()
            timed.observe(time.perf_counter() - started)


router = APIRouter()


@router.get("/metrics", include_in_schema=False, dependencies=[require(KeyScope.READ), UNBOUND])
async def metrics_endpoint() -> Response:
    """Prometheus text format of the gateway's metrics."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def install(app: FastAPI, *, enabled: bool) -> None:
    """Count requests and serve ``/metrics`` (``METRICS_ENABLED``); nothing at all when disabled."""
    metrics.configure(enabled)
    if enabled:
        app.add_middleware(RequestMetrics)
        app.include_router(router)
