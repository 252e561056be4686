"""Composition root of the gateway: FastAPI app with its pool and command bus."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response

from contracts import asyncapi
from contracts.http import Readiness
from http_gateway import admin, api_docs, console, pages, problems
from http_gateway import metrics as gateway_metrics
from http_gateway.amounts import Currencies
from http_gateway.auth import authenticate, check_every_route_declares_a_scope
from http_gateway.bus import CommandBus
from http_gateway.deps import BusDep, PoolDep
from http_gateway.dispatch import CommandDispatch
from http_gateway.edge import BodyLimit
from http_gateway.keycache import KeyCache
from http_gateway.log_waiter import LogWaiter
from http_gateway.routes import (
    accounts,
    commands,
    currencies,
    flows,
    history,
    holds,
    intents,
    log,
    me,
    operations,
    recon,
    transactions,
    wallets,
)
from http_gateway.streamed import streamed_routes
from http_gateway.writes import PREFIX, check_command_routes, command_routes
from ledger_common import metrics, probes, tracing
from ledger_common.db import create_pool
from ledger_common.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.uploads = 0  # statement uploads being received (routes/recon.py, GATEWAY_MAX_UPLOADS)
        app.state.currencies = Currencies()
        app.state.pool = await create_pool(settings.database_url.get_secret_value(), size=settings.db_pool_size)
        app.state.keys = KeyCache(settings.database_url.get_secret_value(), enabled=settings.gateway_key_cache)
        await app.state.keys.start()
        app.state.log_waiter = LogWaiter(settings.database_url.get_secret_value())  # GET /v1/events?wait=
        app.state.bus = CommandBus(settings)
        await app.state.bus.start()
        metrics.watch_pool(app.state.pool)
        probe_port = await _probes(settings, app)
        try:
            yield
        finally:
            if probe_port is not None:
                await probe_port.close()
            await app.state.keys.close()
            await app.state.log_waiter.close()
            await app.state.bus.close()
            await app.state.pool.close()

    app = FastAPI(
        title="Ledger",
        version="1",
        lifespan=lifespan,
        description="Double-entry ledger: writes are idempotent commands, reads come from PostgreSQL.",
        # FastAPI's own OpenTelemetry spans off: http_gateway/traced.py makes the one server span per request
        # (FastAPI's was a second, unlinked one, its http.route without the /v1 prefix), and its exception logs
        # would bypass the redaction of ledger_common/logs.py.
        telemetry={"tracing": False, "operation_spans": False, "logs": False},
        # No 307 from /v1/wallets/ to /v1/wallets: Starlette builds that Location from the request's Host
        # and X-Forwarded-Proto, which the caller writes. A path with a trailing slash is a 404 like any other.
        redirect_slashes=False,
        # /docs is ours (http_gateway/api_docs.py): FastAPI's /docs and /redoc load their scripts from CDNs.
        docs_url=None,
        redoc_url=None,
    )
    problems.install(app)
    # Innermost of our middleware (added first): a write to a fixed command path goes straight to its route.
    app.add_middleware(CommandDispatch, routes=app.routes)
    gateway_metrics.install(app, enabled=settings.metrics_enabled)  # GET /metrics, outside /v1 and the schema
    api_docs.install(app)  # GET /docs: Swagger UI from installed files, nothing from elsewhere
    console.install(app)  # GET /console: static files that call /v1 with the key pasted; outside the schema
    if tracing.ENABLED:  # off: not even installed (docs/observability.md#tracing)
        from http_gateway.traced import TraceRequests

        app.add_middleware(TraceRequests)
    # Authentication for all of /v1 (401 before anything else); each route adds its scope (403).
    # Every error a route can answer is declared once per kind of route, as a problem document.
    dependencies = [Depends(authenticate), Depends(pages.known_query), Depends(pages.strict_body)]
    answers = problems.problem_responses(401, 403, 413, 422, 429, 431, 500, 503)
    # Every route may answer 400 (a bad Idempotency-Key or cursor), 404 and 409 (refusals, missing objects).
    each = problems.problem_responses(400, 404, 409)
    # The command routes (every write of the catalogue, http_gateway/writes.py) are the app's own, ahead of
    # /v1's routers: they are most of the traffic, and matching a route through two levels of included
    # routers cost more CPU than the rest of the request. They declare what /v1 and its routers declare.
    app.router.routes.extend(command_routes(dependencies=dependencies, responses={**answers, **each}))
    v1 = APIRouter(prefix=PREFIX, dependencies=dependencies, responses=answers)
    # ``me`` comes before ``wallets``: "/wallets/me" must not be read as a wallet reference.
    routers = (me, currencies, wallets, accounts, transactions, holds, intents, history, flows, commands, admin)
    for module in (*routers, log, operations, recon):
        v1.include_router(module.router, responses=each)
    app.include_router(v1)
    check_every_route_declares_a_scope(app.routes)
    check_command_routes(app.routes)
    # Outermost (added last): a body over the bound is refused before anything reads it; a route that
    # declares a bound of its own (a statement upload, http_gateway/streamed.py) is found among the routes.
    app.add_middleware(BodyLimit, streamed=streamed_routes(app.routes))

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            app.openapi_schema = problems.add_problem_schemas(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    # Public like /openapi.json: the AMQP side of the interface, with this deployment's namespace.
    @app.get("/asyncapi.json", include_in_schema=False)
    async def asyncapi_document() -> Response:
        return Response(asyncapi.render(settings.topology), media_type="application/json")

    # Public on purpose: probes carry no credentials and these reveal nothing.
    @app.get("/healthz", operation_id="system.health")
    async def healthz() -> dict[str, str]:
        """Liveness: the process is serving."""
        return {"status": "ok"}

    @app.get(
        "/readyz",
        operation_id="system.ready",
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "Not ready"}},
    )
    async def readyz(pool: PoolDep, bus: BusDep) -> JSONResponse:
        """Readiness: PostgreSQL answers and the broker connection is open."""
        database = await _database_ok(pool)
        broker = bus.connected
        ok = database and broker
        return JSONResponse(
            {"status": "ready" if ok else "unavailable", "database": database, "broker": broker},
            status_code=200 if ok else 503,
        )

    return app


async def _probes(settings: Settings, app: FastAPI) -> probes.ProbeServer | None:
    """``METRICS_PORT``: the same /metrics, /livez and /readyz as the worker's, on a port of their own."""

    async def live() -> tuple[bool, dict[str, object]]:
        return True, {}  # the loop answered

    async def ready() -> tuple[bool, dict[str, object]]:
        database, broker = await _database_ok(app.state.pool), app.state.bus.connected
        return database and broker, {"database": database, "broker": broker}

    return await probes.serve(settings.metrics_host, settings.metrics_port, live=live, ready=ready)


async def _database_ok(pool: PoolDep) -> bool:
    try:
        return bool(await pool.fetchval("SELECT 1", timeout=2))
    except Exception:
        return False
