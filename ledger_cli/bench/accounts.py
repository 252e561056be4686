"""The bench's accounts, created in bulk straight in SQL, and the account pairs the scenarios use.

Each account is a user wallet's USD account (wallet and account share the id) with a credit line of
``10**15`` minor units (``min_balance = -10**15``), so no transfer is ever refused for funds and no
funding postings are needed. A balance of 0 with no postings is consistent, and accounts start with
no events (``last_sequence = 0``), so ``ledger audit`` stays clean. Creating 100,000 takes seconds,
where opening them through the ledger would take minutes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ledger_common.db import connect

CURRENCY = "USD"
CREDIT_LINE = -(10**15)
#: Accounts every transfer of ``amqp-hot`` (and the hot pgbench ceiling) touches one of.
HOT = 10
MAX_AMOUNT = 500

_CREATE = """
WITH w AS (
    INSERT INTO wallets (id, owner_id, kind)
    SELECT gen_random_uuid(), $1, 'user' FROM generate_series(1, $2)
    RETURNING id
)
INSERT INTO accounts (id, wallet_id, currency, kind, min_balance)
SELECT id, id, $3, 'user', $4 FROM w
RETURNING id
"""


@dataclass(frozen=True)
class Accounts:
    """Account ids (as strings, ready for commands); the first :data:`HOT` are the hot ones."""

    ids: list[str]

    def uniform_pair(self, rng: random.Random) -> tuple[str, str]:
        """Two distinct accounts, uniformly at random: (debit, credit)."""
        n = len(self.ids)
        a = rng.randrange(n)
        b = (a + 1 + rng.randrange(n - 1)) % n  # any account but ``a``, uniformly
        return self.ids[a], self.ids[b]

    def hot_pair(self, rng: random.Random) -> tuple[str, str]:
        """One of the hot accounts and one of the rest, the hot one debited or credited at random."""
        hot = self.ids[rng.randrange(HOT)]
        other = self.ids[rng.randrange(HOT, len(self.ids))]
        return (hot, other) if rng.random() < 0.5 else (other, hot)


async def create_accounts(dsn: str, *, count: int, owner: str) -> Accounts:
    """Insert ``count`` wallets with one USD account each, owned by ``owner``; in one transaction."""
    conn = await connect(dsn)
    try:
        async with conn.transaction():
            rows = await conn.fetch(_CREATE, owner, count, CURRENCY, CREDIT_LINE)
        # Statistics for the planner now: autovacuum (and its ANALYZE) may be off on the server.
        await conn.execute("ANALYZE wallets, accounts")
    finally:
        await conn.close()
    return Accounts([str(r["id"]) for r in rows])


def amount(rng: random.Random) -> int:
    """A transfer amount in minor units."""
    return rng.randint(1, MAX_AMOUNT)
