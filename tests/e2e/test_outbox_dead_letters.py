"""An event the broker keeps refusing backs off, is dead-lettered in the outbox, and can be replayed."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
from aio_pika.abc import AbstractRobustConnection

from ledger_cli.system import OwnSystem
from tests.e2e.conftest import publish_command, wait_until

pytestmark = pytest.mark.e2e

SENT = (
    "SELECT EXISTS (SELECT FROM events WHERE command_id = $1) AND NOT EXISTS (SELECT FROM outbox WHERE command_id = $1)"
)


async def test_refused_event_is_dead_lettered_then_replayed(
    isolated_system: OwnSystem, amqp: AbstractRobustConnection
) -> None:
    # The relay's schedule is the test's: retry at once, poll often; nothing waits on the default backoff.
    s = isolated_system.direct.model_copy(
        update={"relay_max_attempts": 2, "relay_backoff_seconds": 0.001, "relay_poll_seconds": 0.1}
    )
    system = isolated_system.processes(s)
    channel = await amqp.channel()
    exchange = await s.topology.declare_events(channel)
    # A full queue that rejects publishes makes the broker nack the event: a refusal, not an outage.
    full = await channel.declare_queue(
        f"{s.ledger_namespace}full", arguments={"x-max-length": 1, "x-overflow": "reject-publish"}
    )
    await full.bind(exchange, routing_key="account.opened")
    conn = await asyncpg.connect(s.database_url.get_secret_value())
    try:
        system.start("worker")
        system.start("relay")
        first, second = (
            {
                "command_id": uuid.uuid4().hex,
                "type": "account.open",
                "issued_at": datetime.now(UTC).isoformat(),
                "payload": {"currency": "USD"},
            }
            for _ in range(2)
        )
        await publish_command(amqp, s, first, routing_key="account.open")
        # The first event fills the queue: published, so gone from the outbox. (Not merely absent from the
        # outbox: before the worker commits it is not there yet, and the second could then take the place.)
        await wait_until(lambda: conn.fetchval(SENT, first["command_id"]))
        await publish_command(amqp, s, second, routing_key="account.open")
        await wait_until(
            lambda: conn.fetchval("SELECT dead_at IS NOT NULL FROM outbox WHERE command_id = $1", second["command_id"])
        )
        row = await conn.fetchrow(
            "SELECT id, event_id, attempts, last_error FROM outbox WHERE command_id = $1", second["command_id"]
        )
        assert row["attempts"] == 2 and "refused" in row["last_error"]
        listed = json.loads(system.cli("dlq", "list", "--source", "events", "--json"))
        assert [(d["id"], d["attempts"], d["reason"]) for d in listed] == [(str(row["id"]), 2, row["last_error"])]
        assert listed[0]["extra"]["event_id"] == str(row["event_id"])
        assert str(row["event_id"]) in system.cli("outbox", "dead")  # the old name still works

        await full.purge()
        assert "replayed 1 event(s)" in system.cli("dlq", "replay", "--source", "events", str(row["event_id"]))
        await wait_until(lambda: conn.fetchval("SELECT count(*) = 0 FROM outbox WHERE id = $1", row["id"]))
        message = await full.get(no_ack=True, fail=False)
        assert message is not None and message.message_id == str(row["event_id"])
    finally:
        await conn.close()
        await full.delete(if_unused=False, if_empty=False)
        system.stop_all()
