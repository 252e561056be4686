"""One conversion from an HTTP request to a command payload, and from the worker's reply to the answer.

The body is read once and parsed once, strictly (``ledger_common.strict_json``: no repeated key, no NaN,
bounded depth, no NUL or unpaired surrogate), then validated once, as the payload model itself (with its path
parameters) in the request context of ``contracts.base.REQUEST``: amounts are checked as a request writes them
and decimal strings were converted beforehand with the currency's exponent. What needs the database waits
until the request is valid, in the order the routes always answered: the object the path names (403 for a
wallet-bound key that does not hold it, else 404), the parties a wallet-bound key must hold, the amounts whose
currency only that object knows, unknown currencies and inexact amounts, then checks that need every amount.

Errors are the problem documents of ``http_gateway.problems``, with the locations FastAPI gives (``path``
errors first, then ``body``), so a client sees what it always saw; the worker decides everything else.
"""

from __future__ import annotations

import email.message
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Any

import asyncpg
from fastapi import Request
from pydantic import Field, TypeAdapter, ValidationError

from contracts.amounts import decimal_text
from contracts.base import REQUEST, Contract, Currency, Party, WithParties
from contracts.bounds import MAX_JSON_DEPTH
from contracts.refs import parties
from http_gateway import lookup
from http_gateway.amounts import Currencies, to_minor, unknown_currency
from http_gateway.auth import Principal, authorize_any, authorize_parties
from http_gateway.bodies import Plan, Target, body_model, path_type
from http_gateway.problems import IDEMPOTENCY_KEY, Problem, request_problem
from ledger_common.strict_json import NotJson, NotStrictJson, check_json

_CURRENCY: TypeAdapter[str] = TypeAdapter(Currency)
#: The header as the OpenAPI document declares it (``http_gateway.writes.IdempotencyKey``).
KEY_PATTERN = r"^[A-Za-z0-9._:\-]{1,128}$"
_KEY: TypeAdapter[str] = TypeAdapter(Annotated[str, Field(pattern=KEY_PATTERN)])
_PLACEHOLDER = 1  # an amount converted later (or refused later): valid, never sent
_NOT_FOUND = {
    "hold": ("hold_not_found", "hold {} does not exist"),
    "intent": ("intent_not_found", "payment intent {} does not exist"),
    "account": ("account_not_found", "account {} does not exist"),
}
_ABSENT = object()  # no body at all
_NOT_AN_OBJECT = "Input should be a valid dictionary or object to extract fields from"
#: The prefix a body key the route does not take is validated under, so the payload reports it as an extra
#: input (and runs no model validator, as for FastAPI's body model), under its own name.
_OTHER = "\x00"


@dataclass
class Later:
    """What validation could not finish: amounts in the target's currency, and the first amount problem."""

    amounts: list[tuple[tuple[str | int, ...], str, bool]] = field(default_factory=list)
    problem: Problem | None = None

    def refuse(self, problem: Problem) -> None:
        self.problem = self.problem or problem


def _body_error(error: Any, params: tuple[str, ...]) -> dict[str, Any] | None:
    """A payload error as FastAPI's body model reported it; None for one about a path parameter (reported)."""
    loc = tuple(error["loc"])
    if loc and loc[0] in params:
        return None
    if loc and isinstance(loc[0], str) and loc[0].startswith(_OTHER):
        loc = (loc[0].removeprefix(_OTHER), *loc[1:])
    return {**error, "loc": ("body", *loc)}


def _located(body: dict[str, Any], path: tuple[str | None, ...]) -> list[tuple[tuple[str | int, ...], Any]]:
    """Every (location, container) an amount path reaches in a parsed body."""
    found: list[tuple[tuple[str | int, ...], Any]] = [((), body)]
    for step in path[:-1]:
        deeper: list[tuple[tuple[str | int, ...], Any]] = []
        for where, node in found:
            if step is None and isinstance(node, list):
                deeper += [((*where, i), item) for i, item in enumerate(node) if isinstance(item, dict)]
            elif isinstance(step, str) and isinstance(node, dict) and isinstance(node.get(step), dict | list):
                deeper.append(((*where, step), node[step]))
        found = deeper
    return found


def _dotted(where: tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in where)


class Conversion:
    """The conversion of one route's requests (``http_gateway.writes`` builds one per route)."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        model = body_model(plan)
        self.body: TypeAdapter[Any] | None = None
        if model is not None:
            shape: Any = model if plan.required else model | None
            self.body = TypeAdapter(shape)
        self.params = {p: TypeAdapter(path_type(plan, p)) for p in plan.route.params}

    # -- reading ---------------------------------------------------------------------------------------

    async def read(self, request: Request) -> tuple[Any, Problem | None]:
        """The body as FastAPI would hand it to a model (the JSON document, the raw bytes for another media
        type, ``_ABSENT`` for none), parsed strictly once, and the 422 for JSON that is not strict, which the
        route answers once the caller is authenticated. A body no JSON parser reads is answered now, as
        FastAPI did before any dependency ran (422 ``json_invalid`` at its position, or 400)."""
        raw = await request.body()
        if not raw:
            return _ABSENT, None
        content_type = request.headers.get("content-type", "")
        parsed = self.body is not None and _json_media(content_type)  # FastAPI parsed it: a route that takes one
        if not parsed and "json" not in content_type:
            return raw, None
        try:
            document = check_json(raw, max_depth=MAX_JSON_DEPTH)
        except NotJson as exc:
            if parsed and exc.position is not None:
                errors = [{"loc": ["body", exc.position], "msg": "JSON decode error", "type": "json_invalid"}]
                raise Problem(422, "validation_error", "the request is not valid", errors=errors) from None
            if parsed:
                raise Problem(400, "malformed_request", "There was an error parsing the body") from None
            return raw, _not_strict(exc)
        except NotStrictJson as exc:
            return raw, _not_strict(exc)
        return (document if parsed else raw), None

    # -- validating ------------------------------------------------------------------------------------

    async def validate(
        self, raw: Any, path: dict[str, str], pool: asyncpg.Pool, currencies: Currencies
    ) -> tuple[Contract, Later]:
        """The payload (with placeholders where :class:`Later` says), or 422 as FastAPI would have answered."""
        plan, later = self.plan, Later()
        if self.body is None or ((raw is None or raw is _ABSENT) and not plan.required):
            raw = {}  # no body the route reads (JSON null is none, as for FastAPI)
        errors: list[dict[str, Any]] = []
        for name, adapter in self.params.items():
            try:
                adapter.validate_python(path[name])
            except ValidationError as exc:
                errors += [{**e, "loc": ("path", name, *e["loc"])} for e in exc.errors()]
        if raw is _ABSENT:
            errors.append({"loc": ("body",), "msg": "Field required", "type": "missing"})
        elif not isinstance(raw, dict):
            errors.append({"loc": ("body",), "msg": _NOT_AN_OBJECT, "type": "model_attributes_type"})
            raise request_problem(errors)
        else:
            data = {(k if k in plan.fields else _OTHER + k): v for k, v in raw.items()}
            await self._amounts(data, later, pool, currencies)
            data.update(path)
            if plan.fills_currency:
                data["currency"] = "XXX"  # the target's, once it is read (validation never sees it)
            try:
                payload = plan.spec.payload.model_validate(data, context={REQUEST: True})
            except ValidationError as exc:
                found = [_body_error(e, plan.route.params) for e in exc.errors(include_url=False)]
                errors += [e for e in found if e is not None]
        if errors:
            raise request_problem(errors)
        return payload, later

    async def _amounts(self, data: dict[str, Any], later: Later, pool: asyncpg.Pool, currencies: Currencies) -> None:
        """Convert the decimal strings of ``data`` in place, or leave a placeholder and say why in ``later``."""
        texts = [
            (where, node, p.path[-1], p.signed)
            for p in self.plan.amounts
            for where, node in _located(data, p.path)
            if isinstance(p.path[-1], str) and decimal_text(node.get(p.path[-1]), signed=p.signed)
        ]
        if not texts:
            return
        exponent, code = None, data.get("currency")
        if "currency" in self.plan.fields and isinstance(code, str) and _valid_code(code):
            exponent = await currencies.find(pool, code)
        for where, node, name, signed in texts:
            text, at = node[name], (*where, name)
            node[name] = _PLACEHOLDER
            if self.plan.priced_by_target:
                later.amounts.append((at, text, signed))
            elif exponent is None:
                later.refuse(unknown_currency(str(code)))
            else:
                try:
                    node[name] = to_minor(text, exponent, field=_dotted(at), positive=not signed)
                except Problem as exc:
                    node[name] = _PLACEHOLDER
                    later.refuse(exc)

    # -- what needs the database -----------------------------------------------------------------------

    async def check(
        self, payload: Contract, later: Later, principal: Principal, pool: asyncpg.Pool, currencies: Currencies
    ) -> Contract:
        """The early checks (403, 404), then the amounts' conversion (422): the payload to send."""
        plan, row = self.plan, None
        if plan.target is not None:
            row = await _find(pool, principal, plan.target, getattr(payload, plan.target.field), always=True)
        if plan.named is not None and principal.wallet_id is not None:
            await _find(pool, principal, plan.named, getattr(payload, plan.named.field), always=False)
        for rule in plan.own:
            named = _parties(payload, rule.name, rule.reach)
            await authorize_parties(pool, principal, named, treasury_side=rule.system)
        if row is not None and (later.amounts or plan.fills_currency):
            payload = await _priced(payload, later, row["currency"], plan.fills_currency, pool, currencies)
        if later.problem is not None:
            raise later.problem
        try:
            payload.amounts_checked()
        except ValueError as exc:
            errors = [{"loc": ["body"], "msg": f"Value error, {exc}", "type": "value_error"}]
            raise Problem(422, "validation_error", "the request is not valid", errors=errors) from None
        return payload


@lru_cache(maxsize=64)
def _json_media(content_type: str) -> bool:
    """``application/json`` or ``application/*+json``, read as FastAPI reads a content type."""
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


def _not_strict(exc: NotStrictJson) -> Problem:
    errors = [{"loc": ["body"], "msg": str(exc), "type": "json_invalid"}]
    return Problem(422, "validation_error", f"the body is not strict JSON: {exc}", errors=errors)


def _valid_code(code: str) -> bool:
    try:
        _CURRENCY.validate_python(code)
    except ValidationError:
        return False
    return True


async def _find(pool: asyncpg.Pool, principal: Principal, target: Target, value: Any, *, always: bool) -> Any:
    """The object ``target`` names: 403 for a wallet-bound key that does not hold it (existing or not), else
    404 if there is none."""
    reader = {"hold": lookup.hold, "intent": lookup.intent, "account": lookup.account}[target.kind]
    row = await reader(pool, value)
    if target.rule is not None and principal.wallet_id is not None:
        holder = {"hold": "wallet_id", "intent": "merchant_wallet_id", "account": "wallet_id"}[target.kind]
        also = "recipient_wallet_id" if target.rule.recipient_too else None
        authorize_any(principal, [] if row is None else [row[holder], row[also] if also else None])
    if row is None and always:
        code, detail = _NOT_FOUND[target.kind]
        raise Problem(404, code, detail.format(value))
    return row


def _parties(payload: Contract, name: str, reach: str) -> list[Party | None]:
    """The party ``name`` of ``payload``, or of its nested items (legs: only the debited ones for ``debit``)."""
    if isinstance(payload, WithParties) and any(p.name == name for p in parties(type(payload))):
        return [payload.party(name)]
    found: list[Party | None] = []
    for value in payload.__dict__.values():
        for item in value if isinstance(value, tuple) else ():
            if isinstance(item, Contract) and (reach != "debit" or getattr(item, "side", None) == "debit"):
                found += _parties(item, name, "own")
    return found


async def _priced(
    payload: Contract, later: Later, currency: str, fills: bool, pool: asyncpg.Pool, currencies: Currencies
) -> Contract:
    """``payload`` with the amounts converted in the target's ``currency`` (and its ``currency``, if it takes it)."""
    update: dict[str, Any] = {"currency": currency} if fills else {}
    exponent = await currencies.exponent(pool, currency) if later.amounts else 0
    for at, text, signed in later.amounts:
        if len(at) != 1:
            raise AssertionError(f"{_dotted(at)}: only top-level amounts are priced by the path's object")
        try:
            update[str(at[0])] = to_minor(text, exponent, field=_dotted(at), positive=not signed)
        except Problem as exc:
            later.refuse(exc)
    return payload.model_copy(update=update)


def idempotency_key(request: Request) -> str:
    """The ``Idempotency-Key`` header, or 400 as the route's header parameter answered."""
    key = request.headers.get(IDEMPOTENCY_KEY)
    if key is None:
        raise request_problem([{"loc": ("header", IDEMPOTENCY_KEY), "msg": "Field required", "type": "missing"}])
    try:
        return _KEY.validate_python(key)
    except ValidationError as exc:
        raise request_problem([{**e, "loc": ("header", IDEMPOTENCY_KEY)} for e in exc.errors()]) from None
