"""The command routes at fixed paths, found by one dictionary lookup instead of the router's walk.

Most of the gateway's traffic is the catalogue's writes at fixed paths (``POST /v1/transfers``…). The router
tries every route's pattern in turn, through /v1's included routers, and FastAPI opens an exit stack per
request around it: about 5 % of the gateway's CPU per transfer (docs/benchmarks.md). :class:`CommandDispatch`
is the innermost of the app's own middleware, so the body limit, the request metrics and tracing still run
outside it; a ``(method, path)`` of such a route goes to the route behind the app's exception handlers, as the
router would send it; anything else (a path with parameters, another route, a 404) goes on to the router.

The table holds a route only where the router itself would pick it first (:func:`fixed_routes`), so a route
declared ahead of it for the same method and path keeps its precedence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from starlette._utils import is_async_callable
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from http_gateway.writes import CommandRoute

Table = Mapping[tuple[str, str], CommandRoute]


def fixed_routes(routes: Iterable[BaseRoute]) -> dict[tuple[str, str], CommandRoute]:
    """(method, path) -> the command route the router picks first for it, for every fixed command path."""
    ordered = list(routes)
    table: dict[tuple[str, str], CommandRoute] = {}
    for route in ordered:
        if not isinstance(route, CommandRoute) or route.param_convertors:
            continue
        method = route.plan.route.method
        probe: Scope = {"type": "http", "method": method, "path": route.path, "root_path": "", "fastapi": {}}
        first = next((r for r in ordered if r.matches(dict(probe))[0] is Match.FULL), None)
        if first is route:
            table[(method, route.path)] = route
    return table


class CommandDispatch:
    """Send a request for a command route at a fixed path straight to it; anything else to ``app``."""

    def __init__(self, app: ASGIApp, routes: Iterable[BaseRoute]) -> None:
        self.app = app
        self._routes = routes  # the app's live list: complete by the first request, when the table is built
        self._table: dict[tuple[str, str], CommandRoute] | None = None
        self._by_status: dict[int, Any] = {}  # Starlette's ExceptionHandler: for a request or a websocket
        self._by_kind: dict[type[BaseException], Any] = {}

    def _build(self, scope: Scope) -> dict[tuple[str, str], CommandRoute]:
        # The handlers the app's ExceptionMiddleware is given (FastAPI.build_middleware_stack): the app's, less
        # the server-error one, which the outermost ServerErrorMiddleware keeps for these requests too.
        for key, handler in scope["app"].exception_handlers.items():
            if isinstance(key, int):
                self._by_status[key] = handler
            elif key is not Exception:
                self._by_kind[key] = handler
        return fixed_routes(self._routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            table = self._table
            if table is None:
                table = self._table = self._build(scope)
            route = table.get((scope["method"], scope["path"]))
            if route is not None:
                # What the router puts in the scope when it matches the route.
                scope["router"] = scope["app"].router
                scope["route"], scope["endpoint"], scope["path_params"] = route, route.endpoint, {}
                await self._answer(route, scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _answer(self, route: CommandRoute, scope: Scope, receive: Receive, send: Send) -> None:
        """The route's answer, or the app's answer to what it raised, as Starlette's ExceptionMiddleware
        does it; without its wrappers around ``send``, as a command route sends nothing before it answers."""
        request = Request(scope, receive, send)
        try:
            response = await route.answer(request)
        except Exception as exc:
            handler = self._by_status.get(exc.status_code) if isinstance(exc, HTTPException) else None
            handler = handler or next((self._by_kind[k] for k in type(exc).__mro__ if k in self._by_kind), None)
            if handler is None:
                raise  # to the server-error middleware: a 500 problem document, and the server's log
            answered = await handler(request, exc) if is_async_callable(handler) else handler(request, exc)
            exc.__traceback__ = None  # an exception instance raised again would pile up tracebacks
            if answered is None:
                return
            response = answered
        await response(scope, receive, send)
