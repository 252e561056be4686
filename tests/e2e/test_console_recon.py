"""The console's reconciliation page in a real browser: open breaks by age and reason, a break's statement
line and ledger posting side by side, and a match's two sides."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
from playwright.async_api import Page, expect

from ledger_cli.processes import Processes
from tests.e2e.access import make_key
from tests.e2e.api import key, new_wallet, write
from tests.e2e.test_console import ACCESSIBILITY

pytestmark = pytest.mark.e2e


async def test_breaks_by_age_and_reason_and_both_sides_of_a_match(
    page: Page, client: httpx.AsyncClient, system: Processes
) -> None:
    bank = await new_wallet(client)
    for amount, ref in ((10_000, "CON-A"), (5_000, "CON-B")):
        body = {"account_id": bank.usd, "amount": amount, "currency": "USD", "metadata": {"reference": ref}}
        await write(client, "POST", "/v1/deposits", body)
    name = f"console-{uuid.uuid4().hex[:8]}"
    config = {
        "account_id": bank.usd,
        "currency": "USD",
        "columns": {"amount": "amount", "value_date": "date", "reference": "ref"},
    }
    assert (await client.put(f"/v1/recon/sources/{name}", json=config)).status_code == 200
    day = datetime.now(UTC).date().isoformat()
    statement = f"date,amount,ref\n{day},100.00,CON-A\n{day},40.00,CON-B\n{day},2.00,CON-C\n".encode()
    r = await client.post(f"/v1/recon/sources/{name}/files", content=statement)
    assert r.status_code == 200, r.text
    await write(client, "POST", f"/v1/recon/sources/{name}/runs", {}, idempotency_key=key())
    reconciler = await make_key(client, ["read", "reconcile"], name="console reconciler")

    await page.goto("/console")
    await page.get_by_label("API key").fill(reconciler["secret"])
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Search")).to_be_visible()
    await page.goto(f"/console#/recon?source={name}&state=open")
    await expect(page.get_by_role("heading", name="Reconciliation")).to_be_visible()
    by_age = page.get_by_role("table", name="Open breaks by reason and age")
    await expect(by_age.get_by_role("row", name="amount_differs")).to_be_visible()
    listed = page.get_by_role("table", name="Breaks", exact=True)
    differs = listed.get_by_role("row").filter(has_text="amount_differs")
    await expect(differs).to_contain_text("+40.00")  # the statement's side
    await expect(differs).to_contain_text("+50.00")  # the ledger's side, next to it
    await expect(listed.get_by_role("row").filter(has_text="statement_line_unmatched")).to_contain_text(
        "not in the ledger"
    )
    assert await page.evaluate(ACCESSIBILITY) == []

    conn = await asyncpg.connect(system.settings.database_url.get_secret_value())
    try:
        match_id = await conn.fetchval(
            "SELECT l.match_id FROM recon_lines l JOIN recon_sources s ON s.id = l.source_id"
            " WHERE s.name = $1 AND l.match_id IS NOT NULL",
            name,
        )
    finally:
        await conn.close()
    await page.goto(f"/console#/recon/match/{match_id}")
    await expect(page.get_by_role("table", name="Statement lines")).to_contain_text("CON-A")
    await expect(page.get_by_role("table", name="Ledger postings")).to_contain_text("+100.00")
