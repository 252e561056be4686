"""``ledger audit``: check the live ledger's invariants; exit 1 with a report when any is broken."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass

import asyncpg

from ledger_common.settings import Settings

#: (check name, what a finding means, query returning one row per finding with a ``subject`` column)
CHECKS: tuple[tuple[str, str, str], ...] = (
    (
        "unbalanced_transaction",
        "a transaction's postings do not sum to zero in a currency",
        "SELECT transaction_id::text AS subject, currency || ' ' || sum(amount) AS detail FROM postings"
        " GROUP BY transaction_id, currency HAVING sum(amount) <> 0",
    ),
    (
        "ledger_not_zero",
        "the whole ledger does not sum to zero in a currency",
        "SELECT currency AS subject, sum(amount)::text AS detail FROM postings"
        " GROUP BY currency HAVING sum(amount) <> 0",
    ),
    (
        "balance_mismatch",
        "an account's stored balance differs from the sum of its postings",
        "SELECT a.id::text AS subject, 'stored ' || a.balance || ', postings ' || coalesce(p.total, 0) AS detail"
        " FROM accounts a LEFT JOIN (SELECT account_id, sum(amount) AS total FROM postings GROUP BY account_id) p"
        " ON p.account_id = a.id WHERE a.balance <> coalesce(p.total, 0)",
    ),
    (
        "command_without_events",
        "a recorded command has no outbox rows",
        "SELECT c.command_id AS subject, c.status AS detail FROM commands c"
        " WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.command_id = c.command_id)",
    ),
    (
        "outbox_stuck",
        "an outbox row is unsent past the threshold, or dead-lettered",
        "SELECT id::text AS subject, CASE WHEN dead_at IS NOT NULL THEN 'dead: ' || coalesce(last_error, '')"
        " ELSE 'unsent since ' || created_at END AS detail FROM outbox WHERE sent_at IS NULL"
        " AND (dead_at IS NOT NULL OR created_at < now() - make_interval(secs => $1))",
    ),
)


@dataclass(frozen=True)
class Finding:
    check: str
    meaning: str
    subject: str
    detail: str


async def run_audit(conn: asyncpg.Connection, *, outbox_max_age: float) -> list[Finding]:
    """All findings, in one repeatable-read snapshot so concurrent writes cannot cause false alarms."""
    findings: list[Finding] = []
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        for name, meaning, sql in CHECKS:
            args = (outbox_max_age,) if "$1" in sql else ()
            for row in await conn.fetch(sql + " LIMIT 1000", *args):
                findings.append(Finding(name, meaning, row["subject"], row["detail"]))
    return findings


async def audit(settings: Settings, args: argparse.Namespace) -> int:
    conn = await asyncpg.connect(settings.database_url.get_secret_value())
    started = time.perf_counter()
    try:
        findings = await run_audit(conn, outbox_max_age=args.outbox_max_age)
        postings = await conn.fetchval("SELECT count(*) FROM postings")
    finally:
        await conn.close()
    seconds = time.perf_counter() - started
    if args.json:
        print(
            json.dumps(
                {
                    "ok": not findings,
                    "postings": postings,
                    "seconds": round(seconds, 3),
                    "findings": [asdict(f) for f in findings],
                },
                indent=2,
            )
        )
    else:
        for f in findings:
            print(f"FAIL {f.check}: {f.subject} ({f.detail}): {f.meaning}")
        print(
            f"{'clean' if not findings else f'{len(findings)} finding(s)'}: {len(CHECKS)} checks over"
            f" {postings} postings in {seconds:.2f} s"
        )
    return 1 if findings else 0
