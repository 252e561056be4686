"""Operator view of outbox rows the relay gave up on, and their replay."""

from __future__ import annotations

import argparse

import asyncpg

from ledger_common.settings import Settings


async def outbox(settings: Settings, args: argparse.Namespace) -> int:
    conn = await asyncpg.connect(settings.database_url.get_secret_value())
    try:
        if args.action == "dead":
            rows = await conn.fetch(
                "SELECT id, event_id, routing_key, attempts, dead_at, last_error FROM outbox"
                " WHERE dead_at IS NOT NULL ORDER BY id LIMIT 1000"
            )
            for r in rows:
                print(
                    f"{r['id']}\t{r['event_id']}\t{r['routing_key']}\tattempts={r['attempts']}"
                    f"\t{r['dead_at']:%Y-%m-%dT%H:%M:%S}\t{r['last_error']}"
                )
            print(f"{len(rows)} dead-lettered row(s)")
        else:
            # Replaying puts the row back in line; the relay publishes it with its original event_id.
            done = await conn.execute(
                "UPDATE outbox SET dead_at = NULL, attempts = 0, next_attempt_at = now()"
                " WHERE dead_at IS NOT NULL AND (cardinality($1::bigint[]) = 0 OR id = ANY($1::bigint[]))",
                args.ids,
            )
            print(f"replayed {done.split()[-1]} row(s)")
    finally:
        await conn.close()
    return 0
