"""Opaque cursors and the query filters the list endpoints share."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qsl, quote
from uuid import UUID

from fastapi import Depends, Query, Request
from fastapi.routing import APIRoute
from pydantic import AfterValidator, BeforeValidator, Field, TypeAdapter, ValidationError

from contracts.bounds import (
    MAX_CURSOR_CHARS,
    MAX_JSON_DEPTH,
    MAX_METADATA_FILTERS,
    MAX_METADATA_KEY_CHARS,
    MAX_METADATA_VALUE_CHARS,
    MAX_PAGE_ITEMS,
)
from http_gateway.problems import Problem
from http_gateway.streamed import bound_of
from ledger_common.strict_json import NotStrictJson, check_json

T = TypeVar("T")
#: A bigint position (posting id, event id, sequence) as a cursor may carry it.
Position = Annotated[int, Field(ge=0, lt=2**63, strict=True)]


_RFC3339 = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}")


def _rfc3339(value: object) -> object:
    """Only date-times written out (pydantic would also read ``0.5`` or ``"0.5"`` as seconds since 1970).
    A query gives strings; a cursor is JSON, where a number is no moment either."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("a moment is an RFC 3339 date-time, e.g. 2026-11-25T12:00:00Z")
    return value


def _utc(value: datetime) -> datetime:
    """Naive means UTC; a moment that leaves the calendar once in UTC (year 1 at +14:00) is refused."""
    try:
        return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        raise ValueError("the moment is out of range") from None


#: A moment as a query gives it (RFC 3339; without an offset it is UTC).
Moment = Annotated[datetime, BeforeValidator(_rfc3339), AfterValidator(_utc)]
#: A (created_at, id) keyset position.
KEYSET: TypeAdapter[tuple[datetime, UUID]] = TypeAdapter(tuple[Moment, UUID])
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_ITEMS, description="Items per page")]
Cursor = Annotated[
    str | None, Query(max_length=MAX_CURSOR_CHARS, description="`next_cursor` of the previous page; opaque")
]
From = Annotated[Moment | None, Query(alias="from", description="Only what was posted at or after this moment")]
To = Annotated[Moment | None, Query(alias="to", description="Only what was posted before this moment")]
At = Annotated[Moment | None, Query(description="As of this moment (default: now)")]

_METADATA_KEY = re.compile(rf"^[A-Za-z0-9_.:\-]{{1,{MAX_METADATA_KEY_CHARS}}}$")
#: How the list endpoints describe their metadata filters (they cannot be declared one by one).
METADATA_HELP = (
    " Filter by metadata with `metadata.<key>=<value>` (repeatable, all must match; exact values),"
    " answered from a GIN index."
)


def encode(kind: str, *parts: Any) -> str:
    """An opaque cursor: the page's last sort key, tagged with what it pages through."""
    raw = json.dumps([kind, *parts], separators=(",", ":"), default=_plain)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _plain(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def decode(cursor: str, kind: str, shape: TypeAdapter[T]) -> T:
    """The sort key of a cursor of ``kind``; 400 ``invalid_cursor`` for anything this API did not issue.

    A cursor comes from the client, so anything may come back: not base64, not UTF-8, not JSON, JSON
    nested too deep or with numbers too long, not a list, a list of one, another kind's parts, parts of
    the wrong shape. Each is the same 400, never an error of ours."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        # ``[kind, part]`` or ``[kind, *parts]`` as ``encode`` wrote it; nothing else.
        if not isinstance(raw, list) or len(raw) < 2 or not isinstance(raw[0], str) or raw[0] != kind:
            raise ValueError(kind)
        return shape.validate_python(raw[1] if len(raw) == 2 else raw[1:])
    except (ValueError, TypeError, ValidationError, RecursionError, OverflowError):
        # ValueError covers binascii.Error, UnicodeDecodeError, JSONDecodeError and too many digits.
        raise Problem(400, "invalid_cursor", "the cursor is not one this endpoint returned") from None


def _declared(route: APIRoute) -> tuple[frozenset[str], bool]:
    """The query parameter names a route declares (through its dependencies too), and whether it takes
    ``metadata.<key>`` filters."""
    names: set[str] = set()
    metadata, pending = False, [route.dependant]
    while pending:
        dependant = pending.pop()
        names.update(f.alias for f in dependant.query_params)
        metadata = metadata or dependant.call is metadata_filter
        pending.extend(dependant.dependencies)
    return frozenset(names), metadata


_DECLARED: dict[int, tuple[frozenset[str], bool]] = {}  # by id(route): routes live as long as the app


async def strict_body(request: Request) -> None:
    """422 for a JSON body that is not strict JSON (``ledger_common.strict_json``): a repeated key would
    otherwise be read as its last value (``{"amount": 1, "amount": 7}`` deposits 7). The same check as
    for AMQP commands; the body is cached, so it is read once."""
    if request.method not in ("POST", "PUT", "PATCH") or bound_of(request.scope.get("route")) is not None:
        return  # a streamed body (a statement file) is the route's to read, after its scope is checked
    body = await request.body()
    if not body or "json" not in request.headers.get("content-type", ""):
        return
    try:
        check_json(body, max_depth=MAX_JSON_DEPTH)
    except NotStrictJson as exc:
        errors = [{"loc": ["body"], "msg": str(exc), "type": "json_invalid"}]
        raise Problem(422, "validation_error", f"the body is not strict JSON: {exc}", errors=errors) from None


async def known_query(request: Request) -> None:
    """422 for a query parameter the route does not declare, as for an unknown body field: a typo
    (``?owner=``) must not silently widen a search. 422 too for a name or value that is not UTF-8 once
    percent-decoded (Starlette would read ``%ff`` and ``%fe`` alike as U+FFFD) or holds a NUL."""
    _well_formed(request.scope.get("query_string", b""))
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    if id(route) not in _DECLARED:
        _DECLARED[id(route)] = _declared(route)
    names, metadata = _DECLARED[id(route)]
    unknown = [n for n in request.query_params if n not in names and not (metadata and n.startswith("metadata."))]
    if unknown:
        errors = [{"loc": ["query", n], "msg": "unknown query parameter", "type": "extra_forbidden"} for n in unknown]
        raise Problem(422, "validation_error", f"unknown query parameter(s): {', '.join(unknown)}", errors=errors)


def _well_formed(query: bytes) -> None:
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True, errors="surrogateescape"):
        text, bad = name + value, ""
        try:  # a byte that is not UTF-8 was decoded to a lone surrogate, which does not encode
            text.encode()
        except UnicodeEncodeError:
            bad = "is not UTF-8"
        if "\x00" in text:
            bad = "holds a NUL"
        if bad:
            shown = quote(name, safe="", errors="surrogateescape")
            errors = [{"loc": ["query", shown], "msg": f"the parameter {bad}", "type": "string_unicode"}]
            raise Problem(422, "validation_error", f"query parameter {shown}: the parameter {bad}", errors=errors)


async def metadata_filter(request: Request) -> dict[str, str]:
    """``metadata.<key>=<value>`` query parameters as a JSON containment filter (``metadata @> $n``)."""
    wanted: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if not name.startswith("metadata."):
            continue
        key = name.removeprefix("metadata.")
        bad_value = len(value) > MAX_METADATA_VALUE_CHARS or "\x00" in value
        if not _METADATA_KEY.fullmatch(key) or bad_value or (key in wanted and wanted[key] != value):
            raise Problem(
                422,
                "validation_error",
                f"{name}: a metadata key is 1-{MAX_METADATA_KEY_CHARS} of A-Z a-z 0-9 _ . : - with one value of at most"
                f" {MAX_METADATA_VALUE_CHARS} characters",
                errors=[{"loc": ["query", name], "msg": "invalid metadata filter", "type": "value_error"}],
            )
        wanted[key] = value
    if len(wanted) > MAX_METADATA_FILTERS:
        raise Problem(422, "validation_error", f"at most {MAX_METADATA_FILTERS} metadata filters")
    return wanted


class Where:
    """A WHERE clause built from constant fragments; every value is a bind parameter."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.args: list[Any] = []

    def arg(self, value: Any) -> str:
        """The placeholder (``$n``) for ``value``."""
        self.args.append(value)
        return f"${len(self.args)}"

    def add(self, fragment: str, *values: Any) -> None:
        """``fragment`` with one ``{}`` per value, e.g. ``add("owner_id = {}", owner)``."""
        self.parts.append(fragment.format(*(self.arg(v) for v in values)))

    @property
    def sql(self) -> str:
        return " AND ".join(self.parts) or "TRUE"


#: ``metadata.<key>=<value>`` filters of a search route (declaring it also admits those parameters).
MetadataFilter = Annotated[dict[str, str], Depends(metadata_filter)]
