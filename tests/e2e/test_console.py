"""The operator console (``/console``) in headless Chromium against real processes.

Debian's ``chromium`` (``make browser-tools``), driven by Playwright with its executable path: Playwright
never downloads a browser. Each test logs in by pasting a key, as a person would, and checks what the
page shows; the screenshots in docs/console/ are taken here, at 1366x768.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection
from playwright.async_api import Browser, Page, expect

from contracts.topology import DEAD_LETTER_REASON_HEADER
from http_gateway.console import CONTENT_SECURITY_POLICY, MEDIA_TYPES
from ledger_cli.processes import Processes
from ledger_common.settings import Settings
from tests.e2e.access import make_key
from tests.e2e.api import Wallet, new_wallet, write
from tests.e2e.browser import TIMEOUT_MS, VIEWPORT
from tests.e2e.conftest import publish_command, wait_until

pytestmark = pytest.mark.e2e

#: ``UPDATE_CONSOLE_SCREENSHOTS=1`` writes the screenshots to docs/console/ (committed); otherwise they are
#: taken and kept in memory only, so that a test run leaves the work tree (and /tmp) as it was.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"
UPDATE_SCREENSHOTS = os.environ.get("UPDATE_CONSOLE_SCREENSHOTS") == "1"


def service(system: Processes) -> httpx.AsyncClient:
    token = system.settings.service_api_key.get_secret_value()
    return httpx.AsyncClient(base_url=system.base_url, timeout=30, headers={"Authorization": f"Bearer {token}"})


@dataclass
class World:
    alice: Wallet
    alice_ref: str  # its external ref
    bob: Wallet
    carol: Wallet
    frozen: Wallet  # frozen with a reason
    transfer_id: str
    hold_id: str
    intent_id: str
    read_key: str  # unbound, read only
    bob_key: str  # read, bound to bob
    alice_key: str  # read, bound to alice
    admin_key: str  # unbound, admin and read


@pytest.fixture(scope="module")
async def world(system: Processes) -> World:
    async with service(system) as c:
        alice_ref = f"crm-{uuid.uuid4().hex[:12]}"
        alice = await new_wallet(c, funded=10_000, metadata={"segment": "console-demo"}, external_ref=alice_ref)
        bob = await new_wallet(c, funded=4_000)
        carol = await new_wallet(c)
        transfer = {"debit_wallet": alice.handle, "credit_wallet": bob.handle, "amount": "25.50", "currency": "USD"}
        transfer_id = (await write(c, "POST", "/v1/transfers", transfer))["transaction_id"]
        for debit, credit, amount in ((alice, carol, 1200), (bob, carol, 300), (alice, bob, 700)):
            body = {"debit_wallet": debit.handle, "credit_wallet": credit.handle, "amount": amount, "currency": "USD"}
            await write(c, "POST", "/v1/transfers", body)
        hold = {"account_id": alice.usd, "amount": 500, "currency": "USD", "recipient_wallet": carol.handle}
        hold_id = (await write(c, "POST", "/v1/holds", hold))["hold_id"]
        intent = {"merchant_wallet": bob.handle, "amount": 1999, "currency": "USD", "description": "order 42"}
        intent_id = (await write(c, "POST", "/v1/payment_intents", intent))["intent_id"]
        frozen = await new_wallet(c, funded=100)
        await write(c, "POST", f"/v1/wallets/{frozen.handle}/freeze", {"reason": "chargeback review 7"})
        read_key = (await make_key(c, ["read"], name="console reader"))["secret"]
        bob_key = (await make_key(c, ["read"], wallet_id=bob.id, name="console bob"))["secret"]
        alice_key = (await make_key(c, ["read"], wallet_id=alice.id, name="console alice"))["secret"]
        admin_key = (await make_key(c, ["admin", "read"], name="console admin"))["secret"]
    return World(
        alice, alice_ref, bob, carol, frozen, transfer_id, hold_id, intent_id, read_key, bob_key, alice_key, admin_key
    )


async def log_in(page: Page, secret: str, *, screenshot: bool = False) -> None:
    await page.goto("/console")
    await expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    await page.get_by_label("API key").fill(secret)
    if screenshot:
        await shoot(page, "login")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Search")).to_be_visible()


#: What a page must not have: a form field without a label, a table without a caption, a nameless button or
#: link, a chart without a text alternative, other than one h1.
ACCESSIBILITY = """() => {
  const bad = [];
  for (const el of document.querySelectorAll("main input, main select, main textarea"))
    if (!(el.labels && el.labels.length) && !el.getAttribute("aria-label")) bad.push(`unlabelled ${el.id}`);
  for (const t of document.querySelectorAll("main table"))
    if (!t.querySelector("caption")) bad.push("uncaptioned table");
  for (const b of document.querySelectorAll("button, a"))
    if (!b.textContent.trim() && !b.getAttribute("aria-label")) bad.push(`nameless ${b.tagName}`);
  for (const c of document.querySelectorAll("svg.chart"))
    if (!c.getAttribute("aria-label")) bad.push("chart without text");
  if (document.querySelectorAll("h1").length !== 1) bad.push("not one h1");
  return bad;
}"""


async def shoot(page: Page, name: str) -> None:
    path = str(SCREENSHOTS / f"{name}.png") if UPDATE_SCREENSHOTS else None
    assert await page.screenshot(path=path)  # rendered, whether or not it is written


def test_the_policy_allows_nothing_inline_nor_from_elsewhere() -> None:
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["default-src"] == directives["script-src"] == directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == directives["base-uri"] == directives["form-action"] == "'none'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


async def test_console_is_served_with_a_strict_policy_and_loads_nothing_from_elsewhere(
    system: Processes, world: World, browser: Browser
) -> None:
    async with httpx.AsyncClient(base_url=system.base_url, timeout=30) as anonymous:
        for path in ("/console", *(f"/console/{name}" for name in MEDIA_TYPES)):
            r = await anonymous.get(path)
            assert r.status_code == 200, path
            assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["referrer-policy"] == "no-referrer"
            assert "set-cookie" not in r.headers
        assert (await anonymous.get("/console/../app.py")).status_code == 404
        assert (await anonymous.get("/console/nothing.js")).status_code == 404
        assert "/console" not in json.dumps((await anonymous.get("/openapi.json")).json()["paths"])

    context = await browser.new_context(viewport=VIEWPORT, base_url=system.base_url)  # type: ignore[arg-type]
    context.set_default_timeout(TIMEOUT_MS)
    requests: list[str] = []
    violations: list[str] = []
    page = await context.new_page()
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: violations.append(message.text) if "Content Security" in message.text else None)
    await log_in(page, world.read_key)
    for hash_route, heading in (
        (f"#/wallet/{world.alice.handle}", f"Wallet {world.alice.handle}"),
        (f"#/tx/{world.transfer_id}", "Transaction"),
        (f"#/hold/{world.hold_id}", "Hold"),
        (f"#/intent/{world.intent_id}", "Payment intent"),
        ("#/flows", "Flows between wallets"),
        ("#/ops", "Operations"),
    ):
        await page.goto(f"/console{hash_route}")
        await expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        await page.wait_for_load_state("networkidle")
        assert await page.evaluate(ACCESSIBILITY) == [], hash_route
    assert await context.cookies() == [], "the console sets no cookie"
    await context.close()
    assert requests and all(url.startswith(system.base_url + "/") for url in requests), [
        u for u in requests if not u.startswith(system.base_url)
    ]
    assert not violations, violations


async def test_find_a_wallet_see_its_chart_open_a_transaction_and_watch_events_live(
    page: Page, world: World, system: Processes
) -> None:
    await log_in(page, world.read_key, screenshot=True)
    await page.get_by_label("Wallet, account or object").fill("segment=console-demo")
    await page.get_by_role("button", name="Search").click()
    results = page.get_by_role("table", name="Wallets found")
    await expect(results.get_by_role("link", name=world.alice.handle)).to_be_visible()
    await shoot(page, "search")

    for query in (f"ext:{world.alice_ref}", world.alice.id):
        await page.get_by_label("Wallet, account or object").fill(query)
        await page.get_by_role("button", name="Search").click()
        await expect(page.get_by_role("table", name="Wallets found")).to_contain_text(world.alice_ref)
    await page.get_by_label("Wallet, account or object").fill(world.alice.usd)
    await page.get_by_role("button", name="Search").click()
    await expect(page.get_by_role("link", name=world.alice.id)).to_be_visible()  # an account: its wallet
    await page.get_by_label("Wallet, account or object").fill(world.alice.handle)
    await page.get_by_role("button", name="Search").click()
    await results.get_by_role("link", name=world.alice.handle).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Wallet {world.alice.handle}")
    balances = page.get_by_role("table", name="Balances")
    await expect(balances).to_contain_text("55.50")  # 100.00 - 25.50 - 12.00 - 7.00 posted; 5.00 held
    await expect(balances).to_contain_text("50.50")

    chart = page.locator("svg.balance-chart")
    await expect(chart).to_be_visible()
    line = await chart.locator("path.line").get_attribute("d")
    assert line is not None and line.startswith("M") and line.count("V") >= 4, line
    assert await chart.locator("circle.point").count() == 5  # the opening 0, then four postings
    assert "postings" in (await chart.get_attribute("aria-label") or "")
    await expect(page.locator("#events-body tr").first).to_be_visible()
    await shoot(page, "wallet")
    await page.get_by_label("Balance at (UTC)").fill(datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    await page.get_by_role("button", name="Show", exact=True).click()
    await expect(page.locator("#balance-at-result")).to_contain_text("55.50 USD posted")

    # A transfer made meanwhile appears among the events without a reload.
    async with service(system) as c:
        body = {
            "debit_wallet": world.alice.handle,
            "credit_wallet": world.carol.handle,
            "amount": 111,
            "currency": "USD",
        }
        live_id = (await write(c, "POST", "/v1/transfers", body))["transaction_id"]
    await expect(page.locator(f'#events-body a[href="#/tx/{live_id}"]')).to_be_visible()
    await expect(page.locator("#announce")).to_contain_text("new event")

    await (
        page.get_by_role("table", name="Postings of this wallet, newest first")
        .locator(f'a[href="#/tx/{world.transfer_id}"]')
        .click()
    )
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Transaction")
    debits = page.get_by_role("table", name="Debits (money out)")
    credits = page.get_by_role("table", name="Credits (money in)")
    await expect(debits).to_contain_text("25.50")
    await expect(debits.get_by_role("link", name=world.alice.handle)).to_be_visible()
    await expect(credits).to_contain_text("25.50")
    await expect(credits.get_by_role("link", name=world.bob.handle)).to_be_visible()
    await expect(page.get_by_text("Balanced: debits equal credits")).to_be_visible()
    await expect(page.locator("#chain-summary")).to_contain_text("2 posting hash(es) recomputed")
    assert await page.locator('[data-hash-check="ok"]').count() == 2
    assert await page.locator('[data-hash-check="broken"]').count() == 0
    await expect(page.locator(".facts")).to_contain_text("service")  # the principal, to an unbound reader
    await shoot(page, "transaction")

    await page.goto(f"/console#/hold/{world.hold_id}")
    await expect(page.locator(".facts")).to_contain_text("pending")
    await expect(page.locator(".facts")).to_contain_text("5.00 USD")
    await shoot(page, "hold")
    await page.goto(f"/console#/intent/{world.intent_id}")
    await expect(page.locator(".facts")).to_contain_text("open")
    await expect(page.locator(".facts")).to_contain_text("19.99 USD")
    await shoot(page, "intent")


async def test_why_a_wallet_is_frozen(page: Page, world: World) -> None:
    await log_in(page, world.read_key)
    await page.goto(f"/console#/wallet/{world.frozen.handle}")
    status = page.locator(".facts dd").filter(has=page.locator(".badge"))
    await expect(status).to_contain_text("frozen")
    await expect(status).to_contain_text("credits still allowed")  # the default of a freeze
    await expect(status).to_contain_text("Reason: chargeback review 7 (service,")


async def test_flows_between_wallets_are_drawn(page: Page, world: World) -> None:
    # Alice's own key: the flows of her transactions only, whatever else the session's other tests moved.
    await log_in(page, world.alice_key)
    await page.goto("/console#/flows?currency=USD")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Flows between wallets")
    diagram = page.locator("svg.sankey")
    await expect(diagram).to_be_visible()
    assert await diagram.locator("path.band").count() == 3  # treasury -> alice -> bob, carol
    await page.get_by_text("Show the USD flows as a table").click()
    flows = page.get_by_role("table", name="Flows in USD")
    await expect(flows).to_contain_text(world.alice.handle)
    await expect(flows).to_contain_text(world.carol.handle)
    await expect(flows).not_to_contain_text("3.00")  # bob -> carol is not alice's
    await shoot(page, "flows")


async def _dead_command(amqp: AbstractRobustConnection, settings: Settings, account: str) -> str:
    """A valid deposit straight into the commands' dead-letter exchange, as if it had died (test_dlq.py)."""
    key = f"console-dead-{uuid.uuid4().hex}"
    command = {
        "command_id": key,
        "type": "deposit",
        "principal": "service",
        "issued_at": datetime.now(UTC).isoformat(),
        "payload": {"account_id": account, "amount": 4321, "currency": "USD"},
    }
    channel = await amqp.channel(publisher_confirms=True)
    await settings.topology.declare_commands(channel)
    dlx = await channel.get_exchange(settings.topology.commands_dlx)
    headers: dict[str, Any] = {
        DEAD_LETTER_REASON_HEADER: "internal error: simulated for the console",
        "x-ledger-original-routing-key": "deposit",
    }
    message = aio_pika.Message(
        json.dumps(command).encode(),
        headers=headers,
        content_type="application/json",
        message_id=key,
        user_id=settings.amqp_user,  # published by the gateway's broker user: its claim of "service" holds
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )
    await dlx.publish(message, routing_key="deposit")
    await channel.close()
    return key


async def test_admin_replays_a_dead_letter_and_a_read_key_is_refused(
    page: Page, world: World, system: Processes, amqp: AbstractRobustConnection, settings: Settings
) -> None:
    dead = await _dead_command(amqp, settings, world.carol.usd)

    # A read key sees the page but not the dead letters, and its replay is refused.
    await log_in(page, world.read_key)
    await page.goto("/console#/ops")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Operations")
    await expect(page.get_by_role("alert").first).to_contain_text("needs the admin scope")
    await page.get_by_label("Dead letter id").fill(dead)
    await page.get_by_role("button", name="Replay", exact=True).click()
    await expect(page.locator("#ops-status")).to_contain_text("This key may not replay dead letters")
    await expect(page.locator("#ops-status")).to_contain_text("403")
    await shoot(page, "ops-refused")
    await page.get_by_role("button", name="Log out").click()

    await asyncio.to_thread(system.run_cli, "audit", "--json", check=False)  # the summary shows its result
    junk = f"console-junk-{uuid.uuid4().hex}"
    await publish_command(amqp, settings, b'{"command_id": "x", "type": "dep', message_id=junk, routing_key="deposit")
    await log_in(page, world.admin_key)
    await page.goto("/console#/ops")
    await expect(page.get_by_role("heading", name="Outbox backlog")).to_be_visible()
    await expect(page.get_by_role("heading", name="Last ledger audit").locator("..")).to_contain_text("ran")
    dead_commands = page.get_by_role("table", name="Dead commands")
    await expect(dead_commands).to_contain_text(dead)
    await expect(dead_commands).to_contain_text(junk)
    await shoot(page, "ops")

    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await page.get_by_role("button", name=f"Purge {junk}").click()
    await expect(page.locator("#ops-status")).to_contain_text(f"Purged {junk}")
    await expect(page.get_by_role("button", name=f"Purge {junk}")).to_have_count(0)
    await page.get_by_role("button", name=f"Replay {dead}").click()
    await expect(page.locator("#ops-status")).to_contain_text(f"Replayed {dead}")
    await expect(page.get_by_role("button", name=f"Replay {dead}")).to_have_count(0)

    async with service(system) as c:

        async def applied() -> bool:
            r = await c.get(f"/v1/commands/{dead}")
            return r.status_code == 200 and r.json().get("status") == "applied"

        await wait_until(applied)


async def focused(page: Page) -> str:
    text: str = await page.evaluate("() => document.activeElement.id || document.activeElement.textContent")
    return text


async def test_a_key_bound_to_another_wallet_is_refused_that_wallet_all_by_keyboard(page: Page, world: World) -> None:
    await page.goto("/console")
    assert await focused(page) == "api-key"
    await page.keyboard.type(world.bob_key)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Search")
    await expect(page.locator("#who-text")).to_contain_text(f"bound to {world.bob.handle}")
    await page.keyboard.press("Tab")
    assert await focused(page) == "q"
    await page.keyboard.type(world.bob.handle)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("table", name="Wallets found")).to_be_visible()
    for _ in range(12):
        await page.keyboard.press("Tab")
        if await focused(page) == world.bob.handle and await page.evaluate(
            "() => !!document.activeElement.closest('table')"
        ):
            break
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Wallet {world.bob.handle}")

    await page.goto(f"/console#/wallet/{world.alice.handle}")
    await expect(page.get_by_role("alert")).to_contain_text("bound to another wallet (403 wrong_wallet)")
    await expect(page.get_by_role("table", name="Balances")).to_have_count(0)  # nothing of it, nor of bob's
    await shoot(page, "wallet-refused")
    await page.goto(f"/console#/wallet/{world.bob.handle}")
    await expect(page.get_by_role("table", name="Balances")).to_contain_text("USD")
    await expect(page.locator("svg.balance-chart")).to_be_visible()
    await page.goto(f"/console#/tx/{world.transfer_id}")  # bob is paid by it: his side, not alice's balance
    await expect(page.get_by_role("table", name="Debits (money out)")).to_contain_text("not shown to this key")
