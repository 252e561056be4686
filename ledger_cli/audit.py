"""``ledger audit``: check the live ledger's invariants; exit 1 with a report when any is broken.

Everything is read in one repeatable-read snapshot, so concurrent writes cannot cause false alarms.
Each run is recorded in ``audit_runs`` (when, the verdict, findings counted per check).
Every check is set-based SQL, the hash chain included (``ledger_entry_hash``, the SQL twin of
``contracts/chain.py``), so PostgreSQL does the work in one pass per check.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from dataclasses import asdict, dataclass

import asyncpg

from contracts.ids import SYSTEM_ROLES, system_account_id, system_wallet_id
from ledger_common.db import connect
from ledger_common.settings import Settings

#: Each posting's hash must follow from the stored hash before it (and its own content); each
#: account's chain head must be its last posting's hash. A posting changed, removed or reordered by
#: hand breaks one of these; the first break per account is named.
HASH_CHECK = (
    "hash_chain_broken",
    "a posting or its order differs from what its hash chain recorded",
    "SELECT DISTINCT ON (account_id) account_id::text AS subject,"
    " 'posting ' || id || ' (transaction ' || transaction_id || ')' AS detail FROM ("
    "  SELECT p.id, p.account_id, p.transaction_id, p.hash, ledger_entry_hash("
    "   coalesce(lag(p.hash) OVER (PARTITION BY p.account_id ORDER BY p.id), decode(repeat('00', 32), 'hex')),"
    "   p.account_id, p.transaction_id, t.kind, p.currency, p.amount, p.balance_after, p.created_at) AS expected"
    "  FROM postings p JOIN transactions t ON t.id = p.transaction_id) AS x"
    " WHERE hash <> expected ORDER BY account_id, id",
)
HEAD_CHECK = (
    "hash_chain_broken",
    "an account's chain head is not its last posting's hash (postings removed?)",
    "SELECT a.id::text AS subject, 'chain head does not match the last posting' AS detail FROM accounts a"
    " LEFT JOIN (SELECT DISTINCT ON (account_id) account_id, hash FROM postings ORDER BY account_id, id DESC) l"
    " ON l.account_id = a.id WHERE a.last_hash <> coalesce(l.hash, decode(repeat('00', 32), 'hex'))",
)

#: (check name, what a finding means, query returning one row per finding with ``subject`` and ``detail``)
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
        "held_mismatch",
        "an account's held amount differs from the sum of its pending holds",
        "SELECT a.id::text AS subject, 'held ' || a.held || ', pending holds ' || coalesce(h.total, 0) AS detail"
        " FROM accounts a LEFT JOIN (SELECT account_id, sum(amount) AS total FROM holds WHERE status = 'pending'"
        " GROUP BY account_id) h ON h.account_id = a.id WHERE a.held <> coalesce(h.total, 0)",
    ),
    (
        "below_minimum",
        "an account's available funds are below its minimum balance",
        "SELECT id::text AS subject, 'available ' || (balance - held) || ', minimum ' || min_balance AS detail"
        " FROM accounts WHERE min_balance IS NOT NULL AND balance - held < min_balance",
    ),
    (
        "event_sequence_gap",
        "an account's events do not count 1..n without gaps",
        "SELECT a.id::text AS subject, 'last_sequence ' || a.last_sequence || ', events ' || coalesce(e.n, 0)"
        " || ', max ' || coalesce(e.top, 0) AS detail FROM accounts a LEFT JOIN (SELECT account_id, count(*) AS n,"
        " max(sequence) AS top FROM events WHERE sequence IS NOT NULL GROUP BY account_id) e ON e.account_id = a.id"
        " WHERE a.kind = 'user' AND (coalesce(e.n, 0) <> a.last_sequence OR coalesce(e.top, 0) <> a.last_sequence)",
    ),
    (
        "command_without_events",
        "a recorded command has no events",
        "SELECT c.command_id AS subject, c.status AS detail FROM commands c"
        " WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.principal = c.principal AND e.command_id = c.command_id)",
    ),
    (
        "outbox_stuck",
        "an event is unsent past the threshold, or dead-lettered",
        "SELECT id::text AS subject, CASE WHEN dead_at IS NOT NULL THEN 'dead: ' || coalesce(last_error, '')"
        " ELSE 'unsent since ' || created_at END AS detail FROM outbox"
        " WHERE dead_at IS NOT NULL OR created_at < now() - make_interval(secs => $1)",
    ),
    HASH_CHECK,
    HEAD_CHECK,
    (
        "system_accounts",
        "a system account's id is held by an account that is not that system account, or none holds it",
        # each registered currency's system account ids, their role's wallet and the currency
        "SELECT t.a::text AS subject, coalesce('in wallet ' || x.wallet_id || ' (' || x.kind || ', '"
        " || x.currency || ')', 'missing') AS detail FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS t(a, w, c)"
        " LEFT JOIN accounts x ON x.id = t.a"
        " WHERE x.id IS NULL OR x.kind <> 'system' OR x.wallet_id <> t.w OR x.currency <> t.c",
    ),
)


@dataclass(frozen=True)
class Finding:
    check: str
    meaning: str
    subject: str
    detail: str


async def run_audit(conn: asyncpg.Connection, *, outbox_max_age: float) -> list[Finding]:
    """All findings (at most 1,000 per check), in one repeatable-read snapshot."""
    findings: list[Finding] = []
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        codes = [r["code"] for r in await conn.fetch("SELECT code FROM currencies")]
        system = [(system_account_id(c, role), system_wallet_id(role), c) for c in codes for role in SYSTEM_ROLES]
        params = {
            "outbox_stuck": (outbox_max_age,),
            "system_accounts": tuple([row[i] for row in system] for i in range(3)),
        }
        for name, meaning, sql in CHECKS:
            for row in await conn.fetch(sql + " LIMIT 1000", *params.get(name, ())):
                findings.append(Finding(name, meaning, row["subject"], row["detail"]))
    return findings


async def record_run(conn: asyncpg.Connection, findings: list[Finding], *, postings: int, seconds: float) -> None:
    """One ``audit_runs`` row (``GET /v1/admin/operations`` shows the latest): counts per check only."""
    summary = dict(Counter(f.check for f in findings))
    await conn.execute(
        "INSERT INTO audit_runs (ok, checks, findings, postings, seconds, summary) VALUES ($1, $2, $3, $4, $5, $6)",
        not findings,
        len(CHECKS),
        len(findings),
        postings,
        seconds,
        summary,
    )


async def audit(settings: Settings, args: argparse.Namespace) -> int:
    conn = await connect(settings.database_url.get_secret_value())
    started = time.perf_counter()
    try:
        findings = await run_audit(conn, outbox_max_age=args.outbox_max_age)
        postings = await conn.fetchval("SELECT count(*) FROM postings")
        seconds = time.perf_counter() - started
        await record_run(conn, findings, postings=postings, seconds=seconds)
    finally:
        await conn.close()
    checks = len(CHECKS)
    if args.json:
        report = {"ok": not findings, "postings": postings, "seconds": round(seconds, 3), "checks": checks}
        print(json.dumps({**report, "findings": [asdict(f) for f in findings]}, indent=2))
    else:
        for f in findings:
            print(f"FAIL {f.check}: {f.subject} ({f.detail}): {f.meaning}")
        verdict = "clean" if not findings else f"{len(findings)} finding(s)"
        print(f"{verdict}: {checks} checks over {postings} postings in {seconds:.2f} s")
    return 1 if findings else 0
