"""The gateway's command routes, every one built from its catalogue entry: nothing per command is written here.

Each ``Route`` of a ``CommandSpec`` becomes a ``POST``/``PUT``/``PATCH`` at its path, answering 201 when the
command creates something (``CommandSpec.creates``) and 200 otherwise, requiring the command's scope (and a
key bound to no wallet where the entry says so), documented with its ``operationId`` (``transfers.create``),
a request body derived from the payload model (``http_gateway.bodies``: ``TransferRequest``…) and the
command's outcomes. The route's handler is not FastAPI's: the declared parameters are the OpenAPI document's,
and :class:`http_gateway.convert.Conversion` reads the request once.

The ``Idempotency-Key`` header is the command id and ``principal.name`` says who asked. The worker's
``CommandResult`` comes back as 200/201 (``Idempotent-Replayed`` says whether it was recorded
earlier), as the bytes the worker sent less ``replayed``; a refusal is a problem document whose
``code`` is the refusal and which carries the result. A reply that does not come within
``REPLY_TIMEOUT_SECONDS`` (a slow worker, or a reply lost with a broker node) is looked for in the
recorded outcomes until then (http_gateway/outcomes.py); none: 202 and a ``Location`` to poll.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Header, Request, params
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

from contracts.catalogue import COMMANDS
from contracts.commands import COMMAND_CLASSES
from contracts.http import Pending
from contracts.ids import RESERVED_COMMAND_PREFIXES
from contracts.keys import Scope as KeyScope
from contracts.results import CommandResult, refusal_status
from http_gateway import outcomes, pages
from http_gateway.auth import UNBOUND, bearer_token, check_scope, require, require_unbound, required_scope, verify
from http_gateway.bodies import Plan, body_model, path_type, plan
from http_gateway.convert import KEY_PATTERN, Conversion, idempotency_key
from http_gateway.problems import IDEMPOTENCY_KEY, Problem, problem_response
from ledger_common.logs import COMMAND_ID

IdempotencyKey = Annotated[
    str,
    Header(
        alias=IDEMPOTENCY_KEY,
        pattern=KEY_PATTERN,
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
CREATED: dict[int | str, dict[str, Any]] = {**RESPONSES, 201: {"model": CommandResult, "description": "Created"}}

#: OpenAPI extension naming the command type a write route sends.
COMMAND_EXTENSION = "x-ledger-command"
PREFIX = "/v1"
#: The OpenAPI tag of a route, by the first segment of its path (else the segment itself).
TAGS = {
    "deposits": "money",
    "bonuses": "money",
    "spends": "money",
    "withdrawals": "money",
    "transfers": "money",
    "transactions": "money",
    "payment_intents": "payments",
    "refunds": "payments",
}


def _markdown(text: str) -> str:
    return inspect.cleandoc(text).replace("``", "`")


def _endpoint(p: Plan) -> Callable[..., Any]:
    """A function whose signature declares the route's parameters for the OpenAPI document (never called)."""

    async def endpoint(**_: Any) -> None:
        raise AssertionError("command routes answer through http_gateway.convert")

    kw = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter(name, kw, annotation=path_type(p, name)) for name in p.route.params]
    params.append(inspect.Parameter("idempotency_key", kw, annotation=IdempotencyKey))
    model = body_model(p)
    if model is not None:
        body = inspect.Parameter("body", kw, annotation=model) if p.required else None
        params.append(body or inspect.Parameter("body", kw, annotation=model | None, default=None))
    endpoint.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    endpoint.__name__ = p.route.operation.replace(".", "_")
    return endpoint


class CommandRoute(APIRoute):
    """The route of one ``Route`` of the catalogue, with the app's ``dependencies`` and ``responses`` for
    ``/v1`` (declared for the OpenAPI document; :meth:`answer` does what they say, in their order)."""

    def __init__(
        self, p: Plan, *, dependencies: Sequence[params.Depends], responses: dict[int | str, dict[str, Any]]
    ) -> None:
        self.plan, self.conversion = p, Conversion(p)
        spec, route = p.spec, p.route
        self.created = spec.creates  # derived from the payload model: worked out once, not per request
        self.envelope: Any = COMMAND_CLASSES[spec.type]  # its ``type`` is the class's own
        if spec.scope is None:
            raise RuntimeError(f"{spec.type} is the ledger's own: it has no route")
        segment = route.path.removeprefix(PREFIX + "/").split("/")[0]
        summary, _, rest = _markdown(spec.payload.__doc__ or spec.type).partition("\n")
        super().__init__(
            route.path,
            _endpoint(p),
            methods=[route.method],
            status_code=201 if self.created else 200,
            response_model=CommandResult,
            responses={**responses, **(CREATED if self.created else RESPONSES)},
            openapi_extra={COMMAND_EXTENSION: spec.type},
            dependencies=[*dependencies, require(spec.scope)] + ([] if spec.bound else [UNBOUND]),
            operation_id=route.operation,
            tags=[TAGS.get(segment, segment)],
            summary=summary.rstrip("."),
            description=f"{rest.strip()}\n\nSends the command `{spec.type}`.".strip(),
        )

        self.app = self._asgi  # not FastAPI's request_response: no exit stacks, no dependencies to close

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        return self.answer

    async def _asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        # An exception goes up to the app's exception middleware and its handlers (http_gateway.problems).
        response = await self.answer(Request(scope, receive, send))
        await response(scope, receive, send)

    async def answer(self, request: Request) -> Response:
        """The command's outcome, or the problem the request is (in the order the dependencies answered)."""
        state = request.app.state
        pool, currencies, bus = state.pool, state.currencies, state.bus
        raw, not_strict = await self.conversion.read(request)
        principal = await verify(state.settings, pool, state.keys, bearer_token(request.headers.get("authorization")))
        if request.scope.get("query_string"):
            await pages.known_query(request)
        if not_strict is not None:
            raise not_strict
        spec = self.plan.spec
        assert spec.scope is not None
        check_scope(principal, spec.scope)
        if not spec.bound:
            require_unbound(principal)
        key = idempotency_key(request)
        payload, later = await self.conversion.validate(raw, request.path_params, pool, currencies)
        payload = await self.conversion.check(payload, later, principal, pool, currencies)
        if key.startswith(RESERVED_COMMAND_PREFIXES):
            reserved = ", ".join(RESERVED_COMMAND_PREFIXES)
            raise Problem(400, "reserved_idempotency_key", f"Idempotency-Key prefixes {reserved} are the ledger's own")
        COMMAND_ID.set(key)  # the rest of this request's log lines are about it
        # Every field is valid already (the key matched its pattern, the payload was validated, the rest is
        # the gateway's own), so the envelope is assembled without validating them again; the worker
        # validates the message it receives whoever sent it.
        cmd = self.envelope.model_construct(
            command_id=key,
            issued_at=datetime.now(UTC),
            principal=principal.name,
            correlation_id=bus.correlation_id(),
            reply_to=bus.reply_queue,
            payload=payload,
        )
        timeout, started = state.settings.reply_timeout_seconds, time.monotonic()
        reply = await bus.request(cmd, cmd.model_dump_json().encode(), timeout=timeout)
        if reply is not None:
            return answer(reply, key, spec.type, created=self.created)
        # No reply in time, or lost with a broker node: the recorded outcome, if any (http_gateway/outcomes.py).
        found = await outcomes.recorded(pool, cmd, asked_at=cmd.issued_at, until=started + timeout)
        if found is None:
            url = f"/v1/commands/{key}"
            body = Pending(command_id=key, status="pending", status_url=url)
            return JSONResponse(body.model_dump(mode="json"), status_code=202, headers={"Location": url})
        return result_answer(found.result, found.replayed, created=self.created)


def answer(reply: bytes, command_id: str, kind: str, *, created: bool) -> Response:
    """The HTTP answer to the worker's reply. An applied command's reply is passed on as the worker wrote it,
    less ``replayed`` (its last field; the header says it): the worker serialises ``CommandResult`` in field
    order, compactly, and a command id or type holds nothing JSON escapes, so the prefix below is exact. Any
    other reply (a refusal, or a form this does not recognise) is parsed."""
    status = 201 if created else 200
    applied = f'{{"command_id":"{command_id}","command_type":"{kind}","status":"applied",'.encode()
    if reply.startswith(applied):
        for flag in (b"false", b"true"):
            suffix = b',"replayed":' + flag + b"}"
            if reply.endswith(suffix):
                headers = {"Idempotent-Replayed": flag.decode()}
                return Response(reply[: -len(suffix)] + b"}", status, headers, media_type="application/json")
    result = CommandResult.model_validate_json(reply)
    return result_answer(result, result.replayed, created=created)


def result_answer(result: CommandResult, replayed: bool, *, created: bool) -> Response:
    """The HTTP answer to a parsed ``CommandResult`` (a refusal is a problem document carrying it)."""
    # A retry gets the first answer again, byte for byte, status included; only the header differs
    # (Stripe's convention and the IETF Idempotency-Key draft's). ``replayed`` is left out of the body.
    status = 201 if created else 200
    headers = {"Idempotent-Replayed": "true" if replayed else "false"}
    shown = result.model_dump(mode="json", exclude={"replayed"})
    if result.status == "refused":
        assert result.refusal is not None
        refusal = result.refusal
        return problem_response(refusal_status(refusal), refusal.value, result.detail or "", headers, result=shown)
    return JSONResponse(shown, status_code=status, headers=headers)


def command_routes(
    *, dependencies: Sequence[params.Depends], responses: dict[int | str, dict[str, Any]]
) -> list[CommandRoute]:
    """Every command route of the catalogue, in catalogue order."""
    made = (plan(spec, route) for spec in COMMANDS for route in spec.routes)
    return [CommandRoute(p, dependencies=dependencies, responses=responses) for p in made]


def served_commands(routes: Sequence[BaseRoute]) -> dict[tuple[str, str], tuple[str, KeyScope | None]]:
    """(method, full path) -> (command type, scope required) of every route that declares a command."""
    found: dict[tuple[str, str], tuple[str, KeyScope | None]] = {}
    for ctx in iter_route_contexts(routes):
        route = ctx.original_route
        kind = (route.openapi_extra or {}).get(COMMAND_EXTENSION) if isinstance(route, APIRoute) else None
        if isinstance(route, APIRoute) and kind is not None:
            found.update({(m, ctx.path or route.path): (kind, required_scope(route)) for m in ctx.methods or ()})
    return found


def check_command_routes(routes: Sequence[BaseRoute]) -> None:
    """Refuse an app whose command routes (paths, or the scope each requires) differ from the catalogue's."""
    declared: dict[tuple[str, str], tuple[str, KeyScope | None]] = {
        (r.method, r.path): (spec.type, spec.scope) for spec in COMMANDS for r in spec.routes
    }
    served = served_commands(routes)
    if served != declared:
        missing = sorted(f"{m} {p} ({k})" for (m, p), k in declared.items() if served.get((m, p)) != k)
        extra = sorted(f"{m} {p} ({k})" for (m, p), k in served.items() if declared.get((m, p)) != k)
        raise RuntimeError(f"command routes differ from contracts.catalogue: missing {missing}, not declared {extra}")
