"""Writes: every write becomes one idempotent command, sent to the worker, whose reply is the answer.

The ``Idempotency-Key`` header is the command id and ``principal.name`` says who asked. The worker's
``CommandResult`` comes back as 200/201 (``Idempotent-Replayed`` says whether it was recorded
earlier); a refusal is a problem document whose ``code`` is the refusal and which carries the
result. A reply that does not come within ``REPLY_TIMEOUT_SECONDS`` (a slow worker, or a reply lost with a
broker node) is looked for in the recorded outcomes until then (http_gateway/outcomes.py); none: 202 and a
``Location`` to poll.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Protocol, TypeVar

import asyncpg
from fastapi import APIRouter, Depends, Header
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import ValidationError
from starlette.routing import BaseRoute

from contracts.base import Contract
from contracts.catalogue import COMMANDS, SPECS
from contracts.commands import build_command
from contracts.http import Pending
from contracts.ids import RESERVED_COMMAND_PREFIXES
from contracts.keys import Scope
from contracts.results import CommandResult, refusal_status
from http_gateway import outcomes
from http_gateway.amounts import Currencies
from http_gateway.auth import UNBOUND, Principal, require, required_scope
from http_gateway.bus import CommandBus
from http_gateway.deps import BusDep, CurrenciesDep, PoolDep, SettingsDep
from http_gateway.problems import IDEMPOTENCY_KEY, Problem, problem_response
from ledger_common.logs import COMMAND_ID
from ledger_common.settings import Settings

C = TypeVar("C", bound=Contract)

IdempotencyKey = Annotated[
    str,
    Header(
        alias=IDEMPOTENCY_KEY,
        pattern=r"^[A-Za-z0-9._:\-]{1,128}$",
        description="The command id: unique per intended write; a retry reuses it and gets the recorded outcome.",
    ),
]


#: What every write route documents besides its problem documents.
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": CommandResult, "description": "Applied (or the recorded outcome of an earlier identical request)"},
    202: {
        "model": Pending,
        "description": "Accepted but not answered in time; the command is applied once, poll `Location`",
        "headers": {"Location": {"description": "`/v1/commands/{Idempotency-Key}`", "schema": {"type": "string"}}},
    },
}
CREATED: dict[int | str, dict[str, Any]] = {
    **RESPONSES,
    201: {"model": CommandResult, "description": "Created"},
}


#: OpenAPI extension naming the command type a write route sends.
COMMAND_EXTENSION = "x-ledger-command"
_PREFIX = "/v1"
F = TypeVar("F", bound=Callable[..., Any])


def command_route(router: APIRouter, kind: str, *, path: str | None = None, created: bool = False) -> Callable[[F], F]:
    """Declare the route that sends ``kind``, at the method and path its catalogue entry gives
    (``path`` picks one when the entry has several), documented with the command's outcomes.

    The route requires the command's scope (403 ``forbidden``) and, for a command only keys bound to no
    wallet may send, such a key (403 ``wrong_wallet``): early answers; the worker checks both again.
    """
    spec = SPECS[kind]
    routes = [r for r in spec.routes if path is None or r.path == _PREFIX + path]
    if len(routes) != 1 or spec.scope is None:
        raise RuntimeError(f"{kind}: the catalogue has {len(routes)} routes matching {path!r} for callers")
    route = routes[0]
    return router.api_route(
        route.path.removeprefix(_PREFIX),
        methods=[route.method],
        status_code=201 if created else 200,
        response_model=CommandResult,
        responses=CREATED if created else RESPONSES,
        openapi_extra={COMMAND_EXTENSION: kind},
        dependencies=[require(spec.scope)] + ([] if spec.bound else [UNBOUND]),
    )


def command_routes(routes: Sequence[BaseRoute]) -> dict[tuple[str, str], tuple[str, Scope | None]]:
    """(method, full path) -> (command type, scope required) of every route made by :func:`command_route`."""
    found: dict[tuple[str, str], tuple[str, Scope | None]] = {}
    for ctx in iter_route_contexts(routes):
        route = ctx.original_route
        kind = (route.openapi_extra or {}).get(COMMAND_EXTENSION) if isinstance(route, APIRoute) else None
        if isinstance(route, APIRoute) and kind is not None:
            found.update({(m, ctx.path or route.path): (kind, required_scope(route)) for m in ctx.methods or ()})
    return found


def check_command_routes(routes: Sequence[BaseRoute]) -> None:
    """Refuse an app whose command routes (paths, or the scope each requires) differ from the catalogue's."""
    declared: dict[tuple[str, str], tuple[str, Scope | None]] = {
        (r.method, r.path): (spec.type, spec.scope) for spec in COMMANDS for r in spec.routes
    }
    served = command_routes(routes)
    if served != declared:
        missing = sorted(f"{m} {p} ({k})" for (m, p), k in declared.items() if served.get((m, p)) != k)
        extra = sorted(f"{m} {p} ({k})" for (m, p), k in served.items() if declared.get((m, p)) != k)
        raise RuntimeError(f"command routes differ from contracts.catalogue: missing {missing}, not declared {extra}")


def contract(cls: type[C], **fields: Any) -> C:
    """Build a command payload from what a request gave; its own rules (one party of each pair,
    balanced legs, ...) answer 422 ``validation_error`` with the offending fields."""
    try:
        return cls.model_validate(fields)
    except ValidationError as exc:
        errors = [
            {"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]}
            for e in exc.errors(include_url=False, include_context=False, include_input=False)
        ]
        raise Problem(422, "validation_error", "the request is not valid", errors=errors) from None


def unstorable(value: object) -> bool:
    """A NUL or an unpaired surrogate anywhere in a payload's strings: PostgreSQL cannot store the one
    and JSON cannot carry the other, so the worker would dead-letter the command."""
    if isinstance(value, str):
        return "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, dict):
        return any(unstorable(k) or unstorable(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(unstorable(v) for v in value)
    return False


class Priced(Protocol):
    """A request body with an amount in minor units or a decimal string, and its currency."""

    @property
    def currency(self) -> str: ...

    @property
    def amount(self) -> int | str: ...

    def model_dump(self, *, exclude_none: bool = False, exclude: set[str] | None = None) -> dict[str, Any]: ...


class Writer:
    """What a write route needs: the key, the bus, and the pool and currencies for its lookups."""

    def __init__(
        self, key: str, bus: CommandBus, settings: Settings, pool: asyncpg.Pool, currencies: Currencies
    ) -> None:
        self.key, self.bus, self.settings, self.pool, self.currencies = key, bus, settings, pool, currencies

    async def send_priced(
        self, kind: str, cls: type[Contract], body: Priced, principal: Principal, *, created: bool = False
    ) -> JSONResponse:
        """Send ``kind`` built from a body whose ``amount`` is written in its ``currency``'s terms."""
        amount = await self.currencies.minor(self.pool, body.currency, body.amount)
        payload = contract(cls, **body.model_dump(exclude_none=True, exclude={"amount"}), amount=amount)
        return await self.send(kind, payload, principal, created=created)

    async def send(self, kind: str, payload: Contract, principal: Principal, *, created: bool = False) -> JSONResponse:
        """Send the ``kind`` command and answer with the worker's result."""
        if unstorable(payload.model_dump()):
            raise Problem(422, "validation_error", "strings must not contain NUL or unpaired surrogates")
        if self.key.startswith(RESERVED_COMMAND_PREFIXES):
            reserved = ", ".join(RESERVED_COMMAND_PREFIXES)
            raise Problem(400, "reserved_idempotency_key", f"Idempotency-Key prefixes {reserved} are the ledger's own")
        cmd = build_command(kind, payload, command_id=self.key, issued_at=datetime.now(UTC), principal=principal.name)
        COMMAND_ID.set(cmd.command_id)  # the rest of this request's log lines are about it
        timeout, started = self.settings.reply_timeout_seconds, time.monotonic()
        result = await self.bus.send(cmd, timeout=timeout)
        replayed = result is not None and result.replayed
        if result is None:  # no reply in time, or lost with a broker node: the recorded outcome, if any
            found = await outcomes.recorded(self.pool, cmd, asked_at=cmd.issued_at, until=started + timeout)
            if found is None:
                url = f"/v1/commands/{cmd.command_id}"
                body = Pending(command_id=cmd.command_id, status="pending", status_url=url)
                return JSONResponse(body.model_dump(mode="json"), status_code=202, headers={"Location": url})
            result, replayed = found.result, found.replayed
        # A retry gets the first answer again, byte for byte, status included; only the header differs
        # (Stripe's convention and the IETF Idempotency-Key draft's). ``replayed`` is left out of the body.
        headers = {"Idempotent-Replayed": "true" if replayed else "false"}
        answer = result.model_dump(mode="json", exclude={"replayed"})
        if result.status == "refused":
            assert result.refusal is not None
            return problem_response(
                refusal_status(result.refusal), result.refusal.value, result.detail or "", headers, result=answer
            )
        return JSONResponse(answer, status_code=201 if created else 200, headers=headers)


async def _writer(
    key: IdempotencyKey, bus: BusDep, settings: SettingsDep, pool: PoolDep, currencies: CurrenciesDep
) -> Writer:
    return Writer(key, bus, settings, pool, currencies)


WriterDep = Annotated[Writer, Depends(_writer)]
