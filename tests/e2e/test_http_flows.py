"""One end-to-end test per flow of the wallet API over HTTP, on real processes: the reply (balances
posted/held/available, decimal strings, replay header) and the events a subscriber receives.

Holds and payment intents are in ``test_http_payments.py``, history and event streams in
``test_http_history.py``.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection

from contracts.ids import SystemRole, system_account_id
from ledger_cli.processes import Processes
from tests.e2e.api import balances, get, key, new_wallet, refused, stream, wallet_stream, write
from tests.e2e.conftest import subscribe

pytestmark = pytest.mark.e2e


async def test_currency_with_18_decimals_takes_exact_decimal_strings(
    client: httpx.AsyncClient, amqp: AbstractRobustConnection, system: Processes
) -> None:
    sub = await subscribe(amqp, system.settings)
    r = await client.post(
        "/v1/currencies", json={"code": "GOLD", "name": "Gold gram", "exponent": 18}, headers={"Idempotency-Key": key()}
    )
    assert r.status_code == 201 and r.json()["command_type"] == "currency.register", r.text
    assert {"code": "GOLD", "name": "Gold gram", "exponent": 18} in await get(client, "/v1/currencies")
    await refused(
        client, "POST", "/v1/currencies", {"code": "GOLD", "name": "again", "exponent": 2}, "currency_exists", 409
    )

    vault, buyer = await new_wallet(client, "GOLD"), await new_wallet(client, "GOLD")
    topup = await write(client, "POST", "/v1/deposits", {"wallet": vault.handle, "amount": "1.5", "currency": "GOLD"})
    (mine,) = topup["balances"]
    assert mine["balance"] == 15 * 10**17 and mine["balance_decimal"] == "1.500000000000000000"
    one = {"debit_wallet": vault.handle, "credit_wallet": buyer.handle, "currency": "GOLD"}
    moved = await write(client, "POST", "/v1/transfers", {**one, "amount": "0.000000000000000001"})
    assert {b["account_id"]: b["available_decimal"] for b in moved["balances"]} == {
        vault.accounts["GOLD"]: "1.499999999999999999",
        buyer.accounts["GOLD"]: "0.000000000000000001",
    }
    # Too many decimals for the currency, a float, a malformed string: 422 invalid_amount naming the field.
    for amount in ("0.0000000000000000001", 1.5, "1,5", "-1", "0.000"):
        problem = await refused(client, "POST", "/v1/transfers", {**one, "amount": amount}, "invalid_amount")
        assert problem["field"] == "amount", problem
    usd = await new_wallet(client)
    leg = await refused(
        client,
        "POST",
        "/v1/transactions",
        {"currency": "USD", "legs": [{"wallet": usd.handle, "side": "debit", "amount": "1.001"}] * 2},
        "invalid_amount",
    )
    assert leg["field"] == "legs.0.amount"
    account = await get(client, f"/v1/accounts/{buyer.accounts['GOLD']}")
    assert (account["balance"], account["available_decimal"]) == (1, "0.000000000000000001")

    await sub.wait_for(lambda evs: len(stream(evs, buyer.accounts["GOLD"])) == 2)
    assert any(e.type == "currency.registered" and e.payload.code == "GOLD" for e in sub.events)  # type: ignore[union-attr]
    assert stream(sub.events, buyer.accounts["GOLD"]) == [("account.opened", 1), ("account.credited", 2)]


async def test_wallet_lifecycle_by_handle_ext_ref_and_id(
    client: httpx.AsyncClient, amqp: AbstractRobustConnection, system: Processes
) -> None:
    sub = await subscribe(amqp, system.settings)
    handle, ref, k = f"@w{key()[:16]}", f"crm:{key()}", key()
    body = {"owner_id": "owner-1", "handle": handle, "external_ref": ref, "currencies": ["USD", "EUR"]}
    created = await write(client, "POST", "/v1/wallets", body, idempotency_key=k)
    again = await client.post("/v1/wallets", json=body, headers={"Idempotency-Key": k})
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == created  # the first answer again
    wallet_id = created["wallet_id"]
    for ref_form in (handle, f"ext:{ref}", wallet_id):
        w = await get(client, f"/v1/wallets/{ref_form}")
        assert (w["id"], w["handle"], w["external_ref"], w["status"]) == (wallet_id, handle, ref, "active")
    assert sorted(a["currency"] for a in w["accounts"]) == ["EUR", "USD"]
    await refused(client, "POST", "/v1/wallets", {"owner_id": "x", "handle": handle}, "handle_taken", 409)
    await refused(client, "POST", "/v1/wallets", {"owner_id": "x", "external_ref": ref}, "external_ref_taken", 409)
    gbp = await write(client, "POST", f"/v1/wallets/ext:{ref}/accounts", {"currency": "GBP"})
    assert gbp["wallet_id"] == wallet_id and len((await get(client, f"/v1/wallets/{handle}"))["accounts"]) == 3
    await refused(client, "POST", f"/v1/wallets/{handle}/accounts", {"currency": "GBP"}, "account_exists", 409)

    usd = {"wallet": handle, "amount": "10.00", "currency": "USD"}
    await write(client, "POST", "/v1/deposits", usd)
    # Frozen, credits allowed: debits stop, credits continue; then credits stop too.
    frozen = await write(client, "POST", f"/v1/wallets/{handle}/freeze", {"reason": "review"})
    assert frozen["wallet_id"] == wallet_id
    await refused(client, "POST", "/v1/spends", usd, "account_frozen")
    await write(client, "POST", "/v1/deposits", usd)
    await write(client, "POST", f"/v1/wallets/{handle}/freeze", {"allow_credits": False})
    await refused(client, "POST", "/v1/deposits", usd, "account_frozen")
    assert (await get(client, f"/v1/wallets/{handle}"))["status"] == "frozen"
    await write(client, "POST", f"/v1/wallets/{handle}/unfreeze")
    await refused(client, "POST", f"/v1/wallets/{handle}/unfreeze", None, "wallet_not_frozen")
    # Closing needs every account at zero.
    await refused(client, "POST", f"/v1/wallets/{handle}/close", None, "wallet_not_empty")
    await write(client, "POST", "/v1/withdrawals", {**usd, "amount": 2000})
    await write(client, "POST", f"/v1/wallets/{handle}/close")
    await refused(client, "POST", "/v1/deposits", usd, "account_closed")
    await refused(client, "POST", "/v1/wallets/@nobody_here_at_all/freeze", {}, "wallet_not_found", 404)

    await sub.wait_for(lambda evs: len(wallet_stream(evs, wallet_id)) == 5)
    assert wallet_stream(sub.events, wallet_id) == [
        ("wallet.created", 1),
        ("wallet.frozen", 2),
        ("wallet.frozen", 3),
        ("wallet.unfrozen", 4),
        ("wallet.closed", 5),
    ]
    account = created["balances"][-1]["account_id"] if created["balances"][-1]["currency"] == "USD" else ""
    account = account or created["balances"][0]["account_id"]
    await sub.wait_for(lambda evs: len(stream(evs, account)) == 4)
    assert [t for t, _ in stream(sub.events, account)] == [
        "account.opened",
        "account.credited",
        "account.credited",
        "account.debited",
    ]


async def test_top_up_bonus_spend_withdraw_transfer_use_the_right_system_accounts(
    client: httpx.AsyncClient, amqp: AbstractRobustConnection, system: Processes
) -> None:
    sub = await subscribe(amqp, system.settings)
    alice, bob = await new_wallet(client), await new_wallet(client)
    flows: list[tuple[str, int | str, SystemRole, int]] = [
        ("/v1/deposits", "10.00", "treasury", 1000),
        ("/v1/bonuses", 250, "promotions", 1250),
        ("/v1/spends", "1.50", "revenue", 1100),
        ("/v1/withdrawals", 100, "treasury", 1000),
    ]
    for path, amount, role, after in flows:
        result = await write(client, "POST", path, {"wallet": alice.handle, "amount": amount, "currency": "USD"})
        assert balances(result) == {alice.usd: (after, 0, after)}, path
        tx = await get(client, f"/v1/transactions/{result['transaction_id']}")
        other = [p for p in tx["postings"] if p["account_id"] != alice.usd]
        assert [p["account_id"] for p in other] == [str(system_account_id("USD", role))], path
    t = await write(
        client,
        "POST",
        "/v1/transfers",
        {"debit_account_id": alice.usd, "credit_wallet": bob.handle, "amount": "2.55", "currency": "USD"},
    )
    assert balances(t) == {alice.usd: (745, 0, 745), bob.usd: (255, 0, 255)}
    assert [b["balance_decimal"] for b in t["balances"] if b["account_id"] == bob.usd] == ["2.55"]
    await refused(
        client, "POST", "/v1/spends", {"wallet": bob.handle, "amount": 256, "currency": "USD"}, "insufficient_funds"
    )
    await refused(
        client,
        "POST",
        "/v1/transfers",
        {"debit_wallet": bob.handle, "credit_wallet": bob.handle, "amount": 1, "currency": "USD"},
        "validation_error",
    )

    await sub.wait_for(lambda evs: len(stream(evs, alice.usd)) == 6)
    assert stream(sub.events, alice.usd) == [
        ("account.opened", 1),
        ("account.credited", 2),
        ("account.credited", 3),
        ("account.debited", 4),
        ("account.debited", 5),
        ("account.debited", 6),
    ]
    last = [e for e in sub.events if str(e.account_id) == alice.usd][-1]
    assert str(last.payload.counterparty_account_id) == bob.usd  # type: ignore[union-attr]


async def test_multi_leg_split_merchant_fee_tax(client: httpx.AsyncClient) -> None:
    customer = await new_wallet(client, funded=20_000)
    merchant, platform, tax = [await new_wallet(client, kind="merchant") for _ in range(3)]
    legs: list[dict[str, Any]] = [
        {"wallet": customer.handle, "side": "debit", "amount": "100.00"},
        {"wallet": merchant.handle, "side": "credit", "amount": "90.00"},
        {"wallet": platform.handle, "side": "credit", "amount": 700},
        {"wallet": tax.handle, "side": "credit", "amount": "3"},
    ]
    body = {"currency": "USD", "legs": legs, "description": "order 42", "metadata": {"order": "42"}}
    result = await write(client, "POST", "/v1/transactions", body)
    assert balances(result) == {
        customer.usd: (10_000, 0, 10_000),
        merchant.usd: (9_000, 0, 9_000),
        platform.usd: (700, 0, 700),
        tax.usd: (300, 0, 300),
    }
    tx = await get(client, f"/v1/transactions/{result['transaction_id']}")
    assert (tx["type"], tx["amount"], tx["amount_decimal"], tx["metadata"]) == (
        "transaction.post",
        10_000,
        "100.00",
        {"order": "42"},
    )
    assert sorted(p["amount"] for p in tx["postings"]) == [-10_000, 300, 700, 9_000]
    unbalanced = {**body, "legs": [*legs[:3], {**legs[3], "amount": 301}]}
    await refused(client, "POST", "/v1/transactions", unbalanced, "validation_error")
    too_much = {"currency": "USD", "legs": [{**legs[0], "amount": 10_001}, {**legs[1], "amount": 10_001}]}
    await refused(client, "POST", "/v1/transactions", too_much, "insufficient_funds")


async def test_reversal_is_a_new_linked_transaction(client: httpx.AsyncClient) -> None:
    a, b = await new_wallet(client, funded=5_000), await new_wallet(client)
    original = await write(
        client,
        "POST",
        "/v1/transfers",
        {"debit_wallet": a.handle, "credit_wallet": b.handle, "amount": 3_000, "currency": "USD"},
    )
    before = await get(client, f"/v1/transactions/{original['transaction_id']}")
    reversal = await write(
        client, "POST", f"/v1/transactions/{original['transaction_id']}/reverse", {"reason": "duplicate"}
    )
    assert balances(reversal) == {a.usd: (5_000, 0, 5_000), b.usd: (0, 0, 0)}
    undo = await get(client, f"/v1/transactions/{reversal['transaction_id']}")
    assert undo["reverses_id"] == original["transaction_id"] and undo["type"] == "transaction.reverse"
    assert undo["metadata"] == {"reason": "duplicate"}
    after = await get(client, f"/v1/transactions/{original['transaction_id']}")
    assert after == {**before, "reversed_by_id": reversal["transaction_id"]}  # the original is untouched
    path = f"/v1/transactions/{original['transaction_id']}/reverse"
    problem = await refused(client, "POST", path, {}, "already_reversed", 409)
    assert problem["result"]["status"] == "refused"
    await refused(client, "POST", f"/v1/transactions/{reversal['transaction_id']}/reverse", None, "not_reversible")
    await refused(client, "POST", f"/v1/transactions/{b.id}/reverse", None, "transaction_not_found", 404)


async def test_limits_per_transaction_daily_and_credit_line(client: httpx.AsyncClient) -> None:
    w = await new_wallet(client, funded=100_000)
    limits = {"max_per_transaction": "50.00", "daily_debit_amount": "120.00", "daily_debit_count": 3}
    await write(client, "PUT", f"/v1/accounts/{w.usd}/limits", limits)
    account = await get(client, f"/v1/accounts/{w.usd}")
    assert account["limits"] == {
        "min_balance": 0,
        "min_balance_decimal": "0.00",
        "max_per_transaction": 5_000,
        "max_per_transaction_decimal": "50.00",
        "daily_debit_amount": 12_000,
        "daily_debit_amount_decimal": "120.00",
        "daily_debit_count": 3,
    }
    spend = {"wallet": w.handle, "currency": "USD"}
    await refused(client, "POST", "/v1/spends", {**spend, "amount": 5_001}, "exceeds_transaction_limit")
    for _ in range(2):
        await write(client, "POST", "/v1/spends", {**spend, "amount": 5_000})
    await refused(client, "POST", "/v1/spends", {**spend, "amount": 2_001}, "exceeds_daily_amount")
    await write(client, "POST", "/v1/spends", {**spend, "amount": 100})
    await refused(client, "POST", "/v1/spends", {**spend, "amount": 1}, "exceeds_daily_count")

    # A credit line: available may go down to -200.00, not below.
    credit = await new_wallet(client, funded=1_000)
    await write(client, "PUT", f"/v1/accounts/{credit.usd}/limits", {"min_balance": "-200.00"})
    spent = await write(client, "POST", "/v1/spends", {"wallet": credit.handle, "amount": "210.00", "currency": "USD"})
    assert balances(spent) == {credit.usd: (-20_000, 0, -20_000)}
    assert spent["balances"][0]["balance_decimal"] == "-200.00"
    await refused(
        client, "POST", "/v1/spends", {"wallet": credit.handle, "amount": 1, "currency": "USD"}, "insufficient_funds"
    )
    await refused(client, "PUT", f"/v1/accounts/{credit.usd}/limits", {"min_balance": "-0.001"}, "invalid_amount")
    await refused(client, "PUT", f"/v1/accounts/{w.id}a/limits", {}, "validation_error")


async def test_search_wallets_and_transactions_by_metadata(client: httpx.AsyncClient) -> None:
    tag = key()
    gold = [await new_wallet(client, metadata={"tier": "gold", "cohort": tag}) for _ in range(3)]
    silver = await new_wallet(client, metadata={"tier": "silver", "cohort": tag})
    page = await get(client, "/v1/wallets", **{"metadata.cohort": tag, "metadata.tier": "gold", "limit": 2})
    assert len(page["wallets"]) == 2 and page["next_cursor"]
    rest = await get(
        client, "/v1/wallets", **{"metadata.cohort": tag, "metadata.tier": "gold", "cursor": page["next_cursor"]}
    )
    found = [w["id"] for w in page["wallets"] + rest["wallets"]]
    assert sorted(found) == sorted(w.id for w in gold) and rest["next_cursor"] is None
    await write(client, "PATCH", f"/v1/wallets/{silver.handle}/metadata", {"metadata": {"tier": "gold", "vip": "y"}})
    vip = await get(client, "/v1/wallets", **{"metadata.cohort": tag, "metadata.vip": "y"})
    assert [w["id"] for w in vip["wallets"]] == [silver.id] and vip["wallets"][0]["metadata"]["tier"] == "gold"
    mine = await get(client, "/v1/wallets", owner_id="nobody-owns-this")
    assert mine == {"wallets": [], "next_cursor": None}

    order = key()
    paid = await write(
        client,
        "POST",
        "/v1/deposits",
        {"wallet": gold[0].handle, "amount": 5, "currency": "USD", "metadata": {"order_id": order}},
    )
    txs = await get(client, "/v1/transactions", **{"metadata.order_id": order})
    assert [t["id"] for t in txs["transactions"]] == [paid["transaction_id"]]
    assert txs["transactions"][0]["postings"][-1]["amount_decimal"] == "0.05"
    assert (await get(client, "/v1/transactions", **{"metadata.order_id": order, "type": "spend"}))[
        "transactions"
    ] == []
    r = await client.get("/v1/transactions", params={"metadata.bad key": "x"})
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
