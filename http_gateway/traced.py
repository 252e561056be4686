"""A server span per HTTP request, installed only when tracing is on (ledger_common/tracing.py).

Pure ASGI rather than Starlette's ``BaseHTTPMiddleware``: the route runs in this task, so the span is
the current one where the command is published (http_gateway/bus.py injects it into the message) and
where log lines are written. An incoming ``traceparent`` (and ``tracestate``) makes it a child of the
caller's span. Named by the route template (``POST /v1/transfers``), known once routing has run.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger_common import tracing

_TRACE_HEADERS = (tracing.TRACEPARENT.encode(), tracing.TRACESTATE.encode())


class TraceRequests:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"] if k in _TRACE_HEADERS}
        span = tracing.tracer().start_span(
            method,
            context=tracing.extract(carrier),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": scope["path"]},
        )
        status = 500  # what the client gets if the app raises before it answers

        async def send_traced(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with trace.use_span(span, end_on_exit=True, record_exception=True, set_status_on_exception=True):
            try:
                await self.app(scope, receive, send_traced)
            finally:
                template = route_template(scope)
                if template:
                    span.update_name(f"{method} {template}")
                    span.set_attribute("http.route", template)
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(StatusCode.ERROR)


def route_template(scope: Scope) -> str | None:
    """The matched route's path template with its routers' prefixes (``/v1/transfers``), once routing ran."""
    # FastAPI keeps included routers unflattened: ``scope["route"]`` is the route as its router declared
    # it (``/transfers``); the prefixed template is on the route context FastAPI matched.
    effective = (scope.get("fastapi") or {}).get("effective_route_context")
    path = getattr(effective, "path", None) or getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else None
