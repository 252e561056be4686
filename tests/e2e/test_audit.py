"""``ledger audit`` passes on an honest ledger and names what a hand edit in SQL broke."""

from __future__ import annotations

import json

import asyncpg
import pytest

from ledger_cli.audit import run_audit
from ledger_cli.processes import Processes
from ledger_common.db import connect
from tests.ledger import apply_one, cmd, funded_wallet


def _audit(system: Processes) -> tuple[int, dict[str, object]]:
    done = system.run_cli("audit", "--json", check=False)
    return done.returncode, json.loads(done.stdout)


@pytest.mark.e2e
async def test_audit_is_clean_then_names_tampering(isolated: Processes) -> None:
    conn = await connect(isolated.settings.database_url.get_secret_value())
    try:
        _, account = await funded_wallet(conn, 0)
        deposit = await apply_one(conn, cmd("deposit", account_id=str(account), amount=20_000, currency="USD"))
        await apply_one(conn, cmd("spend", account_id=str(account), amount=10_000, currency="USD"))
        await conn.execute("DELETE FROM outbox")  # as the relay does once they are sent
        code, report = _audit(isolated)
        assert code == 0 and report["ok"] is True, report
        # Without our numeric codec asyncpg returns Decimal("1E+4") for 10000: the chain must not care.
        plain = await asyncpg.connect(isolated.settings.database_url.get_secret_value())
        try:
            assert await run_audit(plain, outbox_max_age=60) == []
        finally:
            await plain.close()

        # An operator "fixes" a posting by hand, bypassing the immutability trigger as a superuser can.
        await conn.execute("ALTER TABLE postings DISABLE TRIGGER postings_immutable")
        await conn.execute(
            "UPDATE postings SET amount = 1000, balance_after = 1000 WHERE transaction_id = $1 AND amount > 0",
            deposit.transaction_id,
        )
        await conn.execute("ALTER TABLE postings ENABLE TRIGGER postings_immutable")
        code, report = _audit(isolated)
        found = {(f["check"], f["subject"]) for f in report["findings"]}  # type: ignore[attr-defined]
        assert code == 1
        assert ("unbalanced_transaction", str(deposit.transaction_id)) in found
        assert ("ledger_not_zero", "USD") in found
        assert ("balance_mismatch", str(account)) in found
        assert ("hash_chain_broken", str(account)) in found
    finally:
        await conn.close()


@pytest.mark.e2e
async def test_audit_names_a_reordered_or_removed_posting(isolated: Processes) -> None:
    """Edits that keep every sum right (swap two amounts, drop a pair) still break the hash chain."""
    conn = await connect(isolated.settings.database_url.get_secret_value())
    try:
        _, a = await funded_wallet(conn, 1_000)
        _, b = await funded_wallet(conn, 0)
        for amount in (100, 200):
            await apply_one(
                conn, cmd("transfer", debit_account_id=str(a), credit_account_id=str(b), amount=amount, currency="USD")
            )
        await conn.execute("DELETE FROM outbox")  # as the relay does once they are sent
        assert _audit(isolated)[0] == 0
        await conn.execute("ALTER TABLE postings DISABLE TRIGGER postings_immutable")
        # Swap the created_at of b's two postings: sums and balances stay right, the chain does not.
        await conn.execute("UPDATE postings SET created_at = created_at - interval '1 day' WHERE account_id = $1", b)
        await conn.execute("ALTER TABLE postings ENABLE TRIGGER postings_immutable")
        code, report = _audit(isolated)
        found = {(f["check"], f["subject"]) for f in report["findings"]}  # type: ignore[attr-defined]
        assert code == 1 and found == {("hash_chain_broken", str(b))}, report
    finally:
        await conn.close()
