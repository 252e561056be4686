"""The Node.js reader written from the docs alone (examples/node-log-reader) reads the event log as the ledger
numbered it: from the beginning, and after a position, verifying every signature."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import asyncpg
import httpx
import pytest

from ledger_cli.processes import Processes
from tests.e2e.api import new_wallet, write
from tests.e2e.conftest import wait_until

pytestmark = pytest.mark.e2e

READER = Path(__file__).resolve().parents[2] / "examples" / "node-log-reader"


def _run(processes: Processes, *args: str) -> list[dict[str, object]]:
    s = processes.settings
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "AMQP_URL": s.amqp_url.get_secret_value(),
        "LEDGER_NAMESPACE": s.ledger_namespace,
        "EVENT_SIGNING_KEYS": s.event_signing_keys.get_secret_value(),
    }
    node = shutil.which("node")
    assert node is not None
    done = subprocess.run(
        [node, str(READER / "reader.mjs"), *args], cwd=READER, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "does not verify" not in done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.mark.skipif(not (READER / "node_modules").exists(), reason="make tools installs the reader's amqplib")
async def test_the_node_reader_reads_the_log_in_position_order(
    system: Processes, client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    alice, bob = await new_wallet(client, funded=100), await new_wallet(client)
    await write(client, "POST", "/v1/transfers", {"debit_wallet": alice.handle, "credit_wallet": bob.handle,
                                                  "amount": 25, "currency": "USD"})  # fmt: skip
    head = await pool.fetchval("SELECT head FROM event_log_state")
    await wait_until(lambda: pool.fetchval("SELECT published >= $1 FROM event_stream_state", head))
    logged = await pool.fetch(
        "SELECT l.position, e.event_id::text AS event_id, e.type FROM event_log l JOIN events e ON e.id = l.event_pk"
        " WHERE l.position <= $1 ORDER BY l.position",
        head,
    )
    everything = await asyncio.to_thread(_run, system, "--count", str(head))
    assert [(e["position"], e["event_id"], e["type"]) for e in everything] == [tuple(r) for r in logged]
    later = await asyncio.to_thread(_run, system, "--after", str(head - 3), "--count", "3")
    assert [e["position"] for e in later] == [head - 2, head - 1, head]
