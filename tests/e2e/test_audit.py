"""``ledger audit`` passes on an honest ledger and names what a hand edit in SQL broke."""

from __future__ import annotations

import json
import subprocess
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from contracts.commands import DepositCommand, OpenAccountCommand
from ledger_common.settings import Settings
from ledger_worker.apply import apply_command
from tests.processes import System


def _audit(system: System) -> tuple[int, dict[str, object]]:
    done = subprocess.run(
        [*system.cli_argv("audit", "--json")],
        env=system.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, json.loads(done.stdout)


@pytest.mark.e2e
async def test_audit_is_clean_then_names_tampering(isolated_settings: Settings) -> None:
    system = System(isolated_settings)
    conn = await asyncpg.connect(isolated_settings.database_url.get_secret_value())
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    try:
        now = datetime.now(UTC)
        opened = await apply_command(
            conn,
            OpenAccountCommand.model_validate(
                {"command_id": uuid.uuid4().hex, "issued_at": now, "payload": {"currency": "USD"}}
            ),
        )
        deposit = await apply_command(
            conn,
            DepositCommand.model_validate(
                {
                    "command_id": uuid.uuid4().hex,
                    "issued_at": now,
                    "payload": {"account_id": opened.account_id, "amount": 900, "currency": "USD"},
                }
            ),
        )
        await conn.execute("UPDATE outbox SET sent_at = now()")
        code, report = _audit(system)
        assert code == 0 and report["ok"] is True, report

        # An operator "fixes" a posting by hand, bypassing the immutability trigger as a superuser can.
        await conn.execute("ALTER TABLE postings DISABLE TRIGGER postings_immutable")
        await conn.execute(
            "UPDATE postings SET amount = 1000, balance_after = 1000 WHERE transaction_id = $1 AND amount > 0",
            deposit.transaction_id,
        )
        await conn.execute("ALTER TABLE postings ENABLE TRIGGER postings_immutable")
        code, report = _audit(system)
        found = {(f["check"], f["subject"]) for f in report["findings"]}  # type: ignore[attr-defined]
        assert code == 1
        assert ("unbalanced_transaction", str(deposit.transaction_id)) in found
        assert ("ledger_not_zero", "USD") in found
        assert ("balance_mismatch", str(opened.account_id)) in found
    finally:
        await conn.close()
