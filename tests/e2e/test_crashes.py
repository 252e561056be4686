"""Kill each process at the step that makes a guarantee, restart it, and check nothing was lost or doubled."""

from __future__ import annotations

import asyncio
import signal
import uuid
from datetime import UTC, datetime

import aio_pika
import asyncpg
import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection

from contracts.results import CommandResult
from contracts.topology import DEAD_LETTER_REASON_HEADER
from ledger_cli.processes import Processes
from ledger_cli.system import OwnSystem
from ledger_common.settings import Settings
from tests.e2e.conftest import publish_command, subscribe, wait_until

pytestmark = pytest.mark.e2e


def command(kind: str, payload: dict[str, object], command_id: str | None = None) -> dict[str, object]:
    return {
        "command_id": command_id or uuid.uuid4().hex,
        "type": kind,
        "issued_at": datetime.now(UTC).isoformat(),
        "payload": payload,
    }


async def test_worker_killed_between_commit_and_ack(isolated: Processes, amqp: AbstractRobustConnection) -> None:
    s = isolated.settings
    conn = await asyncpg.connect(s.database_url.get_secret_value())
    channel = await amqp.channel()
    replies = await channel.declare_queue(exclusive=True, auto_delete=True)
    account = str(uuid.uuid4())
    isolated.start("worker")
    await publish_command(
        amqp, s, command("account.open", {"account_id": account, "currency": "USD"}), routing_key="account.open"
    )
    await wait_until(lambda: conn.fetchval("SELECT count(*) = 1 FROM accounts WHERE id = $1", uuid.UUID(account)))
    isolated.kill("worker", signal.SIGTERM)

    isolated.start("worker", crash_at="worker.after_commit")
    deposit = command("deposit", {"account_id": account, "amount": 1_234, "currency": "USD"})
    await publish_command(amqp, s, deposit, routing_key="deposit", reply_to=replies.name, correlation_id="c1")
    assert isolated.wait_exit("worker") == -signal.SIGKILL  # died after its commit, before the ack
    assert await conn.fetchval("SELECT balance FROM accounts WHERE id = $1", uuid.UUID(account)) == 1_234

    isolated.start("worker")  # the unacked command is redelivered and replayed, not re-applied
    reply = None
    for _ in range(200):
        reply = await replies.get(no_ack=True, fail=False)
        if reply is not None:
            break
        await asyncio.sleep(0.05)
    assert reply is not None
    result = CommandResult.model_validate_json(reply.body)
    assert result.status == "applied" and result.replayed
    assert await conn.fetchval("SELECT balance FROM accounts WHERE id = $1", uuid.UUID(account)) == 1_234
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM postings p JOIN transactions t ON t.id = p.transaction_id WHERE t.command_id = $1",
            deposit["command_id"],
        )
        == 2
    )
    assert await conn.fetchval("SELECT count(*) FROM events WHERE command_id = $1", deposit["command_id"]) == 1
    queue = await channel.declare_queue(s.topology.commands_queue, passive=True)
    await wait_until(lambda: _empty(channel, s))
    assert queue.name
    await conn.close()


async def _empty(channel: aio_pika.abc.AbstractChannel, s: Settings) -> bool:
    q = await channel.declare_queue(s.topology.commands_queue, passive=True)
    return q.declaration_result.message_count == 0


async def test_worker_killed_between_dead_letter_and_ack(isolated: Processes, amqp: AbstractRobustConnection) -> None:
    """A dead letter is at least once: killed after the confirmed copy and before the ack, the worker
    dead-letters the redelivered original again, under the same ``message_id``; nothing stays queued."""
    s = isolated.settings
    isolated.start("worker", crash_at="worker.after_dead_letter")
    message_id = f"crash-{uuid.uuid4().hex}"
    await publish_command(amqp, s, b'{"amount": 1, "amount": 7}', routing_key="deposit", message_id=message_id)
    assert isolated.wait_exit("worker") == -signal.SIGKILL  # died after the dead letter, before the ack

    isolated.start("worker")
    channel = await amqp.channel()
    dead = await channel.declare_queue(s.topology.commands_dead_queue, passive=True)
    reasons: list[str] = []
    for _ in range(200):
        message = await dead.get(no_ack=True, fail=False)
        if message is None:
            if len(reasons) == 2:
                break
            await asyncio.sleep(0.05)
            continue
        assert message.message_id == message_id
        reasons.append(str((message.headers or {}).get(DEAD_LETTER_REASON_HEADER)))
    assert reasons == ["invalid JSON: duplicate key 'amount'"] * 2
    await wait_until(lambda: _empty(channel, s))
    await channel.close()


async def test_relay_killed_between_publish_and_delete(isolated: Processes, amqp: AbstractRobustConnection) -> None:
    s = isolated.settings
    conn = await asyncpg.connect(s.database_url.get_secret_value())
    sub = await subscribe(amqp, s)
    isolated.start("worker")
    isolated.start("relay", crash_at="relay.after_publish")
    cmd = command("account.open", {"currency": "USD"})
    await publish_command(amqp, s, cmd, routing_key="account.open")
    await sub.wait_for(lambda evs: any(e.command_id == cmd["command_id"] for e in evs))
    assert isolated.wait_exit("relay") == -signal.SIGKILL  # published and confirmed, not deleted
    assert await conn.fetchval("SELECT count(*) = 1 FROM outbox WHERE command_id = $1", cmd["command_id"])

    isolated.start("relay")
    await sub.wait_for(lambda evs: sum(e.command_id == cmd["command_id"] for e in evs) == 2)
    first, again = [e for e in sub.events if e.command_id == cmd["command_id"]]
    assert first.event_id == again.event_id  # the re-sent event is deduplicable
    await wait_until(lambda: conn.fetchval("SELECT count(*) = 0 FROM outbox WHERE command_id = $1", cmd["command_id"]))
    await conn.close()


async def test_sigterm_drains_and_exits_cleanly(isolated: Processes, amqp: AbstractRobustConnection) -> None:
    s = isolated.settings
    isolated.start("worker")
    isolated.start("relay")
    for _ in range(50):
        await publish_command(amqp, s, command("account.open", {"currency": "USD"}), routing_key="account.open")
    assert isolated.kill("worker", signal.SIGTERM) == 0
    assert isolated.kill("relay", signal.SIGTERM) == 0


async def test_no_worker_means_202_then_the_command_completes(isolated_system: OwnSystem) -> None:
    isolated_settings = isolated_system.direct
    sys_ = isolated_system.processes(isolated_settings.model_copy(update={"reply_timeout_seconds": 0.5}))
    try:
        sys_.start("gateway")
        token = isolated_settings.service_api_key.get_secret_value()
        async with httpx.AsyncClient(base_url=sys_.base_url, headers={"Authorization": f"Bearer {token}"}) as http:
            r = await http.post("/v1/accounts", json={"currency": "USD"}, headers={"Idempotency-Key": "late-1"})
            assert r.status_code == 202 and r.headers["Location"] == "/v1/commands/late-1"
            assert (await http.get("/v1/commands/late-1")).status_code == 404
            sys_.start("worker")  # the command waited in its durable queue
            for _ in range(100):
                status = await http.get("/v1/commands/late-1")
                if status.status_code == 200:
                    break
                await asyncio.sleep(0.1)
            assert status.status_code == 200 and status.json()["status"] == "applied"
    finally:
        sys_.stop_all()


async def test_worker_killed_after_committing_a_batch_replays_all_of_it(
    isolated: Processes, amqp: AbstractRobustConnection
) -> None:
    """The batch case of the step above: many commands share one commit and their acks are one
    ``multiple`` ack; killed in between, every one of them is redelivered and replayed, none re-applied."""
    s = isolated.settings
    conn = await asyncpg.connect(s.database_url.get_secret_value())
    account = str(uuid.uuid4())
    isolated.start("worker")
    await publish_command(
        amqp, s, command("account.open", {"account_id": account, "currency": "USD"}), routing_key="account.open"
    )
    await wait_until(lambda: conn.fetchval("SELECT count(*) = 1 FROM accounts WHERE id = $1", uuid.UUID(account)))
    isolated.kill("worker", signal.SIGTERM)

    async def balance() -> int:
        return int(await conn.fetchval("SELECT balance FROM accounts WHERE id = $1", uuid.UUID(account)))

    # Queued before the worker starts, the deposits usually all come in its first batch, but a lane takes
    # what has arrived when it wakes, which on a busy machine can be one delivery: then try again (the
    # commands of the try before are still queued, redelivered, and must be replayed like the others).
    deposits: list[dict[str, object]] = []
    for _ in range(5):
        more = [command("deposit", {"account_id": account, "amount": 100, "currency": "USD"}) for _ in range(20)]
        for deposit in more:
            await publish_command(amqp, s, deposit, routing_key="deposit")
        deposits += more
        before = await balance()
        isolated.start("worker", crash_at="worker.after_commit")
        assert isolated.wait_exit("worker") == -signal.SIGKILL
        if await balance() - before > 100:
            break  # more than one command shared the commit that preceded the kill
    else:
        raise AssertionError("the worker never committed more than one command at once")

    isolated.start("worker")
    await wait_until(
        lambda: conn.fetchval("SELECT count(*) = $1 FROM commands WHERE command_type = 'deposit'", len(deposits))
    )
    # Anything applied twice would show once the worker has taken every redelivery and finished with it:
    # the queue is empty, and a SIGTERMed worker drains what it holds before it exits.
    channel = await amqp.channel()
    await wait_until(lambda: _empty(channel, s))
    assert isolated.kill("worker", signal.SIGTERM) == 0
    assert await balance() == 100 * len(deposits)
    ids = [d["command_id"] for d in deposits]
    assert await conn.fetchval("SELECT count(*) FROM transactions WHERE command_id = ANY($1)", ids) == len(deposits)
    await conn.close()
