"""Issue 22's holes, each as a black-box test over HTTP and AMQP against the real processes
(docs/security.md, "Ids belong to the ledger", "Bounds"): what a caller may *name* or *sum*.

Each test first lets the honest flows run after the attack and checks the money (where it went on the
old main is the harm), then the answer the attack got. The closing note of issue 22 gives how each
failed on the main before the issue (5095189).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection

from contracts.bounds import MAX_AMOUNT
from contracts.ids import SystemRole, system_account_id, system_wallet_id, wallet_account_id
from contracts.results import CommandResult
from ledger_common.dead_letters import commands as dead_commands
from ledger_common.settings import Settings
from tests.e2e.access import make_key
from tests.e2e.api import Wallet, key, new_wallet, write
from tests.e2e.trust import Publisher, as_key, recorded

pytestmark = pytest.mark.e2e


async def _currency(client: httpx.AsyncClient) -> str:
    """A currency registered now, in which nothing has moved yet (the state the takeovers needed)."""
    code = "I" + uuid.uuid4().hex[:8].upper()
    await write(client, "POST", "/v1/currencies", {"code": code, "name": code, "exponent": 0})
    return code


async def _account(pool: asyncpg.Pool, account: UUID | str) -> tuple[str, UUID, int] | None:
    """(kind, wallet, balance) of an account row."""
    row = await pool.fetchrow("SELECT kind, wallet_id, balance FROM accounts WHERE id = $1", UUID(str(account)))
    return None if row is None else (row["kind"], row["wallet_id"], row["balance"])


async def _squat(
    client: httpx.AsyncClient, publisher: Publisher, squatter: dict[str, Any], wallet: Wallet, chosen: UUID, cur: str
) -> tuple[httpx.Response, CommandResult]:
    """``squatter`` (a key with only ``wallets``) opens an account in ``wallet`` under ``chosen``, over HTTP,
    then over AMQP as the same key (the gateway's broker user speaking for it)."""
    body = {"account_id": str(chosen), "currency": cur}
    r = await client.post(f"/v1/wallets/{wallet.id}/accounts", json=body, headers=as_key(squatter))
    over_amqp = await publisher.send(
        "account.open", {**body, "wallet": wallet.id}, principal=f"key:{squatter['id']}", timeout=20
    )
    return r, over_amqp


def _reserved(r: httpx.Response, over_amqp: CommandResult) -> None:
    assert (r.status_code, r.json().get("code")) == (422, "reserved_id"), r.text
    assert r.json()["result"]["status"] == "refused", r.text  # recorded by the worker
    assert (over_amqp.status, over_amqp.refusal) == ("refused", "reserved_id"), over_amqp


@pytest.mark.parametrize("role", ["revenue", "treasury"])
async def test_no_caller_can_open_a_system_account_of_a_new_currency(
    client: httpx.AsyncClient, pool: asyncpg.Pool, amqp: AbstractRobustConnection, settings: Settings, role: SystemRole
) -> None:
    # Hole 1: on the old main a key with only `wallets` opened an account in its own wallet under the id of
    # a currency's revenue (or treasury) account before the ledger first used it; every spend then paid
    # the attacker's wallet (every deposit debited the squatter's empty account: insufficient_funds).
    cur = await _currency(client)
    squatter = await make_key(client, ["wallets"], name="wallets only")
    den = Wallet(await write(client, "POST", "/v1/wallets", {"owner_id": "squatter"}, headers=as_key(squatter)), "")
    publisher = await Publisher(amqp, settings).start()
    try:
        r, over_amqp = await _squat(client, publisher, squatter, den, system_account_id(cur, role), cur)
    finally:
        await publisher.close()

    honest = await new_wallet(client, cur)
    deposited = await client.post(
        "/v1/deposits",
        json={"wallet": honest.handle, "amount": 1_000, "currency": cur},
        headers={"Idempotency-Key": key()},
    )
    assert deposited.status_code == 200, f"an honest deposit in {cur}: {deposited.text}"
    await write(client, "POST", "/v1/spends", {"wallet": honest.handle, "amount": 300, "currency": cur})
    balance = {"treasury": -1_000, "revenue": 300}[role]
    assert await _account(pool, system_account_id(cur, role)) == ("system", system_wallet_id(role), balance)
    assert not await pool.fetchval("SELECT count(*) FROM accounts WHERE wallet_id = $1", UUID(den.id)), (
        "an account was opened in the squatter's wallet"
    )
    _reserved(r, over_amqp)


async def test_no_caller_can_take_the_account_another_wallet_gets_in_a_new_currency(
    client: httpx.AsyncClient, pool: asyncpg.Pool, amqp: AbstractRobustConnection, settings: Settings
) -> None:
    # Hole 4: on the old main an account opened under `wallet_account_id(victim, currency)` made every
    # deposit or transfer to the victim in that currency fail 409 account_exists.
    cur = await _currency(client)
    victim, payer = await new_wallet(client), await new_wallet(client, cur, funded=500)
    squatter = await make_key(client, ["wallets"], name="wallets only")
    den = Wallet(await write(client, "POST", "/v1/wallets", {"owner_id": "squatter"}, headers=as_key(squatter)), "")
    taken = wallet_account_id(UUID(victim.id), cur)
    publisher = await Publisher(amqp, settings).start()
    try:
        r, over_amqp = await _squat(client, publisher, squatter, den, taken, cur)
    finally:
        await publisher.close()

    credits = [
        ("/v1/deposits", {"wallet": victim.handle, "amount": 70, "currency": cur}),
        (
            "/v1/transfers",
            {"debit_wallet": payer.handle, "credit_wallet": victim.handle, "amount": 30, "currency": cur},
        ),
    ]
    for path, body in credits:
        answer = await client.post(path, json=body, headers={"Idempotency-Key": key()})
        assert answer.status_code == 200, f"{path} to the victim: {answer.text}"
    assert await _account(pool, taken) == ("user", UUID(victim.id), 100)
    _reserved(r, over_amqp)


def _twice_the_largest(account: str) -> list[dict[str, Any]]:
    """The largest amount debited and credited twice on one account: net zero, a total of twice the bound."""
    return [
        {"account_id": account, "side": side, "amount": MAX_AMOUNT} for _ in range(2) for side in ("debit", "credit")
    ]


async def test_a_total_the_database_cannot_hold_is_a_recorded_refusal(
    client: httpx.AsyncClient, pool: asyncpg.Pool, amqp: AbstractRobustConnection, settings: Settings
) -> None:
    # Hole 3: on the old main the transaction's amount overflowed numeric(38): the batch rolled back, the
    # command was dead-lettered "internal error: NumericValueOutOfRangeError" and the caller's 202 never
    # got an outcome.
    wallet = await new_wallet(client)
    mover = await make_key(client, ["transfer", "read"], wallet_id=wallet.id, name="bound transfer key")
    body = {"currency": "USD", "legs": _twice_the_largest(wallet.usd)}
    headers = as_key(mover)
    r = await client.post("/v1/transactions", json=body, headers=headers)
    command_id = f"overflow-{uuid.uuid4().hex}"
    publisher = await Publisher(amqp, settings).start()
    try:
        sent = await publisher.publish("transaction.post", body, command_id=command_id, principal=f"key:{mover['id']}")
        try:
            over_amqp: CommandResult | None = await asyncio.wait_for(sent, 20)
        except TimeoutError:
            over_amqp = None  # the old main's answer: none
    finally:
        await publisher.close()

    principal = f"key:{mover['id']}"
    outcomes = {
        "http": await recorded(pool, principal, headers["Idempotency-Key"]),
        "amqp": await recorded(pool, principal, command_id),
    }
    dead = [
        d for d in await dead_commands.scan(settings) if command_id in d.body or headers["Idempotency-Key"] in d.body
    ]
    assert not dead, [d.reason for d in dead]
    assert {k: v and (v.status, v.refusal) for k, v in outcomes.items()} == {
        "http": ("refused", "amount_out_of_range"),
        "amqp": ("refused", "amount_out_of_range"),
    }
    assert (r.status_code, r.json().get("code")) == (422, "amount_out_of_range"), r.text
    assert over_amqp is not None and over_amqp.refusal == "amount_out_of_range", over_amqp
    polled = await client.get(
        f"/v1/commands/{headers['Idempotency-Key']}", headers={"Authorization": headers["Authorization"]}
    )
    assert polled.json()["refusal"] == "amount_out_of_range", polled.text


async def test_a_keys_per_transaction_maximum_covers_a_holds_increments(
    client: httpx.AsyncClient, pool: asyncpg.Pool, amqp: AbstractRobustConnection, settings: Settings
) -> None:
    # Limits mean what they say: on the old main a hold of 400 incremented by 400 was captured as one 800
    # under a key's per-transaction maximum of 500.
    payer, shop = await new_wallet(client, funded=10_000), await new_wallet(client)
    holder = await make_key(client, ["holds"], wallet_id=payer.id, name="holds, at most 500 a payment")
    limits = {"spending_limits": [{"currency": "USD", "per_transaction_max": 500}]}
    r = await client.put(f"/v1/admin/keys/{holder['id']}/limits", json=limits)
    assert r.status_code == 200, r.text
    place = {"account_id": payer.usd, "amount": 400, "currency": "USD", "recipient_wallet": shop.handle}
    publisher = await Publisher(amqp, settings).start()
    grown: dict[str, Any] = {}
    try:
        for transport in ("http", "amqp"):
            if transport == "http":
                placed = await client.post("/v1/holds", json=place, headers=as_key(holder))
                assert placed.status_code == 201, placed.text
                hold = placed.json()["hold_id"]
                over = await client.post(f"/v1/holds/{hold}/increment", json={"amount": 400}, headers=as_key(holder))
                grown[transport] = (over.status_code, over.json().get("code") or over.json().get("status"))
            else:
                as_holder = f"key:{holder['id']}"
                result = await publisher.send("hold.place", place, principal=as_holder, timeout=20)
                hold = str(result.hold_id)
                grow = {"hold_id": hold, "amount": 400}
                inc = await publisher.send("hold.increment", grow, principal=as_holder, timeout=20)
                grown[transport] = (inc.status, inc.refusal)
            captured = await client.post(f"/v1/holds/{hold}/capture", headers=as_key(holder))
            assert captured.status_code == 200, captured.text
    finally:
        await publisher.close()
    paid = await _account(pool, shop.usd)
    assert paid is not None and paid[2] == 2 * 400, f"captured {paid}: more than the key's maximum per payment"
    assert grown == {"http": (422, "exceeds_key_limit"), "amqp": ("refused", "exceeds_key_limit")}
