"""Partitioned command queues with real workers: commands spread over the partitions, each subject's
commands applied in the order published, and a worker SIGKILLed mid-batch handing its partition to
the standby without applying anything twice."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import aio_pika
import asyncpg
import pytest
from aio_pika.abc import AbstractRobustConnection

from contracts.commands import Command, build_command
from contracts.partitions import partition_key, partition_of, routing_key
from ledger_cli.processes import Processes
from ledger_cli.system import OwnSystem
from ledger_common.settings import Settings
from tests.conftest import own_system
from tests.e2e.conftest import wait_until

pytestmark = pytest.mark.e2e

PARTITIONS = 2
#: Each subject sends four transfers of 30 from a balance of 100: in order, the fourth is refused.
TRANSFERS, AMOUNT, FUNDS = 4, 30, 100


@pytest.fixture
def partitioned_system(settings: Settings) -> Iterator[OwnSystem]:
    yield from own_system(settings)


@pytest.fixture
def partitioned(partitioned_system: OwnSystem) -> Iterator[Processes]:
    """Two workers: ``worker-a`` owns partition 0, ``worker-b`` partition 1; each stands by on the other."""
    s = partitioned_system.direct.model_copy(update={"command_partitions": PARTITIONS, "worker_standby_seconds": 0.3})
    procs = partitioned_system.processes(s)
    procs.overrides = {"worker-a": {"WORKER_PARTITIONS": "0"}, "worker-b": {"WORKER_PARTITIONS": "1"}}
    yield procs
    procs.stop_all()
    asyncio.run(partitioned_system.destroy(keep=True, keep_logs=False, queues=s.topology.command_queues))


@pytest.fixture
async def db(partitioned: Processes) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(partitioned.settings.database_url.get_secret_value())
    yield conn
    await conn.close()


class Publisher:
    def __init__(self, connection: AbstractRobustConnection, settings: Settings) -> None:
        self._connection = connection
        self._settings = settings

    async def send(self, cmds: list[Command]) -> None:
        channel = await self._connection.channel(publisher_confirms=True)
        exchange, _ = await self._settings.topology.declare_commands(channel)
        for cmd in cmds:
            message = aio_pika.Message(
                cmd.model_dump_json().encode(),
                content_type="application/json",
                message_id=cmd.command_id,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                user_id=self._settings.amqp_user,
            )
            await exchange.publish(message, routing_key=routing_key(cmd, PARTITIONS))
        await channel.close()


def command(kind: str, payload: dict[str, object], command_id: str) -> Command:
    return build_command(kind, payload, command_id=command_id, issued_at=datetime.now(UTC))


def accounts_on_each_partition(per_partition: int) -> list[uuid.UUID]:
    """Account ids, ``per_partition`` of them routed to each partition (the subject of a transfer is its source)."""
    found: dict[int, list[uuid.UUID]] = {p: [] for p in range(PARTITIONS)}
    while any(len(ids) < per_partition for ids in found.values()):
        account = uuid.uuid4()
        found[partition_of(str(account), PARTITIONS)].append(account)
    return [a for ids in found.values() for a in ids[:per_partition]]


async def open_and_fund(publisher: Publisher, db: asyncpg.Connection, sources: list[uuid.UUID]) -> uuid.UUID:
    sink = uuid.uuid4()
    opens = [
        command("account.open", {"account_id": a, "currency": "USD"}, command_id=f"open-{a}") for a in [*sources, sink]
    ]
    await publisher.send(opens)
    deposits = [
        command("deposit", {"account_id": a, "amount": FUNDS, "currency": "USD"}, command_id=f"fund-{a}")
        for a in sources
    ]
    await publisher.send(deposits)
    await wait_until(
        lambda: db.fetchval("SELECT count(*) = $1 FROM commands WHERE command_id LIKE 'fund-%'", len(sources))
    )
    return sink


def transfers(sources: list[uuid.UUID], sink: uuid.UUID) -> list[Command]:
    """Interleaved across subjects: each subject's four transfers in order, j = 0..3."""
    return [
        command(
            "transfer",
            {"debit_account_id": a, "credit_account_id": sink, "amount": AMOUNT, "currency": "USD"},
            command_id=f"t-{a}-{j}",
        )
        for j in range(TRANSFERS)
        for a in sources
    ]


async def queued(connection: AbstractRobustConnection, settings: Settings) -> list[int]:
    channel = await connection.channel()
    counts = []
    for name in settings.topology.command_queues:
        queue = await channel.declare_queue(name, passive=True)
        counts.append(int(queue.declaration_result.message_count or 0))
    await channel.close()
    return counts


async def assert_in_order_once(db: asyncpg.Connection, sources: list[uuid.UUID]) -> None:
    """Every transfer recorded once; per subject the first three applied, the fourth refused; the
    source's events in publish order; each applied transfer posted exactly once."""
    rows = await db.fetch("SELECT command_id, result->>'status' AS status FROM commands WHERE command_id LIKE 't-%'")
    status = {r["command_id"]: r["status"] for r in rows}
    assert len(rows) == len(status) == len(sources) * TRANSFERS
    for a in sources:
        assert [status[f"t-{a}-{j}"] for j in range(TRANSFERS)] == ["applied"] * 3 + ["refused"], a
        debits = await db.fetch(
            "SELECT command_id FROM events WHERE account_id = $1 AND command_id LIKE 't-%' ORDER BY sequence", a
        )
        assert [r["command_id"] for r in debits] == [f"t-{a}-{j}" for j in range(3)]
        assert await db.fetchval("SELECT balance FROM accounts WHERE id = $1", a) == FUNDS - 3 * AMOUNT
    posted = await db.fetchval(
        "SELECT count(*) FROM postings p JOIN transactions t ON t.id = p.transaction_id WHERE t.command_id LIKE 't-%'"
    )
    assert posted == 2 * 3 * len(sources)


async def test_commands_spread_over_partitions_and_keep_each_subjects_order(
    partitioned: Processes, db: asyncpg.Connection, amqp: AbstractRobustConnection
) -> None:
    s = partitioned.settings
    publisher = Publisher(amqp, s)
    sources = accounts_on_each_partition(6)
    for name in ("worker-a", "worker-b"):
        partitioned.start(name)
    sink = await open_and_fund(publisher, db, sources)
    for name in ("worker-a", "worker-b"):
        assert partitioned.stop(name) == 0

    cmds = transfers(sources, sink)
    await publisher.send(cmds)
    expected = [sum(partition_of(partition_key(c), PARTITIONS) == p for c in cmds) for p in range(PARTITIONS)]
    assert await queued(amqp, s) == expected and all(expected)  # routed by subject, onto every partition

    for name in ("worker-a", "worker-b"):
        partitioned.start(name)
    await wait_until(lambda: db.fetchval("SELECT count(*) = $1 FROM commands WHERE command_id LIKE 't-%'", len(cmds)))
    await assert_in_order_once(db, sources)
    assert await queued(amqp, s) == [0] * PARTITIONS


@pytest.mark.parametrize("how", ["after_commit", "sigkill_under_load"])
async def test_partition_consumer_killed_mid_batch_hands_over_to_the_standby(
    partitioned: Processes, db: asyncpg.Connection, amqp: AbstractRobustConnection, how: str
) -> None:
    s = partitioned.settings
    publisher = Publisher(amqp, s)
    sources = [a for a in accounts_on_each_partition(40) if partition_of(str(a), PARTITIONS) == 0]
    partitioned.start("worker-a")
    sink = await open_and_fund(publisher, db, sources)
    assert partitioned.stop("worker-a") == 0

    # worker-a active on partition 0 (it registers first); worker-b owns 1 and stands by on 0.
    partitioned.start("worker-a", crash_at="worker.after_commit" if how == "after_commit" else "")
    partitioned.start("worker-b")
    await wait_until(lambda: _logged(partitioned, "worker-b", "standby on"))
    await publisher.send(transfers(sources, sink))
    if how == "sigkill_under_load":
        await wait_until(lambda: db.fetchval("SELECT count(*) > 0 FROM commands WHERE command_id LIKE 't-%'"), 60)
        assert partitioned.kill("worker-a") == -signal.SIGKILL
    else:  # died after committing its first batch, before acking it
        assert partitioned.wait_exit("worker-a") == -signal.SIGKILL

    # worker-b takes partition 0 over: the unacked deliveries first, in order; replays, not re-applies.
    n = len(sources) * TRANSFERS
    await wait_until(lambda: db.fetchval("SELECT count(*) = $1 FROM commands WHERE command_id LIKE 't-%'", n), 60)
    await assert_in_order_once(db, sources)
    await wait_until(lambda: _drained(amqp, s))


async def _logged(procs: Processes, name: str, text: str) -> bool:
    return text in procs.log(name)


async def _drained(amqp: AbstractRobustConnection, s: Settings) -> bool:
    return await queued(amqp, s) == [0] * PARTITIONS
