"""Broker publishers: the scopes (and optional wallet) of each broker user allowed to send commands.

A publisher's commands are recorded under ``amqp:<user>``; the worker reads these rows with each batch
(``ledger_worker.callers``), so a change applies to the next batch. ``ledger broker-setup --publisher``
and ``ledger publishers`` write them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from contracts.errors import NotFound
from contracts.keys import Scope


@dataclass(frozen=True, slots=True)
class Publisher:
    name: str
    scopes: tuple[Scope, ...]
    wallet_id: UUID | None


class WalletMissing(NotFound):
    """The wallet a publisher is to be bound to does not exist."""

    code = "wallet_not_found"


async def grant(conn: asyncpg.Connection, name: str, scopes: Iterable[Scope], *, wallet_id: UUID | None) -> Publisher:
    """Create or replace the publisher ``name`` with exactly ``scopes`` (and ``wallet_id``)."""
    chosen = tuple(sorted(set(scopes)))
    if wallet_id is not None and not await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM wallets WHERE id = $1)", wallet_id
    ):
        raise WalletMissing(f"wallet {wallet_id} does not exist")
    await conn.execute(
        "INSERT INTO broker_publishers (name, scopes, wallet_id) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE"
        " SET scopes = excluded.scopes, wallet_id = excluded.wallet_id, updated_at = now()",
        name,
        [s.value for s in chosen],
        wallet_id,
    )
    return Publisher(name, chosen, wallet_id)


async def revoke(conn: asyncpg.Connection, name: str) -> bool:
    """Remove ``name``: its next commands are refused (``forbidden_scope``). False if it was not there."""
    status: str = await conn.execute("DELETE FROM broker_publishers WHERE name = $1", name)
    return status != "DELETE 0"


async def listed(conn: asyncpg.Connection) -> list[Publisher]:
    rows = await conn.fetch("SELECT name, scopes, wallet_id FROM broker_publishers ORDER BY name")
    return [Publisher(r["name"], tuple(Scope(s) for s in r["scopes"]), r["wallet_id"]) for r in rows]
