"""Events in bulk: transfers between bench accounts published straight to the broker (two events each).

The accounts are made in SQL (``ledger_cli.bench.accounts``), so 100,000 events take the ledger's time,
not the caller's. Used by ``ledger bench --log`` and the event log tests.
"""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime

import aio_pika

from ledger_cli.bench.accounts import create_accounts
from ledger_common.settings import Settings

IN_FLIGHT = 500


async def accounts(settings: Settings, count: int) -> list[str]:
    made = await create_accounts(settings.database_url.get_secret_value(), count=count, owner="bulk-events")
    return made.ids


async def transfers(settings: Settings, ids: list[str], count: int, *, tag: str, seed: int = 1) -> None:
    """Publish ``count`` transfers (``2 * count`` events) with confirms, ``IN_FLIGHT`` at a time."""
    rng = random.Random(seed)
    connection = await aio_pika.connect(settings.amqp_url.get_secret_value())
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange, _ = await settings.topology.declare_commands(channel)

        async def one(n: int) -> None:
            debit, credit = rng.sample(ids, 2)
            body = {
                "command_id": f"{tag}-{n}",
                "type": "transfer",
                "issued_at": datetime.now(UTC).isoformat(),
                "payload": {"debit_account_id": debit, "credit_account_id": credit, "amount": 7, "currency": "USD"},
            }
            message = aio_pika.Message(json.dumps(body).encode(), user_id=settings.amqp_user, delivery_mode=2)
            await exchange.publish(message, routing_key="transfer")

        for start in range(0, count, IN_FLIGHT):
            await asyncio.gather(*(one(n) for n in range(start, min(count, start + IN_FLIGHT))))
    finally:
        await connection.close()
