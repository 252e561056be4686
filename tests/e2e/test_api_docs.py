"""``/docs`` renders with nothing fetched from another origin (http_gateway/api_docs.py).

Every request the page makes is logged; any to another origin is aborted (as on a machine without internet)
and fails the test, so a UI that still reached for a CDN shows up here, not as a blank page somewhere else.
"""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Page, Route, expect

from http_gateway.api_docs import ASSETS, CONTENT_SECURITY_POLICY
from ledger_cli.processes import Processes

pytestmark = pytest.mark.e2e


async def offline(page: Page, origin: str) -> tuple[list[str], list[str]]:
    """Log every request; abort those to another origin. Returns (requests, CSP or page errors)."""
    requests: list[str] = []
    errors: list[str] = []

    async def gate(route: Route) -> None:
        if route.request.url.startswith(origin + "/"):
            await route.continue_()
        else:
            await route.abort("internetdisconnected")

    await page.route("**/*", gate)
    page.on("request", lambda request: requests.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if "Content Security" in m.text else None)
    return requests, errors


def elsewhere(requests: list[str], origin: str) -> list[str]:
    return [url for url in requests if not url.startswith(origin + "/")]


async def test_docs_renders_the_operations_with_nothing_from_elsewhere(page: Page, system: Processes) -> None:
    requests, errors = await offline(page, system.base_url)
    await page.goto("/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("Ledger")
    transfers = page.locator(".opblock-summary-path", has_text="/v1/transfers").first
    await expect(transfers).to_be_visible()
    assert await page.locator(".opblock").count() >= 45  # every operation of the document
    await transfers.click()  # an operation opens: Swagger UI is live, not a static shell
    await expect(page.locator(".opblock.is-open").first).to_be_visible()
    await page.wait_for_load_state("networkidle")
    assert not elsewhere(requests, system.base_url), elsewhere(requests, system.base_url)
    assert f"{system.base_url}/openapi.json" in requests
    assert f"{system.base_url}/docs/assets/swagger-ui-bundle.js" in requests
    assert not errors, errors


async def test_the_pages_and_files_carry_the_origin_only_policy(system: Processes) -> None:
    async with httpx.AsyncClient(base_url=system.base_url, timeout=30) as anonymous:
        for path in ("/docs", *(f"/docs/assets/{name}" for name in ASSETS)):
            r = await anonymous.get(path)
            assert r.status_code == 200, path
            assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "//" not in (await anonymous.get("/docs")).text  # no absolute URL at all
        assert (await anonymous.get("/docs/assets/../app.py")).status_code == 404
        assert (await anonymous.get("/docs/assets/swagger-ui.js.map")).status_code == 404
        assert (await anonymous.get("/docs/oauth2-redirect")).status_code == 404
        assert (await anonymous.get("/redoc")).status_code == 404  # dropped: ReDoc fetches its logo from a CDN
