"""``ledger audit``: check the live ledger's invariants; exit 1 with a report when any is broken.

Everything is read in one repeatable-read snapshot, so concurrent writes cannot cause false alarms.
The SQL checks are set-based; the hash chain is recomputed in Python, streaming each account's
postings in order (``contracts/chain.py`` defines it).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from uuid import UUID

import asyncpg

from contracts.chain import GENESIS, entry_hash
from ledger_common.db import connect
from ledger_common.settings import Settings

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
        " WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.command_id = c.command_id)",
    ),
    (
        "outbox_stuck",
        "an event is unsent past the threshold, or dead-lettered",
        "SELECT id::text AS subject, CASE WHEN dead_at IS NOT NULL THEN 'dead: ' || coalesce(last_error, '')"
        " ELSE 'unsent since ' || created_at END AS detail FROM outbox WHERE sent_at IS NULL"
        " AND (dead_at IS NOT NULL OR created_at < now() - make_interval(secs => $1))",
    ),
)
HASH_CHECK = ("hash_chain_broken", "a posting or its order differs from what its hash chain recorded")

_CHAIN = (
    "SELECT p.id, p.account_id, p.transaction_id, t.kind, p.currency, p.amount, p.balance_after, p.created_at, p.hash"
    " FROM postings p JOIN transactions t ON t.id = p.transaction_id ORDER BY p.account_id, p.id"
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
        for name, meaning, sql in CHECKS:
            args = (outbox_max_age,) if "$1" in sql else ()
            for row in await conn.fetch(sql + " LIMIT 1000", *args):
                findings.append(Finding(name, meaning, row["subject"], row["detail"]))
        findings += await _hash_chains(conn)
    return findings


async def _hash_chains(conn: asyncpg.Connection) -> list[Finding]:
    """Recompute each account's chain; name the first posting where it breaks, or a missing tail."""
    heads = {r["id"]: bytes(r["last_hash"]) for r in await conn.fetch("SELECT id, last_hash FROM accounts")}
    broken: dict[UUID, str] = {}
    account: UUID | None = None
    previous = GENESIS
    async for p in conn.cursor(_CHAIN, prefetch=20_000):
        if p["account_id"] != account:
            _close_chain(account, previous, heads, broken)
            account, previous = p["account_id"], GENESIS
        if account in broken:
            continue
        expected = entry_hash(
            previous,
            account_id=p["account_id"],
            transaction_id=p["transaction_id"],
            kind=p["kind"],
            currency=p["currency"],
            # int(): exact whatever the connection's numeric codec (a Decimal may print as 1E+3).
            amount=int(p["amount"]),
            balance_after=int(p["balance_after"]),
            created_at=p["created_at"],
        )
        if expected != bytes(p["hash"]):
            broken[p["account_id"]] = f"posting {p['id']} (transaction {p['transaction_id']})"
        previous = bytes(p["hash"])
    _close_chain(account, previous, heads, broken)
    for account_id, head in heads.items():  # accounts whose postings all vanished
        if head != GENESIS and account_id not in broken:
            broken[account_id] = "postings missing: the account's chain head has no posting"
    name, meaning = HASH_CHECK
    return [Finding(name, meaning, str(a), d) for a, d in list(broken.items())[:1000]]


def _close_chain(account: UUID | None, last: bytes, heads: dict[UUID, bytes], broken: dict[UUID, str]) -> None:
    if account is None:
        return
    head = heads.pop(account, None)
    if account not in broken and head is not None and head != last:
        broken[account] = "the account's chain head does not match its last posting (postings removed?)"


async def audit(settings: Settings, args: argparse.Namespace) -> int:
    conn = await connect(settings.database_url.get_secret_value())
    started = time.perf_counter()
    try:
        findings = await run_audit(conn, outbox_max_age=args.outbox_max_age)
        postings = await conn.fetchval("SELECT count(*) FROM postings")
    finally:
        await conn.close()
    seconds = time.perf_counter() - started
    checks = len(CHECKS) + 1
    if args.json:
        report = {"ok": not findings, "postings": postings, "seconds": round(seconds, 3), "checks": checks}
        print(json.dumps({**report, "findings": [asdict(f) for f in findings]}, indent=2))
    else:
        for f in findings:
            print(f"FAIL {f.check}: {f.subject} ({f.detail}): {f.meaning}")
        verdict = "clean" if not findings else f"{len(findings)} finding(s)"
        print(f"{verdict}: {checks} checks over {postings} postings in {seconds:.2f} s")
    return 1 if findings else 0
