"""Key lifecycle on real processes: rate limits and revocation across two gateways, audit rows and
``key.*`` events (signed, without secrets), and ``ledger keys`` on the command line."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from contracts.keys import KeyEvent
from contracts.signing import verify_message
from ledger_cli.processes import Processes
from tests.e2e.access import bearer, make_key
from tests.e2e.conftest import wait_until
from tests.ledger import funded_wallet

pytestmark = pytest.mark.e2e


@pytest.fixture
def second_gateway(system: Processes, tmp_path: Path) -> Iterator[Processes]:
    """Another gateway process on the same database and broker namespace."""
    other = Processes(system.settings, logdir=tmp_path)
    other.start("gateway")
    yield other
    other.stop_all()


async def test_rate_limit_and_revocation_hold_across_two_gateways(
    client: httpx.AsyncClient, system: Processes, second_gateway: Processes
) -> None:
    key = await make_key(client, ["read"], rate=(0.01, 3), name="slow reader")  # 3 at once, then one per 100 s
    auth = bearer(key["secret"])
    urls = [system.base_url, second_gateway.base_url] * 3
    async with httpx.AsyncClient(timeout=30, headers=auth) as c:
        statuses = [(await c.get(f"{url}/v1/commands/nothing-{i}")).status_code for i, url in enumerate(urls)]
        assert statuses == [404, 404, 404, 429, 429, 429], statuses  # 3 tokens shared by both gateways
        limited = await c.get(f"{second_gateway.base_url}/v1/commands/x")
        assert limited.json()["code"] == "rate_limited"
        assert 1 <= int(limited.headers["Retry-After"]) <= 100

        # New limits start from a full bucket, on every gateway.
        r = await client.put(
            f"/v1/admin/keys/{key['id']}/limits", json={"rate_limit": {"per_second": 0.01, "burst": 1}}
        )
        assert r.status_code == 200 and r.json()["rate_limit"] == {"per_second": 0.01, "burst": 1}

        async def answered(url: str, status: int) -> bool:
            return (await c.get(url)).status_code == status

        # The other gateway forgets the key on its notification, a moment after the commit (docs/security.md,
        # "Revocation and rate limits"); a request that comes first still meets the old bucket, empty (429),
        # which takes no token. CI once sent it first on a loaded machine.
        await wait_until(lambda: answered(f"{second_gateway.base_url}/v1/commands/y", 404), timeout=10)
        assert (await c.get(f"{system.base_url}/v1/commands/y")).status_code == 429  # its one token is taken

        # Revoked through one gateway: refused by the other once its notification is in, within moments.
        assert (await client.delete(f"/v1/admin/keys/{key['id']}")).status_code == 200
        await wait_until(lambda: answered(f"{second_gateway.base_url}/v1/commands/z", 401), timeout=10)


async def test_admin_actions_are_audited_and_published_without_secrets(
    client: httpx.AsyncClient, amqp: AbstractRobustConnection, system: Processes, pool: asyncpg.Pool
) -> None:
    received: list[AbstractIncomingMessage] = []
    channel = await amqp.channel()
    exchange = await system.settings.topology.declare_events(channel)
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind(exchange, routing_key="key.#")

    async def collect(message: AbstractIncomingMessage) -> None:
        received.append(message)

    await queue.consume(collect, no_ack=True)

    missing = await client.post(
        "/v1/admin/keys", json={"name": "x", "scopes": ["read"], "wallet_id": str(uuid.uuid4())}
    )
    assert missing.status_code == 404 and missing.json()["code"] == "wallet_not_found"
    wallet_id, _ = await funded_wallet(pool, 0)
    key = await make_key(client, ["payments"], wallet_id=str(wallet_id), name="merchant backend")
    limits = {
        "rate_limit": None,
        "spending_limits": [{"currency": "USD", "per_transaction_max": 5000, "per_day_max": 20000}],
    }
    assert (await client.put(f"/v1/admin/keys/{key['id']}/limits", json=limits)).status_code == 200
    assert (await client.delete(f"/v1/admin/keys/{key['id']}")).json()["revoked_at"] is not None
    assert (await client.delete(f"/v1/admin/keys/{key['id']}")).status_code == 200  # twice: no new event

    audit = await pool.fetch(
        "SELECT principal, action FROM admin_audit WHERE key_id = $1 ORDER BY id", uuid.UUID(key["id"])
    )
    actions = ["key.created", "key.limits_changed", "key.revoked"]
    assert [(a["principal"], a["action"]) for a in audit] == [("service", a) for a in actions]
    row = await pool.fetchrow("SELECT * FROM api_key_spending_limits WHERE key_id = $1", uuid.UUID(key["id"]))
    assert (row["currency"], row["per_transaction_max"], row["per_day_max"]) == ("USD", 5000, 20000)

    async def three() -> bool:
        return len([m for m in received if KeyEvent.model_validate_json(m.body).key.id == uuid.UUID(key["id"])]) == 3

    await wait_until(three)
    mine = [m for m in received if KeyEvent.model_validate_json(m.body).key.id == uuid.UUID(key["id"])]
    assert [m.routing_key for m in mine] == actions  # one partition per key: in order
    secret_hash = await pool.fetchval("SELECT secret_hash FROM api_keys WHERE id = $1", uuid.UUID(key["id"]))
    for m in mine:
        assert verify_message(m, system.settings.signing_keys)  # routing key, message_id, type, body
        text = m.body.decode()
        assert (
            key["secret"] not in text and key["secret"].rsplit("_", 1)[1] not in text and secret_hash.hex() not in text
        )
    assert KeyEvent.model_validate_json(mine[1].body).key.spending_limits[0].per_day_max == 20000
    stored = await pool.fetch("SELECT details::text AS d FROM admin_audit WHERE key_id = $1", uuid.UUID(key["id"]))
    assert all(key["secret"].rsplit("_", 1)[1] not in r["d"] for r in stored)


async def test_cli_creates_lists_limits_and_revokes(
    client: httpx.AsyncClient, system: Processes, pool: asyncpg.Pool
) -> None:
    created = json.loads(system.cli("keys", "create", "--name", "reporting job", "--scope", "read", "--json"))
    assert created["secret"].startswith("lk_test_") and created["created_by"].startswith("cli:")
    assert (await client.get("/v1/commands/none", headers=bearer(created["secret"]))).status_code == 404
    listing = system.cli("keys", "list")
    assert created["id"] in listing and created["secret"] not in listing and created["prefix"] in listing
    out = system.cli("keys", "limits", created["id"], "--rate", "5", "--burst", "10", "--spend", "EUR::100000")
    assert "rate: 5.0/s, burst 10" in out and "spend EUR: per transaction None, per 24 h 100000" in out
    system.cli("keys", "revoke", created["id"])
    assert (await client.get("/v1/commands/none", headers=bearer(created["secret"]))).status_code == 401
    audit = await pool.fetch("SELECT action FROM admin_audit WHERE key_id = $1 ORDER BY id", uuid.UUID(created["id"]))
    assert [a["action"] for a in audit] == ["key.created", "key.limits_changed", "key.revoked"]
