"""Fill a scratch database with N valid postings (hash chains included) to time ``ledger audit``.

    python tools/audit_data.py postgresql://postgres@127.0.0.1/ledger_auditbench 1000000

Bulk data straight in SQL (triggers off for the load, as a restore would), consistent: balanced
transactions, balances equal to their postings, each account's chain intact.
"""

from __future__ import annotations

import asyncio
import random
import sys
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from contracts.chain import GENESIS, entry_hash
from ledger_cli.database import migrate
from ledger_common.settings import Settings

ACCOUNTS = 1000


async def fill(url: str, postings: int) -> None:
    conn = await asyncpg.connect(url)
    await conn.execute("SET session_replication_role = replica")  # bulk load: no per-row triggers
    ids = [uuid.uuid4() for _ in range(ACCOUNTS)]
    await conn.copy_records_to_table(
        "wallets", records=[(a, str(a), "user") for a in ids], columns=["id", "owner_id", "kind"]
    )
    balance = dict.fromkeys(ids, 0)
    head = dict.fromkeys(ids, GENESIS)
    txs, rows = [], []
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rng = random.Random(1)
    for n in range(postings // 2):
        tx, at = uuid.uuid4(), start + timedelta(milliseconds=n)
        debit, credit = rng.sample(ids, 2)
        amount = rng.randint(1, 1000)
        txs.append((tx, f"bench-{n}", "transfer", "USD", amount, at))
        for account, signed in ((debit, -amount), (credit, amount)):
            balance[account] += signed
            head[account] = entry_hash(
                head[account],
                account_id=account,
                transaction_id=tx,
                kind="transfer",
                currency="USD",
                amount=signed,
                balance_after=balance[account],
                created_at=at,
            )
            rows.append((tx, account, "USD", signed, balance[account], head[account], at))
    await conn.copy_records_to_table(
        "transactions", records=txs, columns=["id", "command_id", "kind", "currency", "amount", "created_at"]
    )
    await conn.copy_records_to_table(
        "postings",
        records=rows,
        columns=["transaction_id", "account_id", "currency", "amount", "balance_after", "hash", "created_at"],
    )
    await conn.copy_records_to_table(
        "accounts",
        records=[(a, a, "USD", "user", balance[a], None, head[a]) for a in ids],
        columns=["id", "wallet_id", "currency", "kind", "balance", "min_balance", "last_hash"],
    )
    await conn.execute("ANALYZE")
    await conn.close()


def main() -> None:
    url, postings = sys.argv[1], int(sys.argv[2])
    migrate(Settings(database_url=url))
    asyncio.run(fill(url, postings))
    print(f"filled {url} with {postings} postings over {ACCOUNTS} accounts")


if __name__ == "__main__":
    main()
