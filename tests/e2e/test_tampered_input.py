"""Black-box: hostile input of every shape is a 4xx problem document, never a 500 or a dropped connection.

Against the real gateway (worker and relay behind it), with the routes read from the gateway's own
``/openapi.json``. ``test_http_fuzz.py`` (schemathesis) already sends schema-shaped valid and invalid
JSON to every operation; this sends what a JSON Schema does not describe: tampered pagination cursors,
bodies that are not JSON, not UTF-8, nested beyond any parser, oversized or of another content type,
numbers no float or integer holds, NUL bytes and lone surrogates in strings, path segments that are
NULs, invalid UTF-8 or tens of kilobytes long, and query parameters that are unknown, undecodable or
huge. Every answer must be a 4xx ``application/problem+json`` with a ``code``; no money moves.

What the HTTP server itself refuses before the app sees it (a request line of 100 kB, a control
character in a header) is a problem document too: tests/e2e/test_edge.py.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx
import pytest

from http_gateway import pages
from ledger_cli.processes import Processes
from tests.e2e.access import bearer, make_key
from tests.e2e.api import Wallet, new_wallet, write

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"
#: The cursor each list route pages with (``pages.encode`` kinds), by (method, path).
CURSOR_ROUTES = {
    ("GET", "/v1/wallets"): ("cursor", "w"),
    ("GET", "/v1/transactions"): ("cursor", "t"),
    ("GET", "/v1/accounts/{account_id}/entries"): ("cursor", "p"),
    ("GET", "/v1/wallets/{wallet}/transactions"): ("cursor", "p"),
    ("GET", "/v1/wallets/me/transactions"): ("cursor", "p"),
    ("GET", "/v1/wallets/{wallet}/events"): ("after", "e"),
    ("GET", "/v1/wallets/me/events"): ("after", "e"),
    ("GET", "/v1/recon/breaks"): ("cursor", "b"),
}
#: A cursor of each kind as the API issues them (the one of a route's own kind pages; the others are forged).
ISSUED = {
    "w": pages.encode("w", uuid.UUID(int=0)),
    "t": pages.encode("t", datetime(2026, 1, 1, tzinfo=UTC), uuid.UUID(int=0)),
    "p": pages.encode("p", 2**62),
    "e": pages.encode("e", {"w": [0, 0], "a": {}}),
    "b": pages.encode("b", datetime(2026, 1, 1, tzinfo=UTC), uuid.UUID(int=0)),
}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _tampered(kind: str) -> list[str]:
    """Cursors no route issued: odd shapes, the route's own tag with wrong parts, undecodable bytes."""
    shapes: list[object] = [[], {}, "w", None, 7, [None], [kind], [kind, None], [kind, [], [], []]]
    if kind != "e":  # ["e", {}] is the start of the event streams (each position defaults to 0): it pages
        shapes.append([kind, {}])
    shapes += [["w"], ["p"], ["t"], ["e"], [kind, -1], [kind, 2**63], [kind, 1e308], [kind, "x" * 200]]
    shapes += [["t", "0001-01-01T00:00:00+14:00", str(uuid.UUID(int=0))], ["t", 0.5, str(uuid.UUID(int=0))]]
    shapes += [["e", {"w": [1, 2], "a": {str(uuid.UUID(int=0)): -1}}], ["e", {"w": [1]}]]
    raw = [
        b"\xff\xfe\xfd",
        b"[" * 3000,
        b'["p", ' + b"9" * 2900 + b"]",
        b'["p", 1e999]',
        b'["w" "x"]',
        b"\xef\xbb\xbf[]",
    ]
    return [_b64(json.dumps(s).encode()) for s in shapes] + [_b64(r) for r in raw] + ["!!!!", "é", "a", "===="]


@pytest.fixture
async def world(client: httpx.AsyncClient, system: Processes) -> AsyncIterator[dict[str, Any]]:
    """A funded wallet with a posting and an event, and a key bound to it (for ``/wallets/me``)."""
    wallet = await new_wallet(client, funded=1000)
    await write(client, "POST", "/v1/spends", {"account_id": wallet.usd, "amount": 1, "currency": "USD"})
    key = await make_key(client, ["read"], wallet_id=wallet.id, name="reader of its wallet")
    async with httpx.AsyncClient(base_url=system.base_url, timeout=60, headers=bearer(key["secret"])) as bound:
        yield {"wallet": wallet, "bound": bound}


def _path(template: str, wallet: Wallet) -> str:
    values = {"wallet": wallet.handle, "account_id": wallet.usd}
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)


def _check(r: httpx.Response, what: str, failures: list[str]) -> None:
    """A 4xx problem document with a code, or a line in ``failures`` saying what came back instead."""
    try:
        doc = r.json()
    except ValueError:
        doc = None
    ok = 400 <= r.status_code < 500 and r.headers.get("content-type") == PROBLEM
    if not ok or not isinstance(doc, dict) or not isinstance(doc.get("code"), str):
        failures.append(f"{what}: {r.status_code} {r.headers.get('content-type')} {r.text[:200]!r}")


def _integer(parameter: dict[str, Any]) -> bool:
    """An ``after`` that is a log position (``GET /v1/events``), not an opaque cursor: validated as an integer."""
    schema = parameter.get("schema", {})
    return "integer" in {schema.get("type"), *(s.get("type") for s in schema.get("anyOf", []))}


async def test_tampered_cursors_are_400_invalid_cursor_on_every_list_route(
    client: httpx.AsyncClient, system: Processes, world: dict[str, Any]
) -> None:
    document = (await client.get("/openapi.json")).json()
    paged = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method, op in operations.items()
        if any(
            p["in"] == "query" and p["name"] in ("cursor", "after") and not _integer(p)
            for p in op.get("parameters", [])
        )
    }
    assert paged == set(CURSOR_ROUTES), "a list route was added or removed: update CURSOR_ROUTES"
    failures: list[str] = []
    for (method, template), (param, kind) in sorted(CURSOR_ROUTES.items()):
        c = world["bound"] if "/me/" in template else client
        path = _path(template, world["wallet"])
        assert (await c.get(path, params={param: ISSUED[kind]})).status_code == 200, path  # a real cursor pages
        forged = [ISSUED[k] for k in ISSUED if k != kind]  # another route's cursor
        for cursor in _tampered(kind) + forged:
            r = await c.request(method, path, params={param: cursor})
            if (r.status_code, r.headers.get("content-type")) != (400, PROBLEM) or r.json()["code"] != "invalid_cursor":
                failures.append(f"{method} {template} {param}={cursor[:40]}: {r.status_code} {r.text[:200]!r}")
        r = await c.get(path, params={param: "A" * 4097})  # longer than any cursor: refused as too long
        _check(r, f"{template} {param} of 4097 characters", failures)
    assert not failures, "\n".join(failures)


async def test_a_cursor_the_api_issued_still_pages(client: httpx.AsyncClient) -> None:
    for _ in range(2):
        await new_wallet(client)
    first = (await client.get("/v1/wallets", params={"limit": 1})).json()
    assert first["next_cursor"]
    second = await client.get("/v1/wallets", params={"limit": 1, "cursor": first["next_cursor"]})
    assert second.status_code == 200 and second.json()["wallets"][0]["id"] > first["wallets"][0]["id"]


def _body_fields(document: dict[str, Any], schema: dict[str, Any] | None) -> list[str]:
    """The property names of a request body schema, through ``$ref``, ``anyOf`` and ``allOf``."""
    if not schema:
        return []
    if "$ref" in schema:
        return _body_fields(document, document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]])
    names = list(schema.get("properties", {}))
    for key in ("anyOf", "oneOf", "allOf"):
        for member in schema.get(key, []):
            names += [n for n in _body_fields(document, member) if n not in names]
    return names


def _every(fields: list[str], value: str) -> bytes:
    """A JSON object giving every field the same (raw JSON) value."""
    return ("{" + ", ".join(f"{json.dumps(f)}: {value}" for f in fields or ["x"]) + "}").encode()


def _hostile_bodies(fields: list[str]) -> Iterator[tuple[str, bytes, str]]:
    """(what, body, content type) for a route whose body has ``fields``."""
    js = "application/json"
    for raw in (b"[]", b'"x"', b"1", b"null", b"true", b"", b"{", b'{"a": }', b"{}{}", b"\x00"):
        yield f"body {raw!r}", raw, js
    for value in ('{"$ne": 1}', "[[]]", "true", '"x"', "-1", "0.5"):
        yield f"every field {value}", _every(fields, value), js
    for value in ("1e400", "-1e400", "NaN", "Infinity", "1" + "0" * 40, "9" * 5000, '"' + "9" * 5000 + '"'):
        yield f"every field {value[:12]}… (a huge number)", _every(fields, value), js
    for value in ('"a\\u0000b"', '"\\ud800"', '"\\udfff x"', '{"k": "\\u0000"}', '["\\u0000"]'):
        yield f"every field {value} (NUL or a lone surrogate)", _every(fields, value), js
    yield "every field nested 10000 deep", _every(fields, '{"a": ' * 10_000 + "1" + "}" * 10_000), js
    yield "a body nested 100000 deep", b"[" * 100_000 + b"]" * 100_000, js
    yield "a body that is not UTF-8", _every(fields, '"X"').replace(b'"X"', b'"\xff\xfe"'), js
    yield "a body in UTF-16", _every(fields, '"x"').decode().encode("utf-16"), js
    # 413 unread (http_gateway/edge.py); one of 30 MB, answered by closing the connection, is in test_edge.py
    yield "a 4 MB body", _every(fields[:1], '"' + "a" * (4 * 1024 * 1024) + '"'), js
    yield "every field twice, the second wrong", _every(fields, '"x"')[:-1] + b", " + _every(fields, "[]")[1:], js
    for content_type in (
        "text/plain",
        "application/xml",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "multipart/form-data",
        "application/json; charset=utf-16",
        "application/json; charset=nonsense",
        "application/octet-stream",
        "",
    ):
        yield (
            f"content-type {content_type!r}",
            b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--x--\r\n",
            (content_type),
        )


#: Path parameter values that must each be refused (an id that exists nowhere is a refusal too).
HOSTILE_SEGMENTS = ["%00", "a%00b", "%ff", "%ED%A0%80", "%C0%80", "A" * 8000, "A" * 60_000, "ext:" + "%00" * 40, "@"]


def _types(schema: dict[str, Any]) -> set[str]:
    return {schema["type"]} if "type" in schema else {t for member in schema.get("anyOf", []) for t in _types(member)}


def _hostile_queries(parameters: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    yield "an unknown parameter", "zzz=1"
    yield "an unknown parameter with a NUL name", "%00=1"
    yield "an unknown parameter that is not UTF-8", "%ff=1"
    yield "5000 unknown parameters", "&".join(f"u{i}=1" for i in range(5000))
    for p in parameters:
        values = ["%00", "a%00b", "%ff", "%ED%A0%80", "9" * 400, "-" + "9" * 400, "A" * 5000]
        if _types(p["schema"]) & {"integer", "number", "boolean"}:  # a free string may well be "NaN"
            values += ["1e400", "NaN", "-1", "0x10", "1.5", ""]
        for value in values:
            yield f"{p['name']}={value[:12]}", f"{quote(p['name'])}={value}"


def _url(template: str, nowhere: dict[str, str], override: dict[str, str]) -> str:
    """``template`` with ``override``'s values, else ``nowhere``'s, else a fresh UUID, for its parameters."""
    return re.sub(r"\{(\w+)\}", lambda m: override.get(m[1], nowhere.get(m[1], str(uuid.uuid4()))), template)


async def _send(c: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    return await c.request(
        method, url, headers={"Idempotency-Key": uuid.uuid4().hex, **kwargs.pop("headers", {})}, **kwargs
    )


async def test_every_route_answers_hostile_input_with_a_4xx_problem_document(
    client: httpx.AsyncClient, system: Processes, pool: asyncpg.Pool
) -> None:
    document = (await client.get("/openapi.json")).json()
    operations = [
        (method.upper(), path, op)
        for path, ops in document["paths"].items()
        if path.startswith("/v1/")
        for method, op in ops.items()
    ]
    assert len(operations) >= 45
    moved = "SELECT (SELECT count(*) FROM transactions) + (SELECT count(*) FROM postings)"
    before = await pool.fetchval(moved)
    failures: list[str] = []
    for method, template, op in operations:
        # Targets that exist nowhere: whatever gets past validation is refused, and changes nothing.
        nowhere = {"wallet": "@nobody_" + uuid.uuid4().hex[:8], "command_id": "nothing-" + uuid.uuid4().hex}
        params = {p["name"]: p for p in op.get("parameters", [])}
        in_path = [n for n, p in params.items() if p["in"] == "path"]
        assert set(in_path) == set(re.findall(r"\{(\w+)\}", template)), template

        where = f"{method} {template}"
        for name in in_path:
            for segment in HOSTILE_SEGMENTS:
                r = await _send(client, method, _url(template, nowhere, {name: segment}), content=b"{}")
                _check(r, f"{where} {name}={segment[:16]}", failures)
        queries = [p for p in params.values() if p["in"] == "query"]
        for what, query in _hostile_queries(queries):
            r = await _send(client, method, f"{_url(template, nowhere, {})}?{query}")
            _check(r, f"{where} ?{what}", failures)
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        if body is None:
            continue
        for what, raw, content_type in _hostile_bodies(_body_fields(document, body)):
            r = await _send(
                client, method, _url(template, nowhere, {}), content=raw, headers={"content-type": content_type}
            )
            _check(r, f"{where} {what}", failures)
    assert not failures, f"{len(failures)} answers were not 4xx problem documents:\n" + "\n".join(failures)
    assert await pool.fetchval(moved) == before, "a hostile request moved money"


async def test_an_amount_with_a_trailing_newline_is_refused(client: httpx.AsyncClient) -> None:
    """``"1\\n"`` was taken for 1 (a Python ``$`` matches before a final newline)."""
    wallet = await new_wallet(client)
    for amount in ("1\n", "1.00\n", "\n1", "1 ", "\u0661"):  # the last: ARABIC-INDIC DIGIT ONE
        body = {"account_id": wallet.usd, "amount": amount, "currency": "USD"}
        r = await _send(client, "POST", "/v1/deposits", json=body)
        assert (r.status_code, r.json()["code"]) == (422, "invalid_amount"), (amount, r.text)


async def test_a_key_with_a_vanishing_rate_is_rate_limited_not_an_error(
    client: httpx.AsyncClient, system: Processes
) -> None:
    """Any rate above 0 may be given; below ~1e-308/s the bucket's double precision arithmetic under- or
    overflowed: a 500 on every request after the first."""
    for rate in (5e-324, 1e-310, 1e-300):
        key = await make_key(client, ["read"], rate=(rate, 1), name=f"{rate}/s")
        async with httpx.AsyncClient(base_url=system.base_url, timeout=30, headers=bearer(key["secret"])) as c:
            assert (await c.get("/v1/commands/nothing")).status_code == 404  # its one token
            for _ in range(2):
                r = await c.get("/v1/commands/nothing")
                assert (r.status_code, r.json()["code"]) == (429, "rate_limited"), (rate, r.text)
                assert 1 <= int(r.headers["Retry-After"]) <= 86_400, r.headers["Retry-After"]


async def test_duplicate_json_keys_are_not_an_error_of_ours(client: httpx.AsyncClient) -> None:
    """A body naming a key twice, whatever the rest of it: a problem document (or, as below, the last wins)."""
    failures: list[str] = []
    for raw in (b'{"amount": 1, "amount": "x"}', b'{"a": 1, "a": 1, "a": {"a": 1, "a": 2}}'):
        _check(await _send(client, "POST", "/v1/deposits", content=raw), f"deposit {raw!r}", failures)
    assert not failures, failures


async def test_an_otherwise_valid_body_with_a_duplicate_key_is_refused(client: httpx.AsyncClient) -> None:
    wallet = await new_wallet(client)
    raw = b'{"account_id": "%s", "amount": 1, "amount": 7, "currency": "USD"}' % wallet.usd.encode()
    r = await _send(client, "POST", "/v1/deposits", content=raw, headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500 and r.headers["content-type"] == PROBLEM, r.text
