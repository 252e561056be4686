"""``ledger seed`` builds the demo world through the broker, and a second run changes nothing."""

from __future__ import annotations

import pytest

from ledger_cli.processes import Processes
from ledger_common.db import connect

pytestmark = pytest.mark.e2e


async def test_seed_creates_the_demo_world_once(isolated: Processes) -> None:
    isolated.start("worker")
    first = isolated.cli("seed")
    assert "1,000.00" in first or "1000.00" in first, first
    second = isolated.cli("seed")
    assert "already done" in second and "applied\n" not in second.replace("(already done)", ""), second
    conn = await connect(isolated.settings.database_url.get_secret_value())
    try:
        rows = await conn.fetch(
            "SELECT '@' || w.handle AS handle, w.kind, a.currency, a.balance FROM wallets w"
            " JOIN accounts a ON a.wallet_id = w.id WHERE w.kind <> 'system' ORDER BY 1, 3"
        )
        world = {(r["handle"], r["currency"]): r["balance"] for r in rows}
        assert world[("@alice", "USD")] == 100_000
        assert world[("@alice", "GOLD")] == 25 * 10**17
        assert world[("@alice", "POINTS")] == 1_200
        assert world[("@bob", "DIAMOND")] == 3 and world[("@bob", "USD")] == 0
        assert world[("@acme_store", "USD")] == 0
        assert {r["kind"] for r in rows if r["handle"] == "@acme_store"} == {"merchant"}
        exponents = dict(
            await conn.fetch(
                "SELECT code, exponent FROM currencies WHERE code = ANY($1)", ["GOLD", "DIAMOND", "POINTS"]
            )
        )
        assert exponents == {"GOLD": 18, "DIAMOND": 0, "POINTS": 0}
        assert await conn.fetchval("SELECT count(*) FROM transactions") == 4  # seeding twice posted once
    finally:
        await conn.close()
