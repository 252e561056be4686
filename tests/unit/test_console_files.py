"""The console's static files, without a browser: served with their headers, nothing inline that the CSP
would block, nothing from another origin, no cookie, the key kept in sessionStorage only."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from http_gateway import console

FILES = {name: (console.DIRECTORY / name).read_text() for name in console.MEDIA_TYPES}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    console.install(app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http:
        yield http


async def test_every_file_is_served_with_the_policy_and_nothing_else_is(client: httpx.AsyncClient) -> None:
    for name, media_type in console.MEDIA_TYPES.items():
        r = await client.get(f"/console/{name}")
        assert r.status_code == 200 and r.headers["content-type"] == media_type
        assert r.headers["content-security-policy"] == console.CONTENT_SECURITY_POLICY
        assert r.headers["x-content-type-options"] == "nosniff" and r.headers["referrer-policy"] == "no-referrer"
        assert "set-cookie" not in r.headers
    assert (await client.get("/console")).text == FILES["index.html"]
    for missing in ("/console/console.py", "/console/..%2fconsole.py", "/console/app.js.map"):
        assert (await client.get(missing)).status_code == 404, missing


def test_nothing_inline_and_nothing_from_elsewhere() -> None:
    html = FILES["index.html"]
    assert re.findall(r"<script\b[^>]*>", html) == ['<script type="module" src="/console/app.js">']
    assert "<style" not in html and " style=" not in html and not re.search(r"\son[a-z]+=", html)
    for name, text in FILES.items():
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text, re.IGNORECASE) or name == "charts.js", name
        assert "innerHTML" not in text and "insertAdjacentHTML" not in text and "eval(" not in text, name
    # charts.js names the SVG namespace, which is an identifier, not a request.
    assert re.findall(r"https?://[^\"' ]+", FILES["charts.js"]) == ["http://www.w3.org/2000/svg"]


def test_the_key_lives_in_session_storage_and_goes_as_a_bearer_token() -> None:
    scripts = {name: text for name, text in FILES.items() if name.endswith(".js")}
    for name, text in scripts.items():
        assert "document.cookie" not in text and "localStorage" not in text, name
    app = "\n".join(scripts.values())
    assert "sessionStorage.setItem(KEY" in app and "Authorization = `Bearer ${key}`" in app
    assert 'credentials: "omit"' in app
