"""A route that streams its body (http_gateway/streamed.py) behind the real BodyLimit, in process with a
small bound: at the bound it is read whole, one byte more is 413 whether announced or chunked (and the
route keeps nothing), an answer given before the body came closes the connection, and every other route
keeps the general bound."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request

from http_gateway import problems
from http_gateway.edge import BodyLimit
from http_gateway.problems import Problem
from http_gateway.streamed import BOUND_KEY, streamed_body, streamed_routes

BOUND, GENERAL = 1024, 100


def _app(kept: list[int]) -> BodyLimit:
    app = FastAPI()
    problems.install(app)

    @app.post("/files", openapi_extra=streamed_body(BOUND, "any bytes"))
    async def upload(request: Request) -> dict[str, int]:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        kept.append(size)  # what the real route imports, once the body is all there
        return {"size": size}

    @app.post("/refused", openapi_extra=streamed_body(BOUND, "any bytes"))
    async def refused() -> None:
        raise Problem(401, "unauthenticated", "no key")  # as the key check does, before the body is read

    @app.post("/other")
    async def other(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    assert len(streamed_routes(app.routes)) == 2
    return BodyLimit(app, max_bytes=GENERAL, streamed=streamed_routes(app.routes))


async def _chunked(size: int) -> AsyncIterator[bytes]:
    for start in range(0, size, 300):
        yield b"x" * min(300, size - start)


@pytest.fixture
def kept() -> list[int]:
    return []


@pytest.fixture
async def http(kept: list[int]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app(kept)), base_url="http://t") as client:
        yield client


async def test_a_streamed_route_reads_up_to_its_own_bound(http: httpx.AsyncClient, kept: list[int]) -> None:
    for content in (b"x" * BOUND, _chunked(BOUND)):
        r = await http.post("/files", content=content)
        assert (r.status_code, r.json()) == (200, {"size": BOUND}), r.text
    assert kept == [BOUND, BOUND]


async def test_one_byte_past_it_is_413_and_the_route_keeps_nothing(http: httpx.AsyncClient, kept: list[int]) -> None:
    announced = await http.post("/files", content=b"x" * (BOUND + 1))
    chunked = await http.post("/files", content=_chunked(BOUND + 1))
    for r in (announced, chunked):
        assert (r.status_code, r.json()["code"], r.json()["limit"]) == (413, "payload_too_large", BOUND), r.text
    assert chunked.headers["connection"] == "close"  # the rest of a chunked body is never read
    assert kept == []


async def test_an_answer_before_the_body_closes_the_connection_unless_little_is_left(http: httpx.AsyncClient) -> None:
    chunked = await http.post("/refused", content=_chunked(BOUND))
    small = await http.post("/refused", content=b"x" * BOUND)  # read on and dropped by the server instead
    assert (chunked.status_code, chunked.headers.get("connection")) == (401, "close")
    assert (small.status_code, small.headers.get("connection")) == (401, None)


async def test_every_other_route_keeps_the_general_bound(http: httpx.AsyncClient) -> None:
    assert (await http.post("/other", content=b"x" * GENERAL)).status_code == 200
    for content in (b"x" * (GENERAL + 1), _chunked(GENERAL + 1)):
        r = await http.post("/other", content=content)
        assert (r.status_code, r.json()["limit"]) == (413, GENERAL), r.text


def test_the_declaration_is_published_in_the_schema() -> None:
    app = _app([]).app
    assert isinstance(app, FastAPI)
    assert app.openapi()["paths"]["/files"]["post"][BOUND_KEY] == BOUND
