"""History over HTTP: entries newest first with running balances, filters, cursors that stay correct
while postings arrive, balances as of a past moment, and a wallet's event stream."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from contracts.ids import system_account_id
from ledger_cli.processes import Processes
from tests.e2e.api import get, new_wallet, write

pytestmark = pytest.mark.e2e


def _check_running_balance(entries: list[dict[str, Any]]) -> None:
    """Newest first: each posting's balance_after continues the one before it (in the same account)."""
    older: dict[str, int] = {}
    for e in reversed(entries):
        assert e["balance_after"] == older.get(e["account_id"], 0) + e["amount"], e
        older[e["account_id"]] = e["balance_after"]


async def _rest(client: httpx.AsyncClient, path: str, cursor: str | None, **params: Any) -> list[dict[str, Any]]:
    """Every entry from ``cursor`` on, page by page."""
    out = []
    while cursor:
        page = await get(client, path, **params, cursor=cursor)
        out += page["entries"]
        cursor = page["next_cursor"]
    return out


async def test_entries_filters_cursor_and_balance_as_of(client: httpx.AsyncClient) -> None:
    me, shop, friend = await new_wallet(client, "USD", "EUR"), await new_wallet(client), await new_wallet(client)
    usd = {"currency": "USD"}
    await write(client, "POST", "/v1/deposits", {"wallet": me.handle, "amount": "100.00", **usd})
    await write(client, "POST", "/v1/bonuses", {"wallet": me.handle, "amount": 500, **usd})
    await write(client, "POST", "/v1/deposits", {"wallet": me.handle, "amount": "7.00", "currency": "EUR"})
    for to, amount in ((shop, 1_000), (shop, 1_000), (friend, 300)):
        await write(
            client,
            "POST",
            "/v1/transfers",
            {"debit_wallet": me.handle, "credit_wallet": to.handle, "amount": amount, **usd},
        )
    await write(client, "POST", "/v1/spends", {"wallet": me.handle, "amount": "1.00", **usd})

    path = f"/v1/accounts/{me.usd}/entries"
    entries = (await get(client, path))["entries"]
    assert [e["type"] for e in entries] == ["spend", "transfer", "transfer", "transfer", "bonus", "deposit"]
    assert [e["balance_after_decimal"] for e in entries] == ["81.00", "82.00", "85.00", "95.00", "105.00", "100.00"]
    _check_running_balance(entries)
    assert entries[1]["counterparty_account_ids"] == [friend.usd]
    assert entries[-1]["counterparty_account_ids"] == [str(system_account_id("USD"))]

    assert len((await get(client, path, type="transfer"))["entries"]) == 3
    assert len((await get(client, path, type=["transfer", "bonus"]))["entries"]) == 4
    for party in (shop.handle, shop.id, shop.usd, f"{shop.id.upper()}"):
        found = (await get(client, path, counterparty=party))["entries"]
        assert [e["amount"] for e in found] == [-1_000, -1_000], party
    assert (await get(client, path, counterparty="@nobody_we_know"))["entries"] == []
    since, until = entries[3]["created_at"], entries[1]["created_at"]
    window = (await get(client, path, **{"from": since, "to": until}))["entries"]
    assert [e["posting_id"] for e in window] == [e["posting_id"] for e in entries[2:4]]

    # Both currencies of the wallet, merged newest first.
    everything = (await get(client, f"/v1/wallets/{me.handle}/transactions"))["entries"]
    assert [e["currency"] for e in everything].count("EUR") == 1 and len(everything) == 7
    assert [e["posting_id"] for e in everything] == sorted((e["posting_id"] for e in everything), reverse=True)
    _check_running_balance(everything)

    # Paging back while new postings arrive: nothing twice, nothing skipped; new ones lead a fresh first page.
    first = await get(client, path, limit=2)
    for _ in range(2):
        await write(client, "POST", "/v1/deposits", {"wallet": me.handle, "amount": 1, **usd})
    pages = first["entries"] + await _rest(client, path, first["next_cursor"], limit=2)
    assert [e["posting_id"] for e in pages] == [e["posting_id"] for e in entries]
    assert [e["amount"] for e in (await get(client, path, limit=2))["entries"]] == [1, 1]
    r = await client.get(path, params={"cursor": first["next_cursor"][:-2] + "xx"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_cursor"

    # The balance as of any past moment: after the last posting at or before it.
    for e in entries:
        at = await get(client, f"/v1/accounts/{me.usd}/balance", at=e["created_at"])
        assert (at["balance"], at["posting_id"], at["held"]) == (e["balance_after"], e["posting_id"], None)
    before = datetime.fromisoformat(entries[-1]["created_at"]) - timedelta(microseconds=1)
    empty = await get(client, f"/v1/accounts/{me.usd}/balance", at=before.isoformat())
    assert (empty["balance"], empty["balance_decimal"], empty["posting_id"]) == (0, "0.00", None)
    now = await get(client, f"/v1/accounts/{me.usd}/balance")
    assert (now["balance"], now["available_decimal"]) == (8_102, "81.02")
    past = await get(client, f"/v1/wallets/{me.id}/balance", at=entries[2]["created_at"])
    assert {b["currency"]: b["balance_decimal"] for b in past["balances"]} == {"EUR": "7.00", "USD": "85.00"}


async def test_wallet_event_stream_pages_in_order_and_tails(
    client: httpx.AsyncClient, pool: asyncpg.Pool, system: Processes
) -> None:
    me, other = await new_wallet(client, "USD", "EUR", funded=10_000), await new_wallet(client)
    await write(client, "PATCH", f"/v1/wallets/{me.handle}/metadata", {"metadata": {"tier": "gold"}})
    hold = await write(client, "POST", "/v1/holds", {"wallet": me.handle, "amount": 100, "currency": "EUR"})
    await write(client, "POST", f"/v1/holds/{hold['hold_id']}/release")
    await write(
        client,
        "POST",
        "/v1/transfers",
        {"debit_wallet": me.handle, "credit_wallet": other.handle, "amount": 5, "currency": "USD"},
    )

    path = f"/v1/wallets/{me.handle}/events"
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await get(client, path, limit=3, **({"after": cursor} if cursor else {}))
        seen += page["events"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    stored = await pool.fetch("SELECT event_id::text FROM events WHERE wallet_id = $1 ORDER BY id", me.id)
    assert [e["event_id"] for e in seen] == [r["event_id"] for r in stored]
    streams: dict[str | None, list[int]] = {}
    for e in seen:
        streams.setdefault(e["account_id"], []).append(e["sequence"])
    assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in streams.values()), streams
    assert [e["type"] for e in seen if e["account_id"] is None] == ["wallet.created", "wallet.metadata_changed"]
    assert [e["type"] for e in seen if e["account_id"] == me.accounts["EUR"]] == [
        "account.opened",
        "account.credited",
        "hold.placed",
        "hold.released",
    ]

    # Tailing: the cursor of the last page picks up exactly what happens next.
    assert (await get(client, path, after=cursor))["events"] == []
    await write(client, "POST", "/v1/deposits", {"wallet": me.handle, "amount": 1, "currency": "USD"})
    fresh = await get(client, path, after=cursor)
    assert [(e["type"], e["sequence"]) for e in fresh["events"]] == [("account.credited", streams[me.usd][-1] + 1)]
    mine = await get(client, f"/v1/wallets/{me.id}/events", limit=500)
    assert len(mine["events"]) == len(seen) + 1 and not mine["has_more"]
    r = await client.get(path, params={"after": "bm90IGEgY3Vyc29y"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_cursor"
