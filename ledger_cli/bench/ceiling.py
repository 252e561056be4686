"""The pgbench ceiling: what this PostgreSQL does per second with one transfer's SQL and nothing else.

A transfer, as the ledger writes it, in one transaction per transfer: lock both account rows in id
order (``SELECT … ORDER BY id FOR UPDATE``), update both balances, insert two postings, one
idempotency row and one outbox row. The tables are scratch copies in a schema of their own
(``bench_ceiling_<run>``, dropped afterwards), with the same kinds of columns and indexes as the
ledger's. pgbench runs it with 8 clients on 2 threads, once over uniformly random accounts and once
with one side of every transfer among 10 hot accounts. No broker, no Python, no batching: the
ratio of a scenario's throughput to this ceiling says how much of the database's capacity the
ledger's pipeline turns into transfers.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ledger_cli.bench.accounts import HOT, MAX_AMOUNT
from ledger_common.db import connect

CLIENTS = 8
THREADS = 2

_TABLES = """
CREATE SCHEMA {s};
CREATE TABLE {s}.accounts (
    id integer PRIMARY KEY, balance numeric(38, 0) NOT NULL DEFAULT 0, updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO {s}.accounts (id) SELECT generate_series(1, {n});
CREATE TABLE {s}.postings (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, account_id integer NOT NULL,
    amount numeric(38, 0) NOT NULL, created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON {s}.postings (account_id, id);
CREATE TABLE {s}.commands (
    command_id text PRIMARY KEY, result jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE {s}.outbox (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, event_id uuid NOT NULL UNIQUE, routing_key text NOT NULL,
    body bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), dead_at timestamptz
);
CREATE INDEX ON {s}.outbox (id) WHERE dead_at IS NULL;
ANALYZE {s}.accounts;
"""

_PICK_UNIFORM = r"""
\set a random(1, {n})
\set b 1 + (:a + random(0, {n} - 2)) % {n}
"""
_PICK_HOT = rf"""
\set h random(1, {HOT})
\set o random({HOT + 1}, {{n}})
\set s random(0, 1)
\set a case when :s = 0 then :h else :o end
\set b case when :s = 0 then :o else :h end
"""
_TRANSFER = rf"""
\set amount random(1, {MAX_AMOUNT})
BEGIN;
SELECT id FROM {{s}}.accounts WHERE id IN (:a, :b) ORDER BY id FOR UPDATE;
UPDATE {{s}}.accounts SET balance = balance - :amount, updated_at = now() WHERE id = :a;
UPDATE {{s}}.accounts SET balance = balance + :amount, updated_at = now() WHERE id = :b;
INSERT INTO {{s}}.postings (account_id, amount) VALUES (:a, -:amount);
INSERT INTO {{s}}.postings (account_id, amount) VALUES (:b, :amount);
INSERT INTO {{s}}.commands (command_id, result) VALUES (gen_random_uuid()::text, '{{{{"status": "applied"}}}}');
INSERT INTO {{s}}.outbox (event_id, routing_key, body)
    VALUES (gen_random_uuid(), 'account.credited', convert_to(repeat('x', 600), 'UTF8'));
END;
"""  # noqa: S608 - a pgbench script over the bench's own scratch schema; nothing in it comes from input
_TPS = re.compile(r"^tps = ([0-9.]+)", re.MULTILINE)


@dataclass(frozen=True)
class Ceiling:
    """pgbench's transactions per second for each kind (``uniform``, ``hot``), or why there are none."""

    tps: dict[str, float]
    skipped: str | None = None
    clients: int = CLIENTS
    seconds: float = 0.0


def script(kind: str, *, schema: str, accounts: int) -> str:
    """The pgbench script of one kind: pick the two accounts, then the transfer's transaction."""
    pick = _PICK_HOT if kind == "hot" else _PICK_UNIFORM
    return (pick + _TRANSFER).format(n=accounts, s=schema)


async def measure(dsn: str, *, schema: str, accounts: int, seconds: float) -> Ceiling:
    """Create the scratch tables, run pgbench for each kind, drop them again."""
    if shutil.which("pgbench") is None:
        return Ceiling({}, skipped="pgbench is not on PATH")
    conn = await connect(dsn)
    try:
        await conn.execute(_TABLES.format(s=schema, n=accounts))
        tps: dict[str, float] = {}
        with tempfile.TemporaryDirectory(prefix="ledger-bench-pgbench-") as tmp:
            for kind in ("uniform", "hot"):
                path = Path(tmp) / f"{kind}.sql"
                path.write_text(script(kind, schema=schema, accounts=accounts))
                tps[kind] = await _pgbench(dsn, path, seconds)
        return Ceiling(tps, seconds=seconds)
    finally:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await conn.close()


async def _pgbench(dsn: str, path: Path, seconds: float) -> float:
    """Run pgbench with ``path`` and return its tps; the password, if any, goes by environment only."""
    url = urlsplit(dsn)
    argv = ["pgbench", "-n", "-c", str(CLIENTS), "-j", str(THREADS), "-T", str(round(seconds)), "-f", str(path)]
    argv += ["-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432)]
    if url.username:
        argv += ["-U", unquote(url.username)]
    env = dict(os.environ, PGAPPNAME="ledger-bench-pgbench")
    if url.password:
        env["PGPASSWORD"] = unquote(url.password)
    argv.append(unquote(url.path.lstrip("/")))
    proc = await asyncio.create_subprocess_exec(
        *argv, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), seconds + 120)
    found = _TPS.search(out.decode())
    if proc.returncode != 0 or found is None:
        raise RuntimeError(f"pgbench failed ({proc.returncode}): {err.decode()[-2000:]}")
    return float(found.group(1))
