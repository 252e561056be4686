"""Money in the console as people read it: every amount in decimal with its currency (issue 26).

Real chromium against real processes. A world of amounts whose minor units are distinctive (seven digits
and more, beyond 2^53 in a currency of exponent 3) is shown on every page; each page is then checked
two ways: every amount element (``[data-money]``, what money.js makes) reads exactly the Python
``Decimal`` of its minor units and its code, and nowhere else on the page (text, SVG, titles, labels)
does a number stand beside a currency without that currency's decimals, nor a raw minor-unit figure of
the world appear at all.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from ledger_cli.processes import Processes
from tests.e2e.access import make_key
from tests.e2e.api import Wallet, new_wallet, write
from tests.e2e.browser import TIMEOUT_MS, log_in

pytestmark = pytest.mark.e2e

PAID = 1_234_567  # 12345.67 USD
REFUNDS = (100_001, 50_002)  # 1000.01 and 500.02 USD
HELD = 432_109  # 4321.09 USD
EUR_DEPOSIT = 7_777_777  # 77777.77 EUR, on an account opened after the wallet's USD one
HUGE = 98_765_432_109_876_543_210_987  # beyond 2^53: 98765432109876543210.987 in a currency of exponent 3
MOVED = 12_345_678_901_234_567_890_123  # of it, to the shop
LIMITS = {"min_balance": -250_000, "max_per_transaction": 3_333_333, "daily_debit_amount": 4_444_444}


@dataclass
class World:
    customer: Wallet
    shop: Wallet  # created in USD; EUR opened later
    whale: Wallet  # in the exponent-3 currency
    code: str  # that currency
    intent_id: str
    hold_id: str
    payment_id: str
    read_key: str
    admin_key: str
    exponents: dict[str, int]
    raw: set[int]  # every minor-unit figure the pages could show: none may appear as such
    payer_key: str  # read, bound to the customer's wallet: the intent's payer


@pytest.fixture(scope="module")
async def world(system: Processes) -> World:
    token = system.settings.service_api_key.get_secret_value()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=system.base_url, timeout=30, headers=headers) as c:
        code = f"M{uuid.uuid4().hex[:8].upper()}"
        await write(c, "POST", "/v1/currencies", {"code": code, "name": "Console milli-unit", "exponent": 3})
        customer = await new_wallet(c, funded=5_000_000)
        shop = await new_wallet(c, kind="merchant")
        eur = await write(c, "POST", f"/v1/wallets/{shop.handle}/accounts", {"currency": "EUR"})
        await write(
            c, "POST", "/v1/deposits", {"account_id": eur["account_id"], "amount": EUR_DEPOSIT, "currency": "EUR"}
        )
        await write(c, "PUT", f"/v1/accounts/{shop.usd}/limits", LIMITS)
        intent = {"merchant_wallet": shop.handle, "amount": PAID, "currency": "USD", "description": "order 26"}
        intent_id = (await write(c, "POST", "/v1/payment_intents", intent))["intent_id"]
        paid = await write(c, "POST", f"/v1/payment_intents/{intent_id}/pay", {"payer_wallet": customer.handle})
        for amount in REFUNDS:
            await write(c, "POST", "/v1/refunds", {"intent_id": intent_id, "currency": "USD", "amount": amount})
        hold = {"account_id": customer.usd, "amount": HELD, "currency": "USD", "recipient_wallet": shop.handle}
        hold_id = (await write(c, "POST", "/v1/holds", hold))["hold_id"]
        whale = await new_wallet(c, code)
        await write(c, "POST", "/v1/deposits", {"account_id": whale.accounts[code], "amount": HUGE, "currency": code})
        await write(c, "POST", f"/v1/wallets/{shop.handle}/accounts", {"currency": code})
        moved = {"debit_wallet": whale.handle, "credit_wallet": shop.handle, "amount": MOVED, "currency": code}
        await write(c, "POST", "/v1/transfers", moved)
        read_key = (await make_key(c, ["read"], name="console money reader"))["secret"]
        admin_key = (await make_key(c, ["admin", "read"], name="console money admin"))["secret"]
        payer_key = (await make_key(c, ["read"], wallet_id=customer.id, name="console money payer"))["secret"]
        currencies = (await c.get("/v1/currencies")).json()
    refunded = sum(REFUNDS)
    raw = {
        250_000,
        3_333_333,
        4_444_444,
        PAID,
        *REFUNDS,
        refunded,
        PAID - refunded,
        HELD,
        EUR_DEPOSIT,
        HUGE,
        MOVED,
        HUGE - MOVED,
    }
    raw |= {5_000_000, 5_000_000 - PAID, 5_000_000 - PAID + REFUNDS[0], 5_000_000 - PAID + refunded}
    raw |= {5_000_000 - PAID + refunded - HELD, PAID - REFUNDS[0]}
    return World(
        customer,
        shop,
        whale,
        code,
        intent_id,
        hold_id,
        paid["transaction_id"],
        read_key,
        admin_key,
        {c["code"]: c["exponent"] for c in currencies},
        raw,
        payer_key,
    )


def decimal_text(minor: int, exponent: int) -> str:
    return f"{Decimal(minor).scaleb(-exponent):.{exponent}f}"


#: The page's amount elements, and its other text with those elements taken out (SVG text, titles, aria
#: labels and option labels included; a dead letter's raw body preview excluded: it is the message as sent).
SCAN = """() => {
  const amounts = [...document.querySelectorAll("main [data-money]")]
    .map((e) => [e.textContent, e.dataset.money, e.dataset.currency]);
  const copy = document.querySelector("main").cloneNode(true);
  const labels = [...copy.querySelectorAll("[aria-label]")].map((e) => e.getAttribute("aria-label"));
  for (const e of copy.querySelectorAll("[data-money], code.preview")) e.remove();
  return { amounts, rest: [copy.textContent, ...labels].join("\\n") };
}"""


async def check_money(page: Page, world: World, *, at_least: int) -> list[tuple[str, int, str]]:
    await page.wait_for_load_state("networkidle")
    await expect(page.locator("main .loading")).to_have_count(0)
    found: dict[str, Any] = await page.evaluate(SCAN)
    amounts = [(text, int(minor), currency) for text, minor, currency in found["amounts"]]
    assert len(amounts) >= at_least, amounts
    for text, minor, currency in amounts:
        assert currency in world.exponents, text
        sign = "+" if text.startswith("+") else ""
        assert text == f"{sign}{decimal_text(minor, world.exponents[currency])} {currency}", (text, minor)
    codes = "|".join(re.escape(c) for c in world.exponents)
    for number, fraction, currency in re.findall(rf"(?<![\w.])[-+\u2212]?(\d+)(\.\d+)? ?({codes})\b", found["rest"]):
        assert len(fraction) - 1 == world.exponents[currency] if fraction else world.exponents[currency] == 0, (
            f"{number}{fraction} {currency} outside the amount elements"
        )
    for figure in world.raw:
        assert not re.search(rf"(?<![\w.]){figure}(?![\w])", found["rest"]), f"raw minor units {figure} shown"
    return amounts


async def test_every_page_shows_every_amount_in_decimal_with_its_currency(page: Page, world: World) -> None:
    await log_in(page, world.read_key)
    await page.get_by_label("Wallet, account or object").fill(world.shop.handle)
    await page.get_by_role("button", name="Search").click()
    await expect(page.get_by_role("table", name="Wallets found")).to_be_visible()
    await check_money(page, world, at_least=3)  # the shop's available amounts, one per account

    await page.goto(f"/console#/wallet/{world.shop.handle}")
    await expect(page.locator("#events-body tr").first).to_be_visible()
    await expect(page.locator("svg.balance-chart")).to_be_visible()
    amounts = await check_money(page, world, at_least=20)
    assert ("12345678901234567890.123 " + world.code, MOVED, world.code) in amounts  # beyond 2^53, exact
    assert ("+12345.67 USD", PAID, "USD") in amounts  # the payment among the live events, signed
    events = page.locator("#events-body")
    await expect(events).to_contain_text("balance 12345.67 USD")

    await page.goto(f"/console#/wallet/{world.whale.handle}")
    await expect(page.locator("svg.balance-chart")).to_be_visible()
    amounts = await check_money(page, world, at_least=6)
    assert (f"{decimal_text(HUGE - MOVED, 3)} {world.code}", HUGE - MOVED, world.code) in amounts
    ticks = page.locator("svg.balance-chart .tick text")
    await expect(ticks.last).to_have_text(f"{decimal_text(HUGE, 3)} {world.code}")  # the axis, exact and named

    for path, ready in (
        (f"#/tx/{world.payment_id}", "#chain-summary"),
        (f"#/hold/{world.hold_id}", ".facts"),
        (f"#/intent/{world.intent_id}", "table:has(caption:text('Refunds of this intent'))"),
    ):
        await page.goto(f"/console{path}")
        await expect(page.locator(ready)).to_be_visible()
        await check_money(page, world, at_least=2)

    await page.goto(f"/console#/flows?currency={world.code}")
    diagram = page.locator("svg.sankey")
    await expect(diagram).to_be_visible()
    await check_money(page, world, at_least=4)
    labels = diagram.locator(".band-label")
    assert await labels.count() == await diagram.locator("path.band").count() >= 2  # every band carries its amount
    await expect(diagram.locator(".band-label", has_text=f"12345678901234567890.123 {world.code}")).to_have_count(1)

    await page.get_by_role("button", name="Log out").click()
    await log_in(page, world.admin_key)
    await page.goto("/console#/ops")
    await expect(page.get_by_role("heading", name="Outbox backlog")).to_be_visible()
    await check_money(page, world, at_least=0)  # no amount of its own: none in minor units either


async def test_a_refund_is_labelled_a_refund_and_the_intent_lists_its_refunds(page: Page, world: World) -> None:
    await log_in(page, world.read_key)
    await page.goto(f"/console#/wallet/{world.shop.handle}")
    refunded = page.locator("#events-body tr", has=page.locator("code", has_text="intent.refunded"))
    await expect(refunded).to_have_count(2)
    await expect(refunded.first).to_contain_text("refund: 500.02 USD back to the payer (1500.03 USD of 12345.67 USD")
    await expect(refunded.last).to_contain_text("refund: 1000.01 USD back to the payer")
    for row in await refunded.all():
        assert "intent paid" not in await row.inner_text()
    holds = page.get_by_role("table", name="Holds and intents seen in this wallet's events, latest first")
    intent_row = holds.locator("tr", has=page.locator(f'a[href="#/intent/{world.intent_id}"]'))
    await expect(intent_row).to_contain_text("partly refunded")
    await expect(intent_row).to_contain_text("1500.03 USD")

    await page.goto(f"/console#/intent/{world.intent_id}")
    refunds = page.get_by_role("table", name="Refunds of this intent, newest first")
    await expect(refunds.locator("tbody tr")).to_have_count(2)
    await expect(refunds.locator("tbody tr").first).to_contain_text("500.02 USD")
    await expect(refunds.locator("tbody tr").last).to_contain_text("1000.01 USD")
    await expect(page.locator(".facts")).to_contain_text("partly refunded")


async def test_the_payer_reads_the_refunds_of_its_intent(page: Page, world: World) -> None:
    # Bound to the customer's wallet, the key may not read the merchant's events: the intent lists its refunds.
    await log_in(page, world.payer_key)
    await page.goto(f"/console#/intent/{world.intent_id}")
    refunds = page.get_by_role("table", name="Refunds of this intent, newest first")
    await expect(refunds.locator("tbody tr")).to_have_count(2)
    await expect(refunds.locator("tbody tr").first).to_contain_text("500.02 USD")
    await expect(refunds.locator("tbody tr").first).to_contain_text("1500.03 USD")  # refunded in all, after it
    await expect(refunds.locator("tbody tr").last).to_contain_text("1000.01 USD")
    await expect(page.locator("main .notice")).to_have_count(0)  # no access refused anywhere on the page
    await check_money(page, world, at_least=7)


async def test_the_chart_opens_on_the_wallets_main_account(page: Page, world: World) -> None:
    await log_in(page, world.read_key)
    await page.goto(f"/console#/wallet/{world.shop.handle}")
    chart = page.locator("svg.balance-chart")
    await expect(chart).to_be_visible()
    # EUR sorts first and was opened later: the chart is the USD account's, the wallet's first.
    assert await page.locator("#chart-account").input_value() == world.shop.usd
    assert "USD account" in (await chart.get_attribute("aria-label") or "")
    assert await chart.locator("circle.point").count() == 4  # the opening 0, the payment, two refunds


async def test_instants_are_typed_and_shown_in_iso_utc_whatever_the_browsers_locale(
    browser: Browser, system: Processes, world: World
) -> None:
    context = await browser.new_context(base_url=system.base_url, locale="de-DE", timezone_id="Asia/Tokyo")
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    try:
        await log_in(page, world.read_key)
        await page.goto("/console#/flows?from=2026-01-02&to=2026-01-03")
        assert await page.locator("input[type=date], input[type=datetime-local]").count() == 0
        assert await page.locator("#flow-from").input_value() == "2026-01-02"
        assert await page.locator("#flow-from").get_attribute("placeholder") == "YYYY-MM-DD"
        await page.goto(f"/console#/wallet/{world.shop.handle}")
        at = page.get_by_label("Balance at (UTC")
        assert await at.get_attribute("type") is None  # a text field: no locale-formatted picker
        await at.fill("1999-12-31 23:59:59")
        await page.get_by_role("button", name="Show", exact=True).click()
        await expect(page.locator("#balance-at-result")).to_contain_text("0.00 USD posted (no posting yet)")
        await at.fill("31.12.1999")  # the locale's way: refused by the field's own pattern, nothing asked
        await page.get_by_role("button", name="Show", exact=True).click()
        await expect(page.locator("#balance-at:invalid")).to_have_count(1)
        created = page.locator(".facts time").first
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ", await created.inner_text()), await created.inner_text()
    finally:
        await context.close()
