"""Reconciliation through the worker's applier on a real database: import, run, breaks, explain, resolve."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from ledger_common.recon import queries
from ledger_common.recon.importer import define_source, import_statement
from ledger_common.recon.sources import Columns, MatchRules, SourceConfig
from tests.ledger import apply_one, cmd, funded_wallet


async def _deposit(pool: asyncpg.Pool, account: uuid.UUID, amount: int, ref: str) -> None:
    done = await apply_one(
        pool, cmd("deposit", account_id=str(account), amount=amount, currency="USD", metadata={"reference": ref})
    )
    assert done.status == "applied", done


async def test_a_run_matches_breaks_and_resolves(pool: asyncpg.Pool, tmp_path: Path) -> None:
    _, bank = await funded_wallet(pool, 0)
    _, suspense = await funded_wallet(pool, 0)
    for amount, ref in ((1000, "A"), (2500, "B"), (300, "C"), (120, "LEDGER-ONLY")):
        await _deposit(pool, bank, amount, ref)
    today = datetime.now(UTC).date()
    day = today.isoformat()
    csv = tmp_path / "bank.csv"
    csv.write_text(
        "Date,Amount,Reference,Narrative\n"
        f"{day},10.00,A,first\n"
        f"{day},25.50,B,differs by 50\n"
        f"{day},10.00,A,again (a duplicate)\n"
        f"{(today + timedelta(days=5)).isoformat()},3.00,C,late\n"
        f"{day},7.77,BANK-ONLY,fee\n"
    )
    name = f"bank-{uuid.uuid4().hex[:8]}"
    config = SourceConfig(
        account_id=bank,
        currency="USD",
        columns=Columns(amount="Amount", value_date="Date", reference="Reference", description="Narrative"),
        rules=MatchRules(window_days=1),
    )
    async with pool.acquire() as conn:
        await define_source(conn, name, config)
        first = await import_statement(conn, name, csv)
        again = await import_statement(conn, name, csv)
    assert (first.lines, first.created, again.created, again.file_id) == (5, True, False, first.file_id)

    dry = await apply_one(pool, cmd("recon.run", source=name, dry_run=True))
    assert dry.status == "applied" and dry.reconciliation is not None and dry.reconciliation.opened == 5
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM recon_breaks b JOIN recon_sources s ON s.id = b.source_id WHERE s.name = $1", name
        )
        == 0
    )

    ran = await apply_one(pool, cmd("recon.run", source=name))
    assert ran.reconciliation is not None, ran
    assert ran.reconciliation.matches == {"one_to_one": 1}
    assert ran.reconciliation.breaks == {
        "amount_differs": 1,
        "date_outside_window": 1,
        "duplicate": 1,
        "ledger_transaction_unmatched": 1,
        "statement_line_unmatched": 1,
    }
    breaks = {
        r["reason"]: r
        for r in await pool.fetch(
            "SELECT b.* FROM recon_breaks b JOIN recon_sources s ON s.id = b.source_id WHERE s.name = $1", name
        )
    }
    # What the relay's gauge reads (ledger_recon_open_breaks): open breaks by source, reason and age.
    ages = [(reason, age, n) for source, reason, age, n in await queries.open_by_age(pool) if source == name]
    assert ages == [(reason, "lt_1d", 1) for reason in sorted(ran.reconciliation.breaks)]
    # A second run finds the same breaks: none opens again, their age runs on.
    rerun = await apply_one(pool, cmd("recon.run", source=name))
    assert rerun.reconciliation is not None and (rerun.reconciliation.opened, rerun.reconciliation.closed) == (0, 0)

    explained = await apply_one(
        pool, cmd("break.explain", break_id=str(breaks["date_outside_window"]["id"]), explanation="value-dated late")
    )
    assert explained.status == "applied" and explained.break_id == breaks["date_outside_window"]["id"]
    again_explained = await apply_one(
        pool, cmd("break.explain", break_id=str(breaks["date_outside_window"]["id"]), explanation="x")
    )
    assert again_explained.refusal == "break_not_open"

    # The bank charged 7.77 the ledger never booked: an adjusting transaction from the suspense account.
    fixed = await apply_one(
        pool,
        cmd("break.resolve", break_id=str(breaks["statement_line_unmatched"]["id"]), counter_account_id=str(suspense)),
    )
    assert fixed.status == "refused" and fixed.refusal == "insufficient_funds"  # the suspense account is empty
    await _deposit(pool, suspense, 10_000, "funding")
    fixed = await apply_one(
        pool,
        cmd("break.resolve", break_id=str(breaks["statement_line_unmatched"]["id"]), counter_account_id=str(suspense)),
    )
    assert fixed.status == "applied" and fixed.transaction_id is not None, fixed
    row = await pool.fetchrow("SELECT * FROM recon_breaks WHERE id = $1", breaks["statement_line_unmatched"]["id"])
    assert (row["state"], row["resolution"], row["resolving_transaction_id"]) == (
        "resolved",
        "adjusted",
        fixed.transaction_id,
    )
    balance = await pool.fetchval("SELECT balance FROM accounts WHERE id = $1", bank)
    assert balance == 1000 + 2500 + 300 + 120 + 777
    dismissed = await apply_one(pool, cmd("break.resolve", break_id=str(breaks["duplicate"]["id"])))
    assert dismissed.status == "applied" and dismissed.transaction_id is None
    missing = await apply_one(pool, cmd("break.resolve", break_id=str(uuid.uuid4())))
    assert missing.refusal == "break_not_found"

    # The adjustment is no ledger transaction left unmatched: the next run finds the two breaks still open.
    last = await apply_one(pool, cmd("recon.run", source=name))
    assert last.reconciliation is not None
    assert last.reconciliation.breaks == {"amount_differs": 1, "ledger_transaction_unmatched": 1}, last
    unknown = await apply_one(pool, cmd("recon.run", source="no-such-source"))
    assert unknown.refusal == "source_not_found"


async def test_a_run_bounded_by_a_day_decides_only_that_days_lines(pool: asyncpg.Pool, tmp_path: Path) -> None:
    _, bank = await funded_wallet(pool, 0)
    await _deposit(pool, bank, 500, "TODAY")
    await _deposit(pool, bank, 900, "LATER")  # the bank value-dates it two days on (within the window)
    today = datetime.now(UTC).date()
    later = today + timedelta(days=2)
    csv = tmp_path / "days.csv"
    csv.write_text(f"d,a,r\n{today},5.00,TODAY\n{later},9.00,LATER\n{later},3.00,ORPHAN\n")
    name = f"days-{uuid.uuid4().hex[:8]}"
    config = SourceConfig(
        account_id=bank,
        currency="USD",
        columns=Columns(amount="a", value_date="d", reference="r"),
        rules=MatchRules(window_days=2),
    )
    async with pool.acquire() as conn:
        await define_source(conn, name, config)
        await import_statement(conn, name, csv)

    # Up to today: the later lines are not read, and the LATER deposit is not reported unmatched yet (its line
    # may come in a later statement, within the window).
    bounded = await apply_one(pool, cmd("recon.run", source=name, until=today.isoformat()))
    assert bounded.reconciliation is not None
    summary = bounded.reconciliation
    assert (summary.lines, summary.matches, summary.breaks) == (1, {"one_to_one": 1}, {}), summary
    whole = await apply_one(pool, cmd("recon.run", source=name))
    assert whole.reconciliation is not None
    assert (whole.reconciliation.matches, whole.reconciliation.breaks) == (
        {"one_to_one": 1},
        {"statement_line_unmatched": 1},
    )
    # A bounded run again leaves the later line's break as it is.
    again = await apply_one(pool, cmd("recon.run", source=name, until=today.isoformat()))
    assert again.reconciliation is not None and (again.reconciliation.opened, again.reconciliation.closed) == (0, 0)
