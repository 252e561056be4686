"""Metrics end to end: a real Prometheus scrapes gateway, worker and relay during a short load, and its
counters add up to the commands sent, by type and outcome (docs/observability.md)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import asyncpg
import httpx
import pytest

from ledger_cli.processes import Processes, free_port
from tests.e2e.access import bearer, make_key
from tests.e2e.prometheus import Prometheus, Target

pytestmark = pytest.mark.e2e

FUNDED, RECEIVERS, EMPTY = 4, 2, 2


class Load:
    """Sends writes and remembers, from each answer, the command's type and outcome and the request's
    route template and status: what the processes' counters must add up to."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.c = client
        self.commands: Counter[tuple[str, str]] = Counter()
        self.requests: Counter[tuple[str, str, str]] = Counter()
        self.sent: list[tuple[str, str, dict[str, Any], str]] = []  # (path, type, body, key): to replay

    async def write(self, path: str, kind: str, body: dict[str, Any], key: str | None = None) -> httpx.Response:
        key = key or uuid.uuid4().hex
        r = await self.c.post(path, json=body, headers={"Idempotency-Key": key})
        assert r.status_code in (200, 201, 422), r.text
        replayed = r.headers["Idempotent-Replayed"] == "true"
        outcome = "replayed" if replayed else "applied" if r.status_code < 300 else "refused"
        self.commands[(kind, outcome)] += 1
        self.requests[("POST", path, str(r.status_code))] += 1
        self.sent.append((path, kind, body, key))
        return r

    async def read(self, path: str, template: str) -> None:
        r = await self.c.get(path)
        self.requests[("GET", template, str(r.status_code))] += 1


async def _run_load(load: Load) -> list[str]:
    """Wallets; deposits; transfers and withdrawals, some refused (insufficient funds); replays of some.
    Every outcome is certain whatever the order within a step: refused ones debit wallets never funded."""
    handles = [f"@m{uuid.uuid4().hex[:12]}" for _ in range(FUNDED + RECEIVERS + EMPTY)]
    funded, receivers, empty = handles[:FUNDED], handles[FUNDED : FUNDED + RECEIVERS], handles[FUNDED + RECEIVERS :]
    await asyncio.gather(
        *(
            load.write("/v1/wallets", "wallet.create", {"owner_id": h, "handle": h, "currencies": ["USD"]})
            for h in handles
        )
    )
    money = {"currency": "USD"}
    await asyncio.gather(
        *(load.write("/v1/deposits", "deposit", {"wallet": h, "amount": 1000, **money}) for h in funded)
    )
    step = []
    for i in range(20):
        body = {"debit_wallet": funded[i % FUNDED], "credit_wallet": receivers[i % RECEIVERS], "amount": 10, **money}
        step.append(load.write("/v1/transfers", "transfer", body))
    for i in range(6):
        body = {"debit_wallet": empty[i % EMPTY], "credit_wallet": receivers[0], "amount": 10, **money}
        step.append(load.write("/v1/transfers", "transfer", body))
    step += [
        load.write("/v1/withdrawals", "withdraw", {"wallet": funded[i % FUNDED], "amount": 5, **money})
        for i in range(8)
    ]
    step += [load.write("/v1/withdrawals", "withdraw", {"wallet": empty[0], "amount": 5, **money}) for _ in range(3)]
    await asyncio.gather(*step)
    # The same key and body again: the worker replays the recorded outcome, applied or refused.
    again = [s for s in load.sent if s[1] == "transfer"][:3] + [s for s in load.sent if s[1] == "withdraw"][-2:]
    await asyncio.gather(*(load.write(path, kind, body, key) for path, kind, body, key in again))
    for h in handles[:3]:
        await load.read(f"/v1/wallets/{h}", "/v1/wallets/{wallet}")
    await load.read("/no/such/path", "unmatched")
    return handles


async def test_prometheus_counts_add_up_to_the_commands_sent(isolated: Processes, tmp_path: Any) -> None:
    ports = {name: free_port() for name in ("worker", "relay", "gateway")}
    for name, port in ports.items():
        isolated.start(name, env={"METRICS_PORT": str(port), "METRICS_REFRESH_SECONDS": "0.5"})
    token = isolated.settings.service_api_key.get_secret_value()
    prometheus = Prometheus(
        tmp_path,
        [
            Target("gateway", f"127.0.0.1:{isolated.port}", token),  # the public /metrics, with a key
            Target("worker", f"127.0.0.1:{ports['worker']}"),
            Target("relay", f"127.0.0.1:{ports['relay']}"),
        ],
    )
    prometheus.start()
    try:
        async with httpx.AsyncClient(base_url=isolated.base_url, timeout=30, headers=bearer(token)) as c:
            load = Load(c)
            await _run_load(load)
        assert load.commands == {
            ("wallet.create", "applied"): 8,
            ("deposit", "applied"): FUNDED,
            ("transfer", "applied"): 20,
            ("transfer", "refused"): 6,
            ("transfer", "replayed"): 3,
            ("withdraw", "applied"): 8,
            ("withdraw", "refused"): 3,
            ("withdraw", "replayed"): 2,
        }
        await prometheus.settles(
            "sum by (type, outcome) (ledger_commands_total)", ("type", "outcome"), dict(_float(load.commands))
        )
        await prometheus.settles(
            "sum by (refusal) (ledger_command_refusals_total)", ("refusal",), {("insufficient_funds",): 9.0}
        )
        total = float(sum(load.commands.values()))
        await prometheus.settles("sum(ledger_worker_batch_size_sum)", (), {(): total})  # every command in a batch
        routes = 'ledger_http_requests_total{job="gateway", route=~"/v1/.*|unmatched"}'
        await prometheus.settles(
            f"sum by (method, route, status) ({routes})", ("method", "route", "status"), dict(_float(load.requests))
        )
        await _outbox_drained(prometheus, isolated)
        assert await prometheus.targets_up() == {"gateway": "up", "worker": "up", "relay": "up"}
    finally:
        prometheus.stop()
    await _probes(ports)


def _float(counts: Counter[Any]) -> dict[Any, float]:
    return {k: float(v) for k, v in counts.items()}


async def _outbox_drained(prometheus: Prometheus, processes: Processes) -> None:
    """Every event the load made was published (by the relay's count) and the backlog gauge is back to 0."""
    conn = await asyncpg.connect(processes.settings.database_url.get_secret_value())
    try:
        events = float(await conn.fetchval("SELECT count(*) FROM events"))
    finally:
        await conn.close()
    assert events > 0
    await prometheus.settles("sum(ledger_relay_events_published_total)", (), {(): events})
    await prometheus.settles("max(ledger_outbox_backlog)", (), {(): 0.0})
    await prometheus.settles("max(ledger_outbox_oldest_age_seconds)", (), {(): 0.0})
    await prometheus.settles(
        "sum by (source) (ledger_dead_letters_waiting)", ("source",), {("commands",): 0.0, ("events",): 0.0}
    )


async def _probes(ports: dict[str, int]) -> None:
    """Each process's own port answers /livez and /readyz (JSON), and /metrics without credentials."""
    async with httpx.AsyncClient(timeout=10) as c:
        for name, port in ports.items():
            for probe in ("/livez", "/readyz"):
                r = await c.get(f"http://127.0.0.1:{port}{probe}")
                assert (r.status_code, r.json()["status"]) == (200, "ok"), (name, probe, r.text)
            r = await c.get(f"http://127.0.0.1:{port}/metrics")
            assert r.status_code == 200 and "ledger_db_pool_max_connections" in r.text, name
            assert (await c.get(f"http://127.0.0.1:{port}/nope")).status_code == 404


async def test_public_metrics_need_an_unbound_read_key(client: httpx.AsyncClient, system: Processes) -> None:
    async with httpx.AsyncClient(base_url=system.base_url, timeout=30) as anonymous:
        r = await anonymous.get("/metrics")
        assert (r.status_code, r.json()["code"]) == (401, "unauthorized")
        reader = await make_key(client, ["read"])
        r = await anonymous.get("/metrics", headers=bearer(reader["secret"]))
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain"), r.text
        assert 'ledger_http_requests_total{method="GET",route="/metrics",status="401"}' in r.text
        writer = await make_key(client, ["transfer"])
        r = await anonymous.get("/metrics", headers=bearer(writer["secret"]))
        assert (r.status_code, r.json()["code"]) == (403, "forbidden")
        created = await client.post(
            "/v1/wallets",
            json={"owner_id": "metrics", "handle": f"@m{uuid.uuid4().hex[:12]}", "currencies": ["USD"]},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        bound = await make_key(client, ["read"], wallet_id=created.json()["wallet_id"])
        r = await anonymous.get("/metrics", headers=bearer(bound["secret"]))
        assert (r.status_code, r.json()["code"]) == (403, "wrong_wallet")
    assert "/metrics" not in (await client.get("/openapi.json")).json()["paths"]
