"""Cut every database and broker connection of a running system mid-stream; nothing is lost or doubled."""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection

from ledger_cli.processes import Processes
from tests.e2e.conftest import publish_command, subscribe

pytestmark = pytest.mark.e2e


def broker_connections(namespace: str) -> dict[str, str]:
    """This test's broker connections (named ``<namespace><role>``): pid -> the client_properties line."""
    out = subprocess.run(
        ["rabbitmqctl", "list_connections", "-q", "--no-table-headers", "pid", "client_properties"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = (line.split("\t", 1) for line in out.splitlines() if f'"connection_name","{namespace}' in line)
    return {pid: props for pid, props in found}


def roles(namespace: str) -> list[str]:
    """The roles holding this test's connections, one entry per connection (sorted)."""
    names = re.findall(
        rf'"connection_name","{re.escape(namespace)}([^"]*)"', "".join(broker_connections(namespace).values())
    )
    return sorted(names)


def close_broker_connections(namespace: str) -> int:
    """Close only this test's connections (named ``<namespace><role>``), as a broker failover would."""
    pids = list(broker_connections(namespace))
    for pid in pids:
        subprocess.run(["rabbitmqctl", "close_connection", pid, "test cut"], capture_output=True, check=False)
    return len(pids)


async def test_database_and_broker_cuts_lose_nothing(isolated: Processes, amqp: AbstractRobustConnection) -> None:
    s = isolated.settings
    dsn = s.database_url.get_secret_value()
    db_name = dsn.rsplit("/", 1)[1]
    for name in ("worker", "relay", "gateway"):
        isolated.start(name)
    sub = await subscribe(amqp, s)
    account = str(uuid.uuid4())
    await publish_command(
        amqp,
        s,
        {
            "command_id": f"open-{account}",
            "type": "account.open",
            "issued_at": datetime.now(UTC).isoformat(),
            "payload": {"account_id": account, "currency": "USD"},
        },
        routing_key="account.open",
    )
    # The worker applies commands concurrently: a deposit must not race the account's opening.
    await sub.wait_for(lambda evs: any(e.command_id == f"open-{account}" for e in evs))
    ids = [f"dep-{i}-{uuid.uuid4().hex[:6]}" for i in range(300)]
    admin = await asyncpg.connect(dsn)
    for i, command_id in enumerate(ids):
        body = {
            "command_id": command_id,
            "type": "deposit",
            "issued_at": datetime.now(UTC).isoformat(),
            "payload": {"account_id": account, "amount": 1, "currency": "USD"},
        }
        await publish_command(amqp, s, body, routing_key="deposit")
        if i in (60, 180):
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                db_name,
            )
        if i in (120, 240):
            assert close_broker_connections(s.ledger_namespace) >= 3
    await sub.wait_for(lambda evs: {e.command_id for e in evs if e.type == "account.credited"} >= set(ids), timeout=90)
    assert await admin.fetchval("SELECT balance FROM accounts WHERE id = $1", uuid.UUID(account)) == 300
    assert await admin.fetchval("SELECT count(*) FROM transactions WHERE command_id = ANY($1::text[])", ids) == 300
    token = s.service_api_key.get_secret_value()
    async with httpx.AsyncClient(base_url=isolated.base_url, headers={"Authorization": f"Bearer {token}"}) as http:
        for _ in range(50):  # the gateway reconnected on its own; 503 only while it does
            r = await http.post(
                "/v1/deposits",
                json={"account_id": account, "amount": 5, "currency": "USD"},
                headers={"Idempotency-Key": "after-cuts"},
            )
            if r.status_code != 503:
                break
            await asyncio.sleep(0.1)
        assert r.status_code == 200, r.text
    # Idle now: every connection cut again comes back without an event or a request to notice the loss by
    # (the relay's event log connection once waited for the next event; a cluster's lost node kept it away).
    await asyncio.sleep(1.5)  # the deposit's event is logged: nothing more comes
    before = roles(s.ledger_namespace)
    assert {"gateway", "worker", "relay", "relay-log"} <= set(before), before
    assert close_broker_connections(s.ledger_namespace) == len(before)
    deadline = time.monotonic() + 20  # the relay polls for a lost connection every RELAY_POLL_SECONDS (1 s)
    for _ in range(100):
        if (now := roles(s.ledger_namespace)) == before or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert now == before
    assert all(p.poll() is None for p in isolated.procs.values())
    await admin.close()
