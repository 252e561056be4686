"""The console's API on real processes: flows between wallets, the operations summary after ``ledger audit``,
and dead letters of both sources listed, replayed and purged over HTTP, each action in ``admin_audit``."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import asyncpg
import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection

from contracts.topology import DEAD_LETTER_REASON_HEADER
from ledger_cli.processes import Processes
from ledger_common.settings import Settings
from tests.e2e.access import bearer, make_key
from tests.e2e.api import new_wallet, write
from tests.e2e.conftest import publish_command, wait_until

pytestmark = pytest.mark.e2e


def _edges(graph: dict[str, Any], wallets: set[str]) -> dict[tuple[str, str], tuple[int, int]]:
    return {
        (f["source_label"], f["target_label"]): (f["amount"], f["transactions"])
        for f in graph["flows"]
        if {f["source_wallet_id"], f["target_wallet_id"]} <= wallets
    }


async def test_flows_are_exact_one_to_many_and_proportional_many_to_many(client: httpx.AsyncClient) -> None:
    start = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    a, b, c, d = [await new_wallet(client, funded=10_000) for _ in range(4)]
    ids = {w.id for w in (a, b, c, d)}
    for amount in (100, 250):
        transfer = {"debit_wallet": a.handle, "credit_wallet": b.handle, "amount": amount, "currency": "USD"}
        await write(client, "POST", "/v1/transfers", transfer)
    legs = [
        {"wallet": a.handle, "side": "debit", "amount": 300},
        {"wallet": b.handle, "side": "debit", "amount": 100},
        {"wallet": c.handle, "side": "credit", "amount": 250},
        {"wallet": d.handle, "side": "credit", "amount": 150},
    ]
    await write(client, "POST", "/v1/transactions", {"currency": "USD", "legs": legs})

    r = await client.get("/v1/flows", params={"from": start, "currency": "USD"})
    assert r.status_code == 200, r.text
    graph = r.json()
    assert graph["currency"] == "USD" and graph["since"].startswith(start[:19])
    # Each source's outflow is exact; a target's share is rounded down, the remainder to the largest.
    assert _edges(graph, ids) == {
        (a.handle, b.handle): (350, 2),
        (a.handle, c.handle): (188, 1),
        (a.handle, d.handle): (112, 1),
        (b.handle, c.handle): (63, 1),
        (b.handle, d.handle): (37, 1),
    }
    flow = next(f for f in graph["flows"] if f["source_label"] == a.handle and f["target_label"] == b.handle)
    assert flow["amount_decimal"] == "3.50"
    deposits = [f for f in graph["flows"] if f["target_wallet_id"] == a.id and f["source_label"] == "@treasury"]
    assert deposits and deposits[0]["amount"] == 10_000  # new_wallet funded it from the treasury (no handle)

    # A key bound to b sees only edges with b on one side.
    key = await make_key(client, ["read"], wallet_id=b.id, name="flows of b")
    mine = (await client.get("/v1/flows", params={"from": start}, headers=bearer(key["secret"]))).json()
    assert mine["flows"] and all(b.id in (f["source_wallet_id"], f["target_wallet_id"]) for f in mine["flows"])
    assert set(_edges(mine, ids)) == {(a.handle, b.handle), (b.handle, c.handle), (b.handle, d.handle)}

    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert (await client.get("/v1/flows", params={"from": later})).status_code == 422
    empty = await client.get("/v1/flows", params={"from": start, "currency": "XQQ"})
    assert empty.status_code == 200 and empty.json()["flows"] == []


async def test_operations_shows_the_outbox_and_the_last_audit(client: httpx.AsyncClient, system: Processes) -> None:
    done = system.run_cli("audit", "--json", check=False)
    report = json.loads(done.stdout)
    r = await client.get("/v1/admin/operations")
    assert r.status_code == 200, r.text
    ops = r.json()
    assert ops["audit"]["ok"] is report["ok"] and ops["audit"]["checks"] == report["checks"]
    assert ops["audit"]["findings"] == len(report["findings"])
    assert sum(ops["audit"]["summary"].values()) == len(report["findings"])
    assert ops["outbox"]["backlog"] >= 0 and ops["outbox"]["dead"] == ops["dead_letters"]["events"]
    assert isinstance(ops["dead_letters"]["commands"], int)
    # Admin and unbound only.
    wallet = await new_wallet(client)
    bound = await make_key(client, ["admin"], wallet_id=wallet.id, name="bound admin")
    refused = await client.get("/v1/admin/operations", headers=bearer(bound["secret"]))
    assert refused.status_code == 403 and refused.json()["code"] == "wrong_wallet"


async def _dead_command(amqp: AbstractRobustConnection, settings: Settings, command: dict[str, Any]) -> None:
    """A valid command put straight into the dead-letter queue, as the gateway's broker user published it."""
    channel = await amqp.channel(publisher_confirms=True)
    await settings.topology.declare_commands(channel)
    dlx = await channel.get_exchange(settings.topology.commands_dlx)
    headers: dict[str, Any] = {DEAD_LETTER_REASON_HEADER: "internal error: simulated"}
    headers["x-ledger-original-routing-key"] = command["type"]
    body = json.dumps(command).encode()
    message = aio_pika.Message(
        body, headers=headers, content_type="application/json", message_id=command["command_id"],
        user_id=settings.amqp_user, delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )  # fmt: skip
    await dlx.publish(message, routing_key=command["type"])
    await channel.close()


async def _listed(client: httpx.AsyncClient, source: str, letter_id: str) -> list[dict[str, Any]]:
    r = await client.get("/v1/admin/dead_letters", params={"source": source, "limit": 500})
    assert r.status_code == 200, r.text
    return [d for d in r.json()["dead_letters"] if d["id"] == letter_id]


async def _audited(pool: asyncpg.Pool, letter_id: str) -> list[str]:
    rows = await pool.fetch(
        "SELECT action FROM admin_audit WHERE key_id IS NULL AND details->>'id' = $1 ORDER BY id", letter_id
    )
    return [r["action"] for r in rows]


async def test_dead_commands_over_http(
    client: httpx.AsyncClient, amqp: AbstractRobustConnection, settings: Settings, pool: asyncpg.Pool
) -> None:
    bad = f"bad-{uuid.uuid4().hex}"
    await publish_command(amqp, settings, b'{"command_id": "x", "type": "dep', message_id=bad, routing_key="deposit")
    await wait_until(lambda: _listed(client, "commands", bad))
    letter = (await _listed(client, "commands", bad))[0]
    assert letter["routing_key_or_type"] == "deposit" and "JSON" in letter["reason"] and letter["attempts"] == 1
    assert letter["published_by"] == settings.amqp_user and letter["source"] == "commands"
    assert await _listed(client, "commands", bad), "listing consumed nothing"
    r = await client.post(f"/v1/admin/dead_letters/commands/{bad}/replay")
    assert r.status_code == 409 and r.json()["code"] == "not_replayable", r.text
    r = await client.delete(f"/v1/admin/dead_letters/commands/{bad}")
    assert r.status_code == 200 and r.json()["action"] == "purged", r.text
    assert await _listed(client, "commands", bad) == []
    assert (await client.delete(f"/v1/admin/dead_letters/commands/{bad}")).status_code == 404

    account = (await write(client, "POST", "/v1/accounts", {"currency": "USD"}))["account_id"]
    key = f"dead-deposit-{uuid.uuid4().hex}"
    command = {"command_id": key, "type": "deposit", "principal": "service", "issued_at": datetime.now(UTC).isoformat(),
               "payload": {"account_id": account, "amount": 77, "currency": "USD"}}  # fmt: skip
    await _dead_command(amqp, settings, command)
    await wait_until(lambda: _listed(client, "commands", key))
    r = await client.post(f"/v1/admin/dead_letters/commands/{key}/replay")
    assert r.status_code == 200 and r.json()["dead_letter"]["id"] == key, r.text
    await wait_until(lambda: _balance(client, account, 77))
    assert await _listed(client, "commands", key) == []
    assert await _audited(pool, bad) == ["dead_letter.purged"]
    assert await _audited(pool, key) == ["dead_letter.replayed"]


async def _balance(client: httpx.AsyncClient, account: str, expected: int) -> bool:
    return bool((await client.get(f"/v1/accounts/{account}")).json()["balance"] == expected)


async def test_dead_events_over_http(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    event_id = uuid.uuid4()
    row = await pool.fetchval(
        "INSERT INTO outbox (event_id, command_id, routing_key, partition, body, attempts, last_error, dead_at)"
        " VALUES ($1, $2, 'test.dead', 0, $3, 5, 'nacked: simulated', now()) RETURNING id",
        event_id,
        f"test-{event_id}",
        b'{"simulated": true}',
    )
    letter = (await _listed(client, "events", str(row)))[0]
    assert letter["event_id"] == str(event_id) and letter["routing_key_or_type"] == "test.dead"
    assert letter["attempts"] == 5 and letter["reason"] == "nacked: simulated" and letter["dead_at"]
    purge = await client.delete(f"/v1/admin/dead_letters/events/{row}")
    assert purge.status_code == 409 and purge.json()["code"] == "not_purgeable"
    r = await client.post(f"/v1/admin/dead_letters/events/{event_id}/replay")  # by event id too
    assert r.status_code == 200 and r.json()["dead_letter"]["id"] == str(row), r.text
    assert await pool.fetchval("SELECT dead_at FROM outbox WHERE id = $1", row) is None
    assert await _listed(client, "events", str(row)) == []
    assert (await client.post(f"/v1/admin/dead_letters/events/{row}/replay")).status_code == 404
    assert await _audited(pool, str(row)) == ["dead_letter.replayed"]
