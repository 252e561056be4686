"""A wallet-bound key acts as its wallet: it moves money only out of it, holds and pays from it, acts
as a merchant only for it, and reads only what concerns it; everything else is 403 ``wrong_wallet``."""

from __future__ import annotations

import uuid

import httpx
import pytest

from contracts.keys import Scope
from ledger_cli.processes import Processes
from tests.e2e.access import bearer, idem, make_key
from tests.e2e.api import get, new_wallet, write

pytestmark = pytest.mark.e2e


async def _status(c: httpx.AsyncClient, method: str, path: str, json: object = None) -> tuple[int, str]:
    r = await c.request(method, path, json=json, headers=idem())
    return r.status_code, str(r.json().get("code", ""))


async def test_wallet_bound_key_stays_in_its_wallet(client: httpx.AsyncClient, system: Processes) -> None:
    mine, theirs = await new_wallet(client, funded=10_000), await new_wallet(client, kind="merchant", funded=10_000)
    k = await make_key(client, list(Scope), wallet_id=mine.id, name="agent")
    wrong = (403, "wrong_wallet")
    usd = {"amount": "1.00", "currency": "USD"}
    async with httpx.AsyncClient(base_url=system.base_url, timeout=30, headers=bearer(k["secret"])) as c:
        # Money out of (or, with `deposit`, into) its own wallet only, however the wallet is named.
        for party in ({"wallet": mine.handle}, {"wallet": mine.id.upper()}, {"account_id": mine.usd}):
            assert (await _status(c, "POST", "/v1/spends", {**party, **usd}))[0] == 200
        assert await _status(c, "POST", "/v1/spends", {"wallet": theirs.handle, **usd}) == wrong
        assert await _status(c, "POST", "/v1/deposits", {"wallet": theirs.handle, **usd}) == wrong
        assert await _status(c, "POST", "/v1/withdrawals", {"wallet": "@nobody_at_all", **usd}) == wrong
        out = {"debit_wallet": mine.handle, "credit_wallet": theirs.handle, **usd}
        assert (await _status(c, "POST", "/v1/transfers", out))[0] == 200
        back = {"debit_wallet": theirs.handle, "credit_wallet": mine.handle, **usd}
        assert await _status(c, "POST", "/v1/transfers", back) == wrong
        legs = [
            {"wallet": theirs.handle, "side": "debit", "amount": 5},
            {"wallet": mine.handle, "side": "credit", "amount": 5},
        ]
        assert await _status(c, "POST", "/v1/transactions", {"currency": "USD", "legs": legs}) == wrong
        # Holds on its own wallet; payments as the payer from it, as a merchant only for it.
        assert await _status(c, "POST", "/v1/holds", {"wallet": theirs.handle, **usd}) == wrong
        hold = {"wallet": mine.handle, "recipient_wallet": theirs.handle, **usd}
        assert (await _status(c, "POST", "/v1/holds", hold))[0] == 201
        assert await _status(c, "POST", "/v1/payment_intents", {"merchant_wallet": theirs.handle, **usd}) == wrong
        theirs_intent = (await write(client, "POST", "/v1/payment_intents", {"merchant_wallet": theirs.handle, **usd}))[
            "intent_id"
        ]
        pay = f"/v1/payment_intents/{theirs_intent}"
        assert await _status(c, "POST", f"{pay}/pay", {"payer_wallet": theirs.handle}) == wrong
        assert (await _status(c, "POST", f"{pay}/pay", {"payer_wallet": mine.handle}))[0] == 200
        assert (await c.get(pay)).status_code == 200  # it is the payer
        assert await _status(c, "POST", f"{pay}/cancel") == wrong  # only the merchant cancels or captures
        assert await _status(c, "POST", "/v1/refunds", {"intent_id": theirs_intent, **usd}) == wrong
        # Wallet lifecycle, limits, currencies and reversals are for service keys.
        assert await _status(c, "POST", f"/v1/wallets/{mine.handle}/freeze", {}) == wrong
        assert await _status(c, "PUT", f"/v1/accounts/{mine.usd}/limits", {"min_balance": -100}) == wrong
        assert await _status(c, "POST", "/v1/currencies", {"code": "ZZZ", "name": "z", "exponent": 0}) == wrong

        # Reads: its own wallet, and what touched it; another wallet, existing or not, is 403 alike.
        assert (await get(c, "/v1/wallets/me"))["id"] == mine.id
        assert (await c.get(f"/v1/wallets/{theirs.handle}")).status_code == 403
        assert (await c.get("/v1/wallets/@no_such_wallet_here")).status_code == 403
        assert (await c.get(f"/v1/wallets/{theirs.handle}/transactions")).status_code == 403
        assert [w["id"] for w in (await get(c, "/v1/wallets"))["wallets"]] == [mine.id]
        found = (await get(c, "/v1/transactions", limit=500))["transactions"]
        assert found and all(any(p["wallet_id"] == mine.id for p in t["postings"]) for t in found)
        assert {e["account_id"] for e in (await get(c, "/v1/wallets/me/transactions"))["entries"]} == {mine.usd}

    # Its own commands (even refused ones) it may read; the service's deposit into the other wallet not.
    async with httpx.AsyncClient(base_url=system.base_url, timeout=30, headers=bearer(k["secret"])) as c:
        own = idem()
        r = await c.post("/v1/spends", json={"wallet": mine.handle, "amount": 10**9, "currency": "USD"}, headers=own)
        assert r.json()["code"] == "insufficient_funds"
        assert (await c.get(f"/v1/commands/{own['Idempotency-Key']}")).status_code == 200
        other = idem()
        await write(
            client, "POST", "/v1/deposits", {"wallet": theirs.handle, **usd}, idempotency_key=other["Idempotency-Key"]
        )
        assert (await c.get(f"/v1/commands/{other['Idempotency-Key']}")).status_code == 404  # keys are per caller


async def test_me_needs_a_bound_key_and_keys_need_a_real_wallet(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/wallets/me")
    assert (r.status_code, r.json()["code"]) == (403, "wallet_key_required")
    r = await client.post("/v1/admin/keys", json={"name": "x", "scopes": ["read"], "wallet_id": str(uuid.uuid4())})
    assert (r.status_code, r.json()["code"]) == (404, "wallet_not_found")
