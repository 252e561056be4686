"""Holds and payment intents over HTTP on real processes: replies, read models and events."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection

from ledger_cli.processes import Processes
from tests.e2e.api import balances, get, new_wallet, refused, stream, write
from tests.e2e.conftest import subscribe, wait_until

pytestmark = pytest.mark.e2e


async def test_holds_place_capture_part_release_and_expire_by_themselves(
    client: httpx.AsyncClient, amqp: AbstractRobustConnection, system: Processes, pool: asyncpg.Pool
) -> None:
    sub = await subscribe(amqp, system.settings)
    payer, shop = await new_wallet(client, funded=10_000), await new_wallet(client, kind="merchant")
    hold = {"wallet": payer.handle, "currency": "USD", "recipient_wallet": shop.handle}
    placed = await write(client, "POST", "/v1/holds", {**hold, "amount": "30.00", "metadata": {"ride": "7"}})
    assert balances(placed) == {payer.usd: (10_000, 3_000, 7_000)}
    assert placed["balances"][0]["available_decimal"] == "70.00"
    await refused(
        client,
        "POST",
        "/v1/withdrawals",
        {"wallet": payer.handle, "amount": 7_001, "currency": "USD"},
        "insufficient_funds",
    )
    path = f"/v1/holds/{placed['hold_id']}"
    captured = await write(client, "POST", f"{path}/capture", {"amount": "12.00"})
    assert balances(captured) == {payer.usd: (8_800, 0, 8_800), shop.usd: (1_200, 0, 1_200)}
    view = await get(client, path)
    assert (view["status"], view["captured_amount"], view["captured_amount_decimal"]) == ("captured", 1_200, "12.00")
    assert (view["recipient_account_id"], view["metadata"]) == (shop.usd, {"ride": "7"})
    await refused(client, "POST", f"{path}/release", None, "hold_not_pending")
    await refused(client, "POST", "/v1/holds/00000000-0000-4000-8000-000000000000/capture", {}, "hold_not_found", 404)

    released = await write(client, "POST", "/v1/holds", {**hold, "amount": 500})
    assert balances(released)[payer.usd] == (8_800, 500, 8_300)
    back = await write(client, "POST", f"/v1/holds/{released['hold_id']}/release")
    assert balances(back) == {payer.usd: (8_800, 0, 8_800)}
    over = await write(client, "POST", "/v1/holds", {**hold, "amount": 100})
    await refused(client, "POST", f"/v1/holds/{over['hold_id']}/capture", {"amount": 101}, "capture_exceeds_hold")

    # Nobody calls: the worker's sweeper expires the hold once its hour is up. The test moves the clock
    # (the hold's expiry into the past) instead of waiting; the sweeper runs every SWEEP_SECONDS (0.2 here).
    expiring = await write(client, "POST", "/v1/holds", {**hold, "amount": 250, "expires_in_seconds": 3600})
    assert balances(expiring)[payer.usd] == (8_800, 350, 8_450)
    await pool.execute(
        "UPDATE holds SET expires_at = now() - interval '1 second' WHERE id = $1", uuid.UUID(expiring["hold_id"])
    )

    async def expired() -> bool:
        return bool((await get(client, f"/v1/holds/{expiring['hold_id']}"))["status"] == "expired")

    await wait_until(expired)
    account = await get(client, f"/v1/accounts/{payer.usd}")
    assert (account["balance"], account["held"], account["available"]) == (8_800, 100, 8_700)
    await sub.wait_for(lambda evs: any(e.type == "hold.expired" for e in evs if str(e.account_id) == payer.usd))
    assert [t for t, _ in stream(sub.events, payer.usd)] == [
        "account.opened",
        "account.credited",
        "hold.placed",
        "account.debited",
        "hold.captured",
        "hold.placed",
        "hold.released",
        "hold.placed",
        "hold.placed",
        "hold.expired",
    ]
    assert [s for _, s in stream(sub.events, payer.usd)] == list(range(1, 11))
    expiry = [e for e in sub.events if e.type == "hold.expired"][-1]
    assert expiry.command_id.startswith(f"expire:hold:{expiring['hold_id']}:") and expiry.principal == "system:sweeper"


async def test_payment_intents_pay_authorise_capture_cancel_and_refund(
    client: httpx.AsyncClient, amqp: AbstractRobustConnection, system: Processes
) -> None:
    sub = await subscribe(amqp, system.settings)
    customer, shop = await new_wallet(client, funded=20_000), await new_wallet(client, kind="merchant")

    async def intent(amount: str) -> str:
        body = {"merchant_wallet": shop.handle, "amount": amount, "currency": "USD", "description": "order"}
        created = await write(client, "POST", "/v1/payment_intents", body)
        return str(created["intent_id"])

    direct = await intent("25.00")
    paid = await write(client, "POST", f"/v1/payment_intents/{direct}/pay", {"payer_wallet": customer.handle})
    assert balances(paid) == {customer.usd: (17_500, 0, 17_500), shop.usd: (2_500, 0, 2_500)}
    await refused(
        client, "POST", f"/v1/payment_intents/{direct}/pay", {"payer_wallet": customer.handle}, "intent_not_payable"
    )

    held = await intent("40.00")
    auth = await write(
        client, "POST", f"/v1/payment_intents/{held}/pay", {"payer_account_id": customer.usd, "via_hold": True}
    )
    assert balances(auth) == {customer.usd: (17_500, 4_000, 13_500), shop.usd: (2_500, 0, 2_500)}
    assert (await get(client, f"/v1/payment_intents/{held}"))["status"] == "authorized"
    captured = await write(client, "POST", f"/v1/payment_intents/{held}/capture", {"amount": "30.00"})
    assert balances(captured) == {customer.usd: (14_500, 0, 14_500), shop.usd: (5_500, 0, 5_500)}
    view = await get(client, f"/v1/payment_intents/{held}")
    assert (view["status"], view["paid_amount_decimal"], view["payer_account_id"]) == ("paid", "30.00", customer.usd)

    canceled = await intent("5.00")
    await write(client, "POST", f"/v1/payment_intents/{canceled}/cancel")
    await refused(
        client, "POST", f"/v1/payment_intents/{canceled}/pay", {"payer_wallet": customer.handle}, "intent_not_payable"
    )
    await refused(client, "POST", f"/v1/payment_intents/{canceled}/capture", None, "intent_not_authorized")

    # Refunds go back to the payer and never total more than was paid.
    refund = {"intent_id": direct, "currency": "USD"}
    part = await write(client, "POST", "/v1/refunds", {**refund, "amount": "10.00", "reason": "damaged"})
    assert balances(part) == {customer.usd: (15_500, 0, 15_500), shop.usd: (4_500, 0, 4_500)}
    await write(client, "POST", "/v1/refunds", {**refund, "amount": 1_500})
    await refused(client, "POST", "/v1/refunds", {**refund, "amount": 1}, "refund_exceeds_paid")
    await refused(
        client, "POST", "/v1/refunds", {"intent_id": held, "currency": "USD", "amount": 3_001}, "refund_exceeds_paid"
    )
    await refused(
        client, "POST", "/v1/refunds", {"intent_id": canceled, "currency": "USD", "amount": 1}, "intent_not_paid"
    )
    view = await get(client, f"/v1/payment_intents/{direct}")
    assert (view["refunded_amount"], view["refunded_amount_decimal"]) == (2_500, "25.00")
    listed = [(r["amount_decimal"], r["reason"], r["transaction_id"]) for r in view["refunds"]]
    assert listed == [("10.00", "damaged", part["transaction_id"]), ("15.00", None, listed[1][2])], view

    await sub.wait_for(lambda evs: len([e for e in evs if e.type == "intent.refunded"]) >= 2)
    intents = [(e.type, str(e.payload.intent_id)) for e in sub.events if e.type.startswith("intent.")]  # type: ignore[union-attr]
    assert intents == [
        ("intent.created", direct),
        ("intent.paid", direct),
        ("intent.created", held),
        ("intent.authorized", held),
        ("intent.paid", held),
        ("intent.created", canceled),
        ("intent.canceled", canceled),
        ("intent.refunded", direct),
        ("intent.refunded", direct),
    ]
    merchant = stream(sub.events, shop.usd)
    assert [s for _, s in merchant] == list(range(1, len(merchant) + 1))  # one gapless stream, in order
