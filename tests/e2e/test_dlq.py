"""``ledger dlq`` on real processes: list without consuming, replay exactly once, purge."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import aio_pika
import asyncpg
import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection

from contracts.topology import DEAD_LETTER_REASON_HEADER
from ledger_cli.processes import Processes
from ledger_common.settings import Settings
from tests.e2e.conftest import publish_command, wait_until

pytestmark = pytest.mark.e2e


async def dead_commands(system: Processes) -> list[dict[str, Any]]:
    out = await asyncio.to_thread(system.cli, "dlq", "list", "--source", "commands", "--json")
    letters: list[dict[str, Any]] = json.loads(out)
    return letters


async def listed(system: Processes, message_id: str) -> list[dict[str, Any]]:
    return [d for d in await dead_commands(system) if d["id"] == message_id]


async def test_malformed_command_is_listed_without_being_consumed_then_purged(
    amqp: AbstractRobustConnection, settings: Settings, system: Processes
) -> None:
    bad, body = f"bad-{uuid.uuid4().hex}", b'{"command_id": "x", "type": "dep'
    await publish_command(amqp, settings, body, message_id=bad, routing_key="deposit")
    await wait_until(lambda: listed(system, bad))

    first, second = await listed(system, bad), await listed(system, bad)
    assert first == second and len(first) == 1, "listing twice shows it twice: nothing consumed"
    letter = first[0]
    assert letter["source"] == "commands" and letter["routing_key"] == "deposit"
    assert "invalid" in letter["reason"] and "JSON" in letter["reason"] and letter["attempts"] == 1
    assert letter["size"] == len(body) and letter["body"] == body.decode()

    shown = json.loads(await asyncio.to_thread(system.cli, "dlq", "show", bad, "--json"))
    assert [d["id"] for d in shown] == [bad]
    assert shown[0]["extra"]["headers"][DEAD_LETTER_REASON_HEADER] == letter["reason"]
    text = await asyncio.to_thread(system.cli, "dlq", "list")
    assert bad in text and "dead event(s)" in text

    # Replaying what still cannot decode would only dead-letter it again: skipped unless --force.
    skipped = await asyncio.to_thread(system.cli, "dlq", "replay", "--source", "commands", bad)
    assert f"skipped {bad}" in skipped and len(await listed(system, bad)) == 1

    purged = await asyncio.to_thread(system.cli, "dlq", "purge", "--source", "commands", bad)
    assert f"purged {bad}" in purged and "purged 1 command(s)" in purged
    assert await listed(system, bad) == []


async def _simulate_dead_letter(
    amqp: AbstractRobustConnection, settings: Settings, command: dict[str, Any], reply_to: str
) -> None:
    """Publish a valid command straight to the dead-letter exchange, as if it had died."""
    channel = await amqp.channel(publisher_confirms=True)
    await settings.topology.declare_commands(channel)
    dlx = await channel.get_exchange(settings.topology.commands_dlx)
    headers: dict[str, Any] = {
        DEAD_LETTER_REASON_HEADER: "internal error: simulated",
        "x-ledger-original-routing-key": "deposit",
    }
    message = aio_pika.Message(
        json.dumps(command).encode(),
        headers=headers,
        content_type="application/json",
        message_id=command["command_id"],
        reply_to=reply_to,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )
    await dlx.publish(message, routing_key="deposit")
    await channel.close()


async def test_replayed_dead_command_is_applied_once(
    amqp: AbstractRobustConnection,
    settings: Settings,
    system: Processes,
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
) -> None:
    opened = await client.post("/v1/accounts", json={"currency": "USD"}, headers={"Idempotency-Key": uuid.uuid4().hex})
    account = opened.json()["account_id"]
    key = f"dead-deposit-{uuid.uuid4().hex}"
    command = {
        "command_id": key,
        "type": "deposit",
        # As the gateway sends it: replayed by an operator on the gateway's broker user, the claim holds.
        "principal": "service",
        "issued_at": datetime.now(UTC).isoformat(),
        "payload": {"account_id": account, "amount": 1234, "currency": "USD"},
    }
    channel = await amqp.channel()
    replies = await channel.declare_queue(exclusive=True, auto_delete=True)

    results = []
    for _ in range(2):  # the second time, the same command was dead-lettered again
        await _simulate_dead_letter(amqp, settings, command, replies.name)
        await wait_until(lambda: listed(system, key))
        out = await asyncio.to_thread(system.cli, "dlq", "replay", "--source", "commands", key)
        assert f"replayed {key} -> deposit" in out and "replayed 1 command(s)" in out
        reply = await _next_reply(replies)
        results.append(json.loads(reply.body))
        assert await listed(system, key) == []

    first, again = results
    assert first["status"] == "applied" and first["replayed"] is False
    assert again == {**first, "replayed": True}
    status = await client.get(f"/v1/commands/{key}")
    assert status.status_code == 200 and status.json()["transaction_id"] == first["transaction_id"]
    assert (await client.get(f"/v1/accounts/{account}")).json()["balance"] == 1234
    postings = await pool.fetchval(
        "SELECT count(*) FROM postings p JOIN transactions t ON t.id = p.transaction_id WHERE t.command_id = $1", key
    )
    assert postings == 2
    await channel.close()


async def _next_reply(queue: aio_pika.abc.AbstractQueue) -> aio_pika.abc.AbstractIncomingMessage:
    for _ in range(600):
        message = await queue.get(no_ack=True, fail=False)
        if message is not None:
            return message
        await asyncio.sleep(0.05)
    raise AssertionError("no reply from the worker")


async def test_listing_keeps_queue_order_and_purge_all_empties_it(
    amqp: AbstractRobustConnection, settings: Settings, system: Processes
) -> None:
    ids = [f"junk-{i}-{uuid.uuid4().hex}" for i in range(5)]
    channel = await amqp.channel(publisher_confirms=True)
    await settings.topology.declare_commands(channel)
    dlx = await channel.get_exchange(settings.topology.commands_dlx)
    for message_id in ids:  # straight to the dead queue, confirmed one by one: a known order
        headers: dict[str, Any] = {DEAD_LETTER_REASON_HEADER: "invalid JSON: simulated"}
        await dlx.publish(aio_pika.Message(b"\xff", headers=headers, message_id=message_id), routing_key="x")
    await channel.close()

    def order(letters: list[dict[str, Any]]) -> list[str]:
        return [d["id"] for d in letters if d["id"] in ids]

    assert order(await dead_commands(system)) == ids
    assert order(await dead_commands(system)) == ids, "a look hands every message back, in order"
    out = await asyncio.to_thread(system.cli, "dlq", "purge", "--source", "commands", ids[2])
    assert "purged 1 command(s)" in out
    assert order(await dead_commands(system)) == ids[:2] + ids[3:]

    out = await asyncio.to_thread(system.cli, "dlq", "purge", "--source", "commands", "--all")
    assert all(f"purged {i}" in out for i in ids[:2] + ids[3:])
    assert await dead_commands(system) == []
