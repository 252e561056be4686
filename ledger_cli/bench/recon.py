"""``ledger bench --recon``: import and match ``--recon-lines`` statement lines against as many ledger
transactions, in a database of its own, timing each phase and reading this process's peak RSS.

The ledger transactions are written with bulk SQL (``generate_series``), not through the command path:
making a million deposits through the worker would take an hour of this machine and measures the worker,
not reconciliation. Their postings skip the per-row balance trigger (``session_replication_role =
replica``, in this scratch database only); each has its balancing treasury leg. The statement file is
written to a temporary file first, then imported by ``ledger_common.recon.importer`` (streamed, COPY in
batches), and the run is the ``recon.run`` command applied by the worker's own applier (``Applier.apply``),
so it loads, matches and stores exactly as a worker does.

The statement says what the ledger says except for a few lines per thousand: an amount off by one cent,
a line the ledger does not have, a posting the statement does not have and a duplicate, so every break
reason is exercised at scale.
"""

from __future__ import annotations

import csv
import json
import resource
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from contracts.commands import build_command
from contracts.ids import system_account_id
from contracts.recon import Columns, MatchRules, SourceConfig
from ledger_cli.system import OwnSystem
from ledger_common.db import connect
from ledger_common.recon.importer import define_source, import_statement
from ledger_common.settings import Settings
from ledger_worker.apply import Applier

DAYS = 30


@dataclass
class ReconFigures:
    lines: int
    transactions: int
    setup_seconds: float
    import_seconds: float
    import_lines_per_second: float
    run_seconds: float
    run_lines_per_second: float
    peak_rss_mb_after_import: float
    peak_rss_mb_after_run: float
    matched_lines: int
    breaks: dict[str, int]


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def recon_bench(settings: Settings, lines: int, *, keep: bool = False, as_json: bool = False) -> int:
    own = await OwnSystem.create(settings, prefix="benchrecon")
    try:
        figures = await _measure(own.direct, lines)
    finally:
        await own.destroy(keep=keep, keep_logs=False)
    print(json.dumps(asdict(figures), indent=2) if as_json else _report(figures))
    return 0


async def _measure(settings: Settings, n: int) -> ReconFigures:
    conn = await connect(settings.database_url.get_secret_value())
    applier = Applier()
    try:
        started = time.perf_counter()
        account = await _ledger(conn, applier, n)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "statement.csv"
            _statement(path, n)
            setup = time.perf_counter() - started
            config = SourceConfig(
                account_id=account,
                currency="USD",
                columns=Columns(amount="amount", value_date="date", reference="reference", description="text"),
                rules=MatchRules(window_days=1),
            )
            await define_source(conn, "bench-bank", config)
            t0 = time.perf_counter()
            imported = await import_statement(conn, "bench-bank", path)
            import_seconds = time.perf_counter() - t0
        after_import = _peak_mb()
        run = build_command("recon.run", {"source": "bench-bank"}, command_id="bench-run", issued_at=datetime.now(UTC))
        t0 = time.perf_counter()
        (result,) = await applier.apply(conn, [run])
        run_seconds = time.perf_counter() - t0
        summary = result.reconciliation
        assert summary is not None, result
        return ReconFigures(
            lines=imported.lines,
            transactions=n,
            setup_seconds=round(setup, 1),
            import_seconds=round(import_seconds, 1),
            import_lines_per_second=round(imported.lines / import_seconds),
            run_seconds=round(run_seconds, 1),
            run_lines_per_second=round(imported.lines / run_seconds),
            peak_rss_mb_after_import=round(after_import),
            peak_rss_mb_after_run=round(_peak_mb()),
            matched_lines=summary.matched_lines,
            breaks=summary.breaks,
        )
    finally:
        await conn.close()


async def _ledger(conn: asyncpg.Connection, applier: Applier, n: int) -> uuid.UUID:
    """A bank-mirror account and ``n`` deposits into it over the last ``DAYS`` days, by bulk SQL."""
    wallet = build_command(
        "wallet.create",
        {"owner_id": "bench-recon", "currencies": ["USD"]},
        command_id="bench-wallet",
        issued_at=datetime.now(UTC),
    )
    (created,) = await applier.apply(conn, [wallet])
    account = created.balances[0].account_id
    treasury = system_account_id("USD")
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")  # no per-row balance trigger here
        await conn.execute(
            "INSERT INTO transactions (id, command_id, kind, principal, currency, amount, metadata, created_at)"
            " SELECT md5('bench' || g)::uuid, 'bench-' || g, 'deposit', 'bench', 'USD', 100 + g % 9000,"
            " jsonb_build_object('reference', 'R' || g), now() - make_interval(days => g % $1)"
            " FROM generate_series(1, $2) AS g",
            DAYS,
            n,
        )
        await conn.execute(
            "INSERT INTO postings (transaction_id, account_id, currency, amount, balance_after, hash, created_at)"
            " SELECT t.id, a.id, 'USD', CASE WHEN a.id = $1 THEN t.amount ELSE -t.amount END, 0,"
            " decode(repeat('00', 32), 'hex'), t.created_at FROM transactions t"
            " CROSS JOIN (VALUES ($1::uuid), ($2::uuid)) AS a(id) WHERE t.principal = 'bench'",
            account,
            treasury,
        )
    await conn.execute("ANALYZE postings; ANALYZE transactions")
    return account


def _statement(path: Path, n: int) -> None:
    """The bank's view of the same deposits, written line by line (never held in memory)."""
    today = datetime.now(UTC).date()
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["date", "amount", "reference", "text"])
        for g in range(1, n + 1):
            cents = 100 + g % 9000
            day = today - timedelta(days=g % DAYS)
            if g % 1000 == 7:
                continue  # the ledger has it, the bank does not: ledger_transaction_unmatched
            if g % 1000 == 3:
                cents += 1  # amount_differs
            out.writerow([day.isoformat(), f"{cents / 100:.2f}", f"R{g}", f"CREDIT R{g}"])
            if g % 1000 == 5:
                out.writerow([day.isoformat(), f"{cents / 100:.2f}", f"R{g}", f"CREDIT R{g}"])  # duplicate
            if g % 1000 == 9:
                out.writerow([day.isoformat(), "12.34", f"X{g}", "BANK ONLY"])  # statement_line_unmatched


def _report(f: ReconFigures) -> str:
    return "\n".join(
        [
            f"recon bench: {f.lines:,} statement lines against {f.transactions:,} ledger transactions",
            f"  setup (bulk SQL ledger + statement file): {f.setup_seconds} s",
            f"  import: {f.import_seconds} s ({f.import_lines_per_second:,} lines/s),"
            f" peak RSS {f.peak_rss_mb_after_import:.0f} MB",
            f"  run (recon.run via the applier): {f.run_seconds} s ({f.run_lines_per_second:,} lines/s),"
            f" peak RSS {f.peak_rss_mb_after_run:.0f} MB",
            f"  matched lines: {f.matched_lines:,}; breaks: {f.breaks}",
        ]
    )
