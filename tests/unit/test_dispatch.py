"""The command routes at fixed paths are found by lookup (http_gateway/dispatch.py) exactly as the router would
find them: every one of the catalogue's, never one a route declared ahead of it should answer, and behind the
same exception handlers and request metrics."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute

from contracts.catalogue import COMMANDS
from http_gateway.amounts import Currencies
from http_gateway.app import create_app
from http_gateway.dispatch import fixed_routes
from ledger_common import metrics
from ledger_common.settings import Settings


def _app() -> FastAPI:
    settings = Settings()
    app = create_app(settings)  # built, not started: the state a command route reads before the key check
    app.state.settings, app.state.currencies, app.state.pool, app.state.keys, app.state.bus = (
        settings,
        Currencies(),
        None,
        None,
        None,
    )
    return app


def _post(app: FastAPI, path: str) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway") as client:
            return await client.post(path, json={"amount": 1}, headers={"Idempotency-Key": "k-1"})

    return asyncio.run(go())


def test_every_fixed_command_path_of_the_catalogue_is_looked_up() -> None:
    declared = {(r.method, r.path) for spec in COMMANDS for r in spec.routes if "{" not in r.path}
    assert declared  # POST /v1/transfers…
    assert set(fixed_routes(create_app(Settings()).routes)) == declared


def test_a_route_declared_ahead_of_a_command_route_keeps_its_path() -> None:
    app = _app()

    async def shadow() -> dict[str, bool]:
        return {"shadow": True}

    app.router.routes.insert(0, APIRoute("/v1/transfers", shadow, methods=["POST"]))
    assert ("POST", "/v1/transfers") not in fixed_routes(app.routes)
    assert ("POST", "/v1/deposits") in fixed_routes(app.routes)
    answer = _post(app, "/v1/transfers")
    assert (answer.status_code, answer.json()) == (200, {"shadow": True})


def test_a_looked_up_route_answers_behind_the_exception_handlers_and_is_counted() -> None:
    metrics.configure(True)
    series = metrics.HTTP_REQUESTS.labels("POST", "/v1/transfers", "401")
    before = series._value.get()
    answer = _post(_app(), "/v1/transfers")  # no key: the route raises, the app's handler answers
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "unauthorized"
    assert series._value.get() == before + 1  # counted under its template, as when the router found it


def test_what_no_handler_answers_is_the_server_errors_500_problem_document() -> None:
    app = _app()  # no bus: a valid request as the service key fails on it, an error of ours

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app, raise_app_exceptions=False)  # it is re-raised for the server's log
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            token = app.state.settings.service_api_key.get_secret_value()
            body = {"debit_account_id": str(uuid.uuid4()), "credit_account_id": str(uuid.uuid4()), "amount": 5}
            headers = {"Idempotency-Key": "k-2", "Authorization": f"Bearer {token}"}
            return await client.post("/v1/transfers", json={**body, "currency": "USD"}, headers=headers)

    answer = asyncio.run(go())
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "internal_error"
