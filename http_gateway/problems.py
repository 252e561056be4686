"""RFC 9457 problem documents and the exception handlers that turn every failure into one."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Sequence
from typing import Any

import aio_pika
import asyncpg
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from contracts.errors import Bug, LedgerError, NotFound, Rejected, Unavailable
from contracts.http import ProblemDocument
from ledger_common import amqp, db, tracing

log = logging.getLogger("http_gateway")

PROBLEM_JSON = "application/problem+json"


class Problem(Rejected):
    """Raise to answer with a problem document carrying a stable ``code`` (a 4xx: the request is refused)."""

    def __init__(
        self, status: int, code: str, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.extra = status, code, detail, extra
        self.headers = dict(headers or {})
        if status == 401:
            self.headers.setdefault("WWW-Authenticate", "Bearer")


def problem_document(status: int, code: str, detail: str, **extra: Any) -> dict[str, Any]:
    """The RFC 9457 document of a refusal, as JSON-ready data."""
    body = {
        "type": f"urn:ledger:problem:{code}",
        "title": code.replace("_", " "),
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return dict(jsonable_encoder(body))


def problem_response(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = problem_document(status, code, detail, **extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


_DESCRIPTIONS = {
    400: "Malformed request: body is not JSON, missing (`idempotency_key_required`) or invalid"
    " (`invalid_idempotency_key`) Idempotency-Key, a cursor this API did not issue (`invalid_cursor`)",
    401: "Missing, unknown or revoked bearer token (`unauthorized`)",
    403: "The key lacks the route's scope (`forbidden`), acts for another wallet or needs a key bound to none"
    " (`wrong_wallet`), or is not bound to a wallet on a `/wallets/me` route (`wallet_key_required`);"
    " key administration: a key or limits wider than the calling key's own (`wider_than_caller`, with"
    " `wider` naming the fields), a key changing its own limits (`own_limits`)",
    429: "The key's request rate is exceeded (`rate_limited`); retry after `Retry-After` seconds",
    404: "No such resource: `*_not_found` (`wallet_not_found`, `account_not_found`, `hold_not_found`,"
    " `intent_not_found`, `transaction_not_found`, `command_not_found`, …)",
    409: "Conflict: `*_exists`, `*_taken`, `idempotency_conflict`, `already_reversed`; a refusal carries `result`",
    422: "Invalid request (`validation_error`, `invalid_amount` with `field`) or a business refusal"
    " (`insufficient_funds`, `account_frozen`, `exceeds_daily_amount`, …) carrying the recorded `result`",
    500: "An error of ours (`internal_error`): not retried, report it quoting the `trace_id`, which names the"
    " logged traceback; the body says nothing more",
    503: "A backing service is unavailable (`service_unavailable`); retry after `Retry-After` seconds",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries declaring problem documents for ``statuses``."""
    schema = {"$ref": "#/components/schemas/ProblemDocument"}
    return {s: {"description": _DESCRIPTIONS[s], "content": {PROBLEM_JSON: {"schema": schema}}} for s in statuses}


def add_problem_schemas(openapi: dict[str, Any]) -> dict[str, Any]:
    """Put ``ProblemDocument`` (and what it refers to) in the document's components.

    Routes refer to it from ``problem_responses``; FastAPI only collects schemas of response
    models, so it is added here. FastAPI's own 422 schemas are dropped once nothing refers to them.
    """
    definition = ProblemDocument.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(definition.pop("$defs", {}))
    schemas["ProblemDocument"] = definition
    paths = json.dumps(openapi.get("paths", {}))
    for unused in ("HTTPValidationError", "ValidationError"):
        if f'"#/components/schemas/{unused}"' not in paths:
            schemas.pop(unused, None)
    return openapi


IDEMPOTENCY_KEY = "Idempotency-Key"
#: Seconds a 503 asks the client to wait before retrying.
RETRY_AFTER = "1"


def invalid_request(raw: Sequence[Any]) -> JSONResponse:
    """A request that failed validation: 400 for its Idempotency-Key, 422 ``invalid_amount`` for an
    amount written as a float or a malformed string, else 422 ``validation_error``; always with ``errors``."""
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in raw]
    for e in errors:
        if e["loc"][:2] == ["header", IDEMPOTENCY_KEY]:
            if e["type"] == "missing":
                return problem_response(400, "idempotency_key_required", "writes need an Idempotency-Key header")
            return problem_response(
                400, "invalid_idempotency_key", "Idempotency-Key: 1-128 of A-Z a-z 0-9 . _ : -", errors=[e]
            )
    amounts = [e for e in errors if e["type"] == "invalid_amount"]
    if amounts:
        field = ".".join(str(part) for part in amounts[0]["loc"][1:])
        return problem_response(422, "invalid_amount", f"{field}: {amounts[0]['msg']}", field=field, errors=errors)
    return problem_response(422, "validation_error", "the request is not valid", errors=errors)


_HTTP_CODES = {
    400: "malformed_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    431: "headers_too_large",
    429: "rate_limited",
    415: "unsupported_media_type",
}


def _allowed(request: Request) -> list[str]:
    """Every method of every route on the request's path. Starlette's own ``Allow`` names only the first
    route that matches the path, and one path may have several (``GET`` and ``POST /v1/currencies``)."""
    methods: set[str] = set()
    for ctx in iter_route_contexts(request.app.routes):
        if ctx.path and ctx.methods and compile_path(ctx.path)[0].match(request.url.path):
            methods.update(ctx.methods)
    return sorted(methods)


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return invalid_request(exc.errors())

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        # Keep the exception's headers: a 405 must say which methods are allowed (``Allow``).
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(_allowed(request))
        return problem_response(exc.status_code, code, str(exc.detail), headers)

    # Our tree (``Problem`` included) and the drivers' errors are answered by the exception middleware;
    # anything else reaches Starlette's server-error middleware, which answers the same way, then re-raises
    # it for the server's own log.
    kinds: tuple[type[Exception], ...] = (LedgerError, *_DRIVER_ERRORS, Exception)
    for kind in kinds:
        app.add_exception_handler(kind, _error)


#: Errors of the drivers the gateway calls (and of sockets under them), mapped by ``classify``.
_DRIVER_ERRORS: tuple[type[Exception], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    aio_pika.exceptions.AMQPError,
    aio_pika.exceptions.ChannelInvalidStateError,
    OSError,
)


#: What aio-pika raises; any other driver or socket error of a route is the database's (the bus names its own).
_BROKER_ERRORS = (aio_pika.exceptions.AMQPError, aio_pika.exceptions.ChannelInvalidStateError)


def classify(exc: BaseException) -> LedgerError:
    """The tree's name for any exception a route let out: an aio-pika error as the broker sees it, anything
    else as the database does (a non-transient asyncpg error, and anything that is no driver error, is a ``Bug``)."""
    return amqp.classify(exc) if isinstance(exc, _BROKER_ERRORS) else db.classify(exc)


async def _error(request: Request, exc: Exception) -> JSONResponse:
    return error_response(request, exc)


def error_response(request: Request, exc: BaseException) -> JSONResponse:
    """``Unavailable`` is 503 with ``Retry-After``; ``Rejected`` its 4xx with its code and message;
    anything else 500 ``internal_error`` with a fresh ``trace_id``, logged with the traceback at ERROR.
    A 500 body never carries the exception's text: it may hold SQL, data or a secret."""
    error = classify(exc)
    if isinstance(error, Problem):
        return problem_response(error.status, error.code, error.detail, error.headers or None, **error.extra)
    if isinstance(error, Unavailable):
        cause = error.__cause__ or error
        log.warning("dependency unavailable: %s (%s)", type(error).__name__, type(cause).__name__)
        return problem_response(
            503, Unavailable.code, "a backing service is unavailable; retry", {"Retry-After": RETRY_AFTER}
        )
    if isinstance(error, Rejected):  # a Problem brings its status; other refusals are 404 or 422
        status = 404 if isinstance(error, NotFound) else 422
        return problem_response(status, error.code, str(error) or error.code.replace("_", " "))
    # The request's trace when tracing is on, so the id a client quotes also finds its spans.
    ids = tracing.current_ids()
    trace_id = ids[0] if ids is not None else secrets.token_hex(16)
    log.error(
        "internal error trace_id=%s on %s %s: %s",
        trace_id,
        request.method,
        request.url.path,
        type(exc).__name__,
        exc_info=exc,
        extra={"trace_id": trace_id},
    )
    return problem_response(500, Bug.code, "an unexpected error; report it quoting trace_id", trace_id=trace_id)
