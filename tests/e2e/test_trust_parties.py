"""Who may stand on each side of a command, over HTTP (docs/security.md, the capability table): system
accounts only for ``treasury``, a capture's new recipient only with ``transfer``, reversals only with
``reverse``. Each test would have failed before b44486f; its comment says what happened then."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from contracts.ids import system_account_id
from tests.e2e.access import make_key
from tests.e2e.api import new_wallet, write
from tests.e2e.trust import as_key

pytestmark = pytest.mark.e2e

TREASURY = str(system_account_id("USD"))
REVENUE = str(system_account_id("USD", "revenue"))


async def _state(pool: asyncpg.Pool, *accounts: str) -> dict[str, tuple[int, int, int]]:
    """(balance, held, postings) of each account."""
    rows = await pool.fetch(
        "SELECT a.id::text AS id, a.balance, a.held, (SELECT count(*) FROM postings p WHERE p.account_id = a.id) AS n"
        " FROM accounts a WHERE a.id = ANY($1::uuid[])",
        list(accounts),
    )
    return {r["id"]: (r["balance"], r["held"], r["n"]) for r in rows}


async def _posted_by(pool: asyncpg.Pool, key: dict[str, Any]) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM transactions WHERE principal = $1", f"key:{key['id']}"))


def _refused(r: httpx.Response, code: str) -> None:
    assert (r.status_code, r.json().get("code")) == (403, code), r.text
    assert r.json()["result"]["status"] == "refused", r.text  # recorded by the worker, not only the gateway


async def test_a_transfer_key_cannot_debit_or_credit_a_system_account_without_treasury(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    # Before b44486f the gateway checked sides only for wallet-bound keys and the worker not at all: an
    # unbound key with `transfer` moved money out of @treasury (creating it) with a 200.
    w = await new_wallet(client, funded=10_000)
    for flow in ("spends", "bonuses"):  # the revenue and promotions accounts exist
        await write(client, "POST", f"/v1/{flow}", {"account_id": w.usd, "amount": 1, "currency": "USD"})
    mover = await make_key(client, ["transfer"], name="transfer only")
    treasurer = await make_key(client, ["transfer", "treasury"], name="treasury operations")
    usd = {"amount": 500, "currency": "USD"}
    attempts: list[dict[str, Any]] = [
        {"debit_wallet": "@treasury", "credit_account_id": w.usd, **usd},  # money out of nothing
        {"debit_account_id": TREASURY, "credit_account_id": w.usd, **usd},  # the same, by account id
        {"debit_wallet": "@promotions", "credit_wallet": w.handle, **usd},
        {"debit_account_id": w.usd, "credit_wallet": "@revenue", **usd},  # money into a system account
        {"debit_account_id": w.usd, "credit_account_id": TREASURY, **usd},
    ]
    legs = [
        {"account_id": TREASURY, "side": "debit", "amount": 500},
        {"account_id": w.usd, "side": "credit", "amount": 500},
    ]
    to_system = [
        {"account_id": w.usd, "side": "debit", "amount": 5},
        {"wallet": "@fees", "side": "credit", "amount": 5},
    ]
    before = await _state(pool, w.usd, TREASURY, REVENUE)
    for body in attempts:
        _refused(await client.post("/v1/transfers", json=body, headers=as_key(mover)), "forbidden_party")
    for legs_ in (legs, to_system):
        body = {"currency": "USD", "legs": legs_}
        _refused(await client.post("/v1/transactions", json=body, headers=as_key(mover)), "forbidden_party")
    assert await _posted_by(pool, mover) == 0
    assert await _state(pool, w.usd, TREASURY, REVENUE) == before, "a refused transfer moved money"

    # The same requests with `treasury` besides `transfer` are treasury operations, allowed.
    for body in attempts:
        r = await client.post("/v1/transfers", json=body, headers=as_key(treasurer))
        assert r.status_code == 200, r.text
    r = await client.post("/v1/transactions", json={"currency": "USD", "legs": legs}, headers=as_key(treasurer))
    assert r.status_code == 200, r.text
    assert await _posted_by(pool, treasurer) == len(attempts) + 1
    after = await _state(pool, w.usd)
    assert after[w.usd][0] == before[w.usd][0] + 500 + 500 + 500 - 500 - 500 + 500


async def test_a_holds_key_captures_to_the_holds_own_recipient_but_naming_another_needs_transfer(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    # Before b44486f `holds` alone captured a hold to any recipient the request named: a key meant to
    # settle authorisations could pay the held money to anyone (a 200 here).
    holder, shop, elsewhere = (
        await new_wallet(client, funded=10_000),
        await new_wallet(client),
        await new_wallet(client),
    )
    holds_only = await make_key(client, ["holds"], wallet_id=holder.id, name="holds only")
    holds_and_transfer = await make_key(client, ["holds", "transfer"], wallet_id=holder.id, name="holds+transfer")
    unbound_holds = await make_key(client, ["holds"], name="unbound holds only")

    async def hold() -> str:
        body = {"account_id": holder.usd, "amount": 300, "currency": "USD", "recipient_wallet": shop.handle}
        return str((await write(client, "POST", "/v1/holds", body))["hold_id"])

    first, second, third = await hold(), await hold(), await hold()
    before = await _state(pool, holder.usd, shop.usd, elsewhere.usd)
    for key in (holds_only, unbound_holds):
        for named in (
            {"recipient_wallet": elsewhere.handle},
            {"recipient_account_id": elsewhere.usd},
            {"recipient_wallet": shop.handle},  # even the hold's own recipient, when named
        ):
            r = await client.post(f"/v1/holds/{first}/capture", json=named, headers=as_key(key))
            _refused(r, "forbidden_scope")
    assert await _state(pool, holder.usd, shop.usd, elsewhere.usd) == before
    assert await pool.fetchval("SELECT status FROM holds WHERE id = $1", uuid.UUID(first)) == "pending"

    # Without naming one, the hold's own recipient (agreed when it was placed) is paid: allowed.
    r = await client.post(f"/v1/holds/{first}/capture", headers=as_key(holds_only))
    assert r.status_code == 200, r.text
    r = await client.post(f"/v1/holds/{second}/capture", json={"amount": 100}, headers=as_key(unbound_holds))
    assert r.status_code == 200, r.text
    # With `transfer` too, a new recipient may be named.
    r = await client.post(
        f"/v1/holds/{third}/capture", json={"recipient_wallet": elsewhere.handle}, headers=as_key(holds_and_transfer)
    )
    assert r.status_code == 200, r.text
    after = await _state(pool, holder.usd, shop.usd, elsewhere.usd)
    assert after[shop.usd][0] == before[shop.usd][0] + 400
    assert after[elsewhere.usd][0] == before[elsewhere.usd][0] + 300


async def test_reversing_needs_the_reverse_scope_which_admin_does_not_give(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    # Before b44486f the reversal route required `admin`: the key that manages keys and currencies
    # could also move posted money back (a 200 here), and no key could reverse without being an admin.
    a, b = await new_wallet(client, funded=10_000), await new_wallet(client)
    moved = await write(
        client,
        "POST",
        "/v1/transfers",
        {"debit_wallet": a.handle, "credit_wallet": b.handle, "amount": 700, "currency": "USD"},
    )
    tx = moved["transaction_id"]
    everything_but = await make_key(client, ["admin", "read", "transfer", "wallets", "treasury"], name="admin")
    reverser = await make_key(client, ["reverse"], name="reverse only")
    before = await _state(pool, a.usd, b.usd)
    r = await client.post(f"/v1/transactions/{tx}/reverse", json={"reason": "x"}, headers=as_key(everything_but))
    assert (r.status_code, r.json()["code"], r.json().get("required_scope")) == (403, "forbidden", "reverse"), r.text
    assert await _state(pool, a.usd, b.usd) == before
    r = await client.post(f"/v1/transactions/{tx}/reverse", json={"reason": "x"}, headers=as_key(reverser))
    assert r.status_code == 200, r.text
    after = await _state(pool, a.usd, b.usd)
    assert (after[a.usd][0], after[b.usd][0]) == (before[a.usd][0] + 700, before[b.usd][0] - 700)


async def test_a_bound_key_with_treasury_may_debit_a_system_account_over_http(client: httpx.AsyncClient) -> None:
    w = await new_wallet(client, funded=1_000)
    treasurer = await make_key(client, ["transfer", "treasury"], wallet_id=w.id, name="bound treasurer")
    body = {"debit_wallet": "@treasury", "credit_account_id": w.usd, "amount": 5, "currency": "USD"}
    r = await client.post("/v1/transfers", json=body, headers=as_key(treasurer))
    assert r.status_code == 200, r.text
    legs = [{"wallet": "@treasury", "side": "debit", "amount": 5}, {"account_id": w.usd, "side": "credit", "amount": 5}]
    r = await client.post("/v1/transactions", json={"currency": "USD", "legs": legs}, headers=as_key(treasurer))
    assert r.status_code == 200, r.text


async def test_treasury_does_not_let_a_bound_key_read_the_system_accounts(client: httpx.AsyncClient) -> None:
    # `treasury` lets a key name a system account as a side of a transfer or a leg; `read` stays "of the
    # bound wallet only" (docs/security.md). A system account's entries list every customer account that
    # paid into it or was paid from it: other wallets' data. (9bad2cc let authorize_parties take system
    # wallets as a treasury key's own, for writes; the read routes use the same check.)
    w, stranger = await new_wallet(client, funded=1_000), await new_wallet(client, funded=2_000)
    reader = await make_key(client, ["read", "treasury", "transfer"], wallet_id=w.id, name="bound treasurer")
    auth = {"Authorization": f"Bearer {reader['secret']}"}
    shown = []
    for path in (f"/v1/accounts/{TREASURY}", f"/v1/accounts/{TREASURY}/balance", f"/v1/accounts/{TREASURY}/entries"):
        r = await client.get(path, params={"limit": 200} if path.endswith("entries") else None, headers=auth)
        if (r.status_code, r.json().get("code")) != (403, "wrong_wallet"):
            entries = r.json().get("entries", [])
            leaked = any(stranger.usd in map(str, e.get("counterparty_account_ids", [])) for e in entries)
            shown.append(f"{path}: {r.status_code}" + (" (lists another wallet's account)" if leaked else ""))
    assert not shown, shown
