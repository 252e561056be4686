"""The command routes at fixed paths, found by one dictionary lookup instead of the router's walk.

Most of the gateway's traffic is the catalogue's writes at fixed paths (``POST /v1/transfers``…). The router
tries every route's pattern in turn, through /v1's included routers, and FastAPI opens an exit stack per
request around it: about 6 % of the gateway's CPU per transfer (docs/benchmarks.md). :class:`CommandDispatch`
is the innermost of the app's own middleware, so the body limit, the request metrics and tracing still run
outside it; a ``(method, path)`` of such a route goes to the route behind the app's exception handlers, as the
router would send it; anything else (a path with parameters, another route, a 404) goes on to the router.

The table holds a route only where the router itself would pick it first (:func:`fixed_routes`), so a route
declared ahead of it for the same method and path keeps its precedence.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from http_gateway.writes import CommandRoute


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
        self._table: dict[tuple[str, str], tuple[CommandRoute, ASGIApp]] | None = None

    def _build(self, scope: Scope) -> dict[tuple[str, str], tuple[CommandRoute, ASGIApp]]:
        fastapi_app: Any = scope["app"]
        # What the app's ExceptionMiddleware is given (FastAPI.build_middleware_stack): its handlers less the
        # server-error one, which the outermost ServerErrorMiddleware keeps for this request too.
        handlers = {k: v for k, v in fastapi_app.exception_handlers.items() if k not in (500, Exception)}
        return {
            key: (route, ExceptionMiddleware(route.app, handlers=handlers, debug=fastapi_app.debug))
            for key, route in fixed_routes(self._routes).items()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            table = self._table
            if table is None:
                table = self._table = self._build(scope)
            found = table.get((scope["method"], scope["path"]))
            if found is not None:
                route, guarded = found
                # What the router puts in the scope when it matches the route.
                scope["router"] = scope["app"].router
                scope["route"], scope["endpoint"], scope["path_params"] = route, route.endpoint, {}
                await guarded(scope, receive, send)
                return
        await self.app(scope, receive, send)
