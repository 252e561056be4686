"""Disclosure follows ownership (docs/security.md): a wallet-bound key sees the balances of its own
wallet only, in every answer: a write's result, its replay, ``GET /v1/commands/{id}`` and
``GET /v1/transactions/{id}``; another caller's command is not found. Each test would have failed
before b44486f; its comment says what happened then."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.access import make_key
from tests.e2e.api import new_wallet, write
from tests.e2e.trust import as_key

pytestmark = pytest.mark.e2e


def _wallets_shown(result: dict[str, Any]) -> set[str]:
    return {b["wallet_id"] for b in result["balances"]}


async def _read(client: httpx.AsyncClient, key: dict[str, Any], path: str) -> httpx.Response:
    return await client.get(path, headers={"Authorization": f"Bearer {key['secret']}"})


async def test_a_transfer_shows_the_payer_its_own_balance_only(client: httpx.AsyncClient) -> None:
    # Before b44486f the result carried every customer account the command touched: the payer's key
    # read the payee's balance in the transfer's answer, its replay and GET /v1/commands; GET
    # /v1/transactions showed the payee's balance_after; and a key bound to the payee could read the
    # payer's command (GET /v1/commands answered any command that touched its wallet).
    payer, payee = await new_wallet(client, funded=10_000), await new_wallet(client, funded=5_000)
    agent = await make_key(client, ["transfer", "read"], wallet_id=payer.id, name="payer agent")
    watcher = await make_key(client, ["read"], wallet_id=payee.id, name="payee reader")
    headers = as_key(agent)
    body = {"debit_wallet": payer.handle, "credit_account_id": payee.usd, "amount": 250, "currency": "USD"}
    r = await client.post("/v1/transfers", json=body, headers=headers)
    assert r.status_code == 200, r.text
    result = r.json()
    assert _wallets_shown(result) == {payer.id}
    assert [(b["account_id"], b["balance"]) for b in result["balances"]] == [(payer.usd, 9_750)]
    again = await client.post("/v1/transfers", json=body, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true" and _wallets_shown(again.json()) == {payer.id}
    key = headers["Idempotency-Key"]
    mine = await _read(client, agent, f"/v1/commands/{key}")
    assert mine.status_code == 200 and _wallets_shown(mine.json()) == {payer.id}, mine.text

    # The payee's key: the payer's command is not its own (404, not 403: it learns nothing).
    theirs = await _read(client, watcher, f"/v1/commands/{key}")
    assert (theirs.status_code, theirs.json()["code"]) == (404, "command_not_found"), theirs.text

    # The transaction: other wallets' postings without their balances, and no other principal.
    tx = (await _read(client, agent, f"/v1/transactions/{result['transaction_id']}")).json()
    seen = {p["wallet_id"]: p["balance_after"] for p in tx["postings"]}
    assert seen == {payer.id: 9_750, payee.id: None}, tx
    assert tx["principal"] == f"key:{agent['id']}"
    tx = (await _read(client, watcher, f"/v1/transactions/{result['transaction_id']}")).json()
    assert {p["wallet_id"]: p["balance_after"] for p in tx["postings"]} == {payer.id: None, payee.id: 5_250}, tx
    assert tx["principal"] is None  # the payer's key is not the payee's to know
    # An unbound key sees everything it touches anyway (docs/security.md, Unbound keys).
    full = await client.get(f"/v1/transactions/{result['transaction_id']}")
    assert {p["balance_after"] for p in full.json()["postings"]} == {9_750, 5_250}


async def test_paying_an_intent_shows_the_payer_no_merchant_balance(client: httpx.AsyncClient) -> None:
    # Before b44486f the payment's result listed the merchant's account and balance to the payer's key.
    payer, merchant = await new_wallet(client, funded=10_000), await new_wallet(client, kind="merchant", funded=77)
    agent = await make_key(client, ["transfer", "read"], wallet_id=payer.id, name="payer")
    cashier = await make_key(client, ["payments", "read"], wallet_id=merchant.id, name="merchant")
    intents = []
    for _ in range(2):
        r = await client.post(
            "/v1/payment_intents",
            json={"merchant_wallet": merchant.handle, "amount": 400, "currency": "USD"},
            headers=as_key(cashier),
        )
        assert r.status_code == 201, r.text
        intents.append(r.json()["intent_id"])
    now, later = intents
    paid = await client.post(
        f"/v1/payment_intents/{now}/pay", json={"payer_wallet": payer.handle}, headers=as_key(agent)
    )
    assert paid.status_code == 200, paid.text
    assert _wallets_shown(paid.json()) == {payer.id}, paid.text
    held = await client.post(
        f"/v1/payment_intents/{later}/pay", json={"payer_wallet": payer.handle, "via_hold": True}, headers=as_key(agent)
    )
    assert held.status_code == 200 and _wallets_shown(held.json()) == {payer.id}, held.text
    # The merchant's capture moves the payer's held money: the merchant sees only its own balance.
    captured = await client.post(f"/v1/payment_intents/{later}/capture", headers=as_key(cashier))
    assert captured.status_code == 200, captured.text
    assert _wallets_shown(captured.json()) == {merchant.id}, captured.text
    tx = (await _read(client, agent, f"/v1/transactions/{paid.json()['transaction_id']}")).json()
    assert {p["wallet_id"]: p["balance_after"] for p in tx["postings"]} == {payer.id: 9_600, merchant.id: None}


async def test_a_recipient_releasing_a_hold_sees_nothing_of_the_holders_balance(client: httpx.AsyncClient) -> None:
    # Before b44486f the release's result carried the holder's account (balance, held, available) to the
    # recipient's key, which may release a hold it will not take.
    holder, recipient = await new_wallet(client, funded=10_000), await new_wallet(client)
    payee = await make_key(client, ["holds", "read"], wallet_id=recipient.id, name="recipient")
    body = {"account_id": holder.usd, "amount": 600, "currency": "USD", "recipient_wallet": recipient.handle}
    hold = (await write(client, "POST", "/v1/holds", body))["hold_id"]
    headers = as_key(payee)
    r = await client.post(f"/v1/holds/{hold}/release", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["balances"] == [], r.text  # it touched only the holder's account
    shown = await _read(client, payee, f"/v1/commands/{headers['Idempotency-Key']}")
    assert shown.status_code == 200 and shown.json()["balances"] == [], shown.text


async def test_a_multi_leg_transaction_shows_a_bound_key_its_own_legs_only(client: httpx.AsyncClient) -> None:
    # Before b44486f the result listed every credited wallet's balance, and GET /v1/transactions every
    # posting's balance_after, to the key that paid them.
    payer = await new_wallet(client, funded=10_000)
    payees = [await new_wallet(client, funded=1_000 * (i + 1)) for i in range(4)]
    agent = await make_key(client, ["transfer", "read"], wallet_id=payer.id, name="splitter")
    legs = [{"account_id": payer.usd, "side": "debit", "amount": 400}] + [
        {"wallet": p.handle, "side": "credit", "amount": 100} for p in payees
    ]
    r = await client.post("/v1/transactions", json={"currency": "USD", "legs": legs}, headers=as_key(agent))
    assert r.status_code == 200, r.text
    assert [(b["wallet_id"], b["balance"]) for b in r.json()["balances"]] == [(payer.id, 9_600)], r.text
    tx = (await _read(client, agent, f"/v1/transactions/{r.json()['transaction_id']}")).json()
    assert {p["wallet_id"]: p["balance_after"] for p in tx["postings"]} == {
        payer.id: 9_600,
        **{p.id: None for p in payees},
    }, tx
    # One payee's key sees its own leg's balance, nobody else's.
    reader = await make_key(client, ["read"], wallet_id=payees[2].id, name="payee")
    tx = (await _read(client, reader, f"/v1/transactions/{r.json()['transaction_id']}")).json()
    shown = {p["wallet_id"]: p["balance_after"] for p in tx["postings"] if p["balance_after"] is not None}
    assert shown == {payees[2].id: 3_100}, tx
    assert all(p["currency"] == "USD" for p in tx["postings"]), tx  # every leg reads as money, by id or not
