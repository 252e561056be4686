"""What the browser tests share: Debian's chromium driven by Playwright, and logging in to the console.

Playwright drives ``chromium`` (``make browser-tools``) by its executable path and never downloads a browser.
The ``browser`` (per module) and ``page`` (per test, 1366x768) fixtures are in tests/e2e/conftest.py.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from playwright.async_api import Browser, Page, async_playwright, expect

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
VIEWPORT = {"width": 1366, "height": 768}
TIMEOUT_MS = 15_000


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    assert shutil.which(CHROMIUM), "no chromium: `make browser-tools` installs Debian's"
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            await launched.close()


async def log_in(page: Page, secret: str) -> None:
    """Paste the key on the console's login page, as a person would, and land on Search."""
    await page.goto("/console")
    await expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    await page.get_by_label("API key").fill(secret)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Search")).to_be_visible()
