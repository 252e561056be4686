"""The whole path on real processes: HTTP -> RabbitMQ -> worker -> PostgreSQL -> relay -> events."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import aio_pika
import asyncpg
import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection

from contracts.topology import DEAD_LETTER_REASON_HEADER
from ledger_cli.processes import Processes
from ledger_common.settings import Settings
from tests.e2e.conftest import publish_command, subscribe

pytestmark = pytest.mark.e2e


def key() -> str:
    return uuid.uuid4().hex


async def open_account(client: httpx.AsyncClient, currency: str = "USD") -> str:
    r = await client.post("/v1/accounts", json={"currency": currency}, headers={"Idempotency-Key": key()})
    assert r.status_code == 201, r.text
    return str(r.json()["account_id"])


async def test_open_deposit_transfer_emits_events(
    client: httpx.AsyncClient, amqp: AbstractRobustConnection, system: Processes
) -> None:
    sub = await subscribe(amqp, system.settings)
    alice, bob = await open_account(client), await open_account(client)
    r = await client.post(
        "/v1/deposits",
        json={"account_id": alice, "amount": 10_000, "currency": "USD"},
        headers={"Idempotency-Key": key()},
    )
    assert r.status_code == 200, r.text
    t = await client.post(
        "/v1/transfers",
        json={"debit_account_id": alice, "credit_account_id": bob, "amount": 2_550, "currency": "USD"},
        headers={"Idempotency-Key": (transfer_key := key())},
    )
    assert t.status_code == 200, t.text
    assert {b["account_id"]: b["balance"] for b in t.json()["balances"]} == {alice: 7_450, bob: 2_550}
    assert (await client.get(f"/v1/accounts/{alice}")).json()["balance"] == 7_450
    assert (await client.get(f"/v1/accounts/{bob}")).json()["balance"] == 2_550

    await sub.wait_for(lambda evs: sum(e.command_id == transfer_key for e in evs) == 2)
    mine = [e for e in sub.events if str(e.account_id) in (alice, bob)]
    assert [(e.type, e.sequence) for e in mine if str(e.account_id) == alice] == [
        ("account.opened", 1),
        ("account.credited", 2),
        ("account.debited", 3),
    ]
    assert [(e.type, e.sequence) for e in mine if str(e.account_id) == bob] == [
        ("account.opened", 1),
        ("account.credited", 2),
    ]
    ids = {m.message_id for m in sub.messages}
    assert all(str(e.event_id) in ids for e in mine)

    tx = await client.get(f"/v1/transactions/{t.json()['transaction_id']}")
    assert sorted(p["amount"] for p in tx.json()["postings"]) == [-2_550, 2_550]
    entries = (await client.get(f"/v1/accounts/{alice}/entries", params={"limit": 1})).json()
    assert entries["entries"][0]["amount"] == -2_550 and entries["next_cursor"]
    page2 = (await client.get(f"/v1/accounts/{alice}/entries", params={"cursor": entries["next_cursor"]})).json()
    assert [e["amount"] for e in page2["entries"]] == [10_000] and page2["next_cursor"] is None


async def test_same_idempotency_key_replays_and_posts_nothing(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    acct = await open_account(client)
    body = {"account_id": acct, "amount": 500, "currency": "USD"}
    k = key()
    first = await client.post("/v1/deposits", json=body, headers={"Idempotency-Key": k})
    postings = await pool.fetchval("SELECT count(*) FROM postings")
    again = await client.post("/v1/deposits", json=body, headers={"Idempotency-Key": k})
    assert first.status_code == again.status_code == 200
    assert (first.headers["Idempotent-Replayed"], again.headers["Idempotent-Replayed"]) == ("false", "true")
    assert again.content == first.content  # the first answer again, byte for byte
    assert await pool.fetchval("SELECT count(*) FROM postings") == postings
    other = await client.post("/v1/deposits", json={**body, "amount": 501}, headers={"Idempotency-Key": k})
    assert other.status_code == 409 and other.json()["code"] == "idempotency_conflict"
    assert (await client.get(f"/v1/accounts/{acct}")).json()["balance"] == 500
    status = await client.get(f"/v1/commands/{k}")
    assert status.status_code == 200 and status.json()["status"] == "applied"


async def test_concurrent_withdrawals_never_overdraw(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    acct = await open_account(client)
    await client.post(
        "/v1/deposits",
        json={"account_id": acct, "amount": 10_000, "currency": "USD"},
        headers={"Idempotency-Key": key()},
    )
    body = {"account_id": acct, "amount": 70, "currency": "USD"}
    rs = await asyncio.gather(
        *(client.post("/v1/withdrawals", json=body, headers={"Idempotency-Key": key()}) for _ in range(200))
    )
    ok = sum(r.status_code == 200 for r in rs)
    refused = [r.json()["code"] for r in rs if r.status_code != 200]
    assert ok == 142 and set(refused) == {"insufficient_funds"}, (ok, set(refused))
    assert (await client.get(f"/v1/accounts/{acct}")).json()["balance"] == 10_000 - 142 * 70
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM (SELECT currency FROM postings GROUP BY currency HAVING sum(amount) <> 0) x"
        )
        == 0
    )
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM accounts WHERE balance <> (SELECT coalesce(sum(amount), 0)"
            " FROM postings p WHERE p.account_id = accounts.id)"
        )
        == 0
    )


async def test_refusals_are_recorded_with_reply_and_event(
    client: httpx.AsyncClient, amqp: AbstractRobustConnection, system: Processes
) -> None:
    sub = await subscribe(amqp, system.settings)
    usd, eur = await open_account(client), await open_account(client, "EUR")
    cases = [
        ("/v1/withdrawals", {"account_id": usd, "amount": 1, "currency": "USD"}, 422, "insufficient_funds"),
        ("/v1/deposits", {"account_id": str(uuid.uuid4()), "amount": 1, "currency": "USD"}, 404, "account_not_found"),
        (
            "/v1/transfers",
            {"debit_account_id": eur, "credit_account_id": usd, "amount": 1, "currency": "USD"},
            422,
            "currency_mismatch",
        ),
    ]
    for path, body, status, code in cases:
        k = key()
        r = await client.post(path, json=body, headers={"Idempotency-Key": k})
        assert (r.status_code, r.json()["code"]) == (status, code), r.text
        assert (await client.get(f"/v1/commands/{k}")).json()["refusal"] == code
        await sub.wait_for(lambda evs: any(e.command_id == k and e.type == "command.refused" for e in evs))  # noqa: B023


async def test_malformed_command_is_dead_lettered_and_worker_keeps_serving(
    client: httpx.AsyncClient, amqp: AbstractRobustConnection, settings: Settings
) -> None:
    channel = await amqp.channel()
    await settings.topology.declare_commands(channel)
    dead = await channel.get_queue(settings.topology.commands_dead_queue)
    await publish_command(amqp, settings, b"{not json", message_id="bad-1")
    await publish_command(
        amqp,
        settings,
        {"command_id": "bad-2", "type": "teleport", "issued_at": "2026-01-01T00:00:00Z", "payload": {}},
        message_id="bad-2",
    )
    acct = await open_account(client)  # the worker still serves
    reasons: dict[str, str] = {}
    for _ in range(100):
        msg = await dead.get(no_ack=True, fail=False)
        if msg is None:
            if len(reasons) == 2:
                break
            await asyncio.sleep(0.1)
            continue
        reasons[str(msg.message_id)] = str((msg.headers or {})[DEAD_LETTER_REASON_HEADER])
    assert set(reasons) == {"bad-1", "bad-2"}
    assert reasons["bad-1"].startswith("invalid JSON") and reasons["bad-2"].startswith("invalid command: ")
    assert (await client.get(f"/v1/accounts/{acct}")).status_code == 200


async def test_command_straight_over_amqp(
    client: httpx.AsyncClient, amqp: AbstractRobustConnection, settings: Settings
) -> None:
    acct = await open_account(client)
    sub = await subscribe(amqp, settings)
    cmd = {
        "command_id": (k := key()),
        "type": "deposit",
        "issued_at": datetime.now(UTC).isoformat(),
        "payload": {"account_id": acct, "amount": 42, "currency": "USD"},
    }
    await publish_command(amqp, settings, cmd, routing_key="deposit")
    await sub.wait_for(lambda evs: any(e.command_id == k for e in evs))
    assert (await client.get(f"/v1/accounts/{acct}")).json()["balance"] == 42
    _ = aio_pika  # imported for type context


NOBODY = "00000000-0000-4000-8000-00000000dead"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("post", "/v1/transfers", {"content": b"\xff\xfe not json"}, 400),
        ("post", "/v1/deposits", {"json": {"account_id": "x", "amount": 1.5, "currency": "usd"}}, 422),
        # Amounts beyond 38 digits, or with more decimals than the currency has, never reach the worker.
        ("post", "/v1/deposits", {"json": {"account_id": NOBODY, "amount": 10**38, "currency": "USD"}}, 422),
        ("post", "/v1/deposits", {"json": {"account_id": NOBODY, "amount": "1.005", "currency": "USD"}}, 422),
        ("get", "/v1/accounts/not-a-uuid", {}, 422),
        ("get", f"/v1/accounts/{NOBODY}/entries?cursor=%%%", {}, 400),
        ("get", f"/v1/accounts/{NOBODY}", {}, 404),
        ("get", "/v1/nowhere", {}, 404),
        ("get", "/v1/wallets?owner=someone", {}, 422),  # unknown query parameters are refused, not ignored
        ("get", "/v1/transactions?to=0.5", {}, 422),  # moments are RFC 3339, not seconds since 1970
    ],
)
async def test_bad_input_gets_problem_documents(
    client: httpx.AsyncClient, method: str, path: str, kwargs: dict[str, object], status: int
) -> None:
    headers = {"Idempotency-Key": key(), "content-type": "application/json"}
    r = await client.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json") and r.json()["code"]


async def test_every_v1_route_needs_the_token(system: Processes) -> None:
    async with httpx.AsyncClient(base_url=system.base_url) as anon:
        for method, path in [
            ("post", "/v1/accounts"),
            ("get", f"/v1/accounts/{uuid.uuid4()}"),
            ("post", "/v1/transfers"),
            ("get", "/v1/commands/x"),
        ]:
            r = await anon.request(method, path, headers={"Authorization": "Bearer wrong"})
            assert r.status_code == 401 and r.json()["code"] == "unauthorized"
        assert (await anon.get("/healthz")).status_code == 200


async def test_missing_idempotency_key_is_refused(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/accounts", json={"currency": "USD"})
    assert r.status_code == 400 and r.json()["code"] == "idempotency_key_required"
