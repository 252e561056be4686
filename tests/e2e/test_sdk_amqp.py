"""The SDK's AMQP helpers against the real system (gateway, worker, relay processes; real RabbitMQ).

``CommandPublisher``: results awaited, refusals raised as their classes, the command id as idempotency key
(also across a reply timeout). ``EventSubscriber``: the events of those commands in stream order,
forged messages dead-lettered, duplicates skipped, gaps reported, acks only after the handler returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aio_pika
import pytest
from aio_pika.abc import AbstractRobustConnection

from contracts.events import AccountOpened, EventEnvelope
from contracts.signing import sign
from ledger_cli.processes import Processes
from ledger_common.settings import Settings
from ledger_sdk.amqp import CommandPublisher, EventSubscriber, MemoryEventStore, ReplyTimeout, stream_of
from ledger_sdk.errors import Refused
from ledger_sdk.refusals import InsufficientFunds
from tests.e2e.conftest import subscribe

pytestmark = pytest.mark.e2e


@pytest.fixture
async def publisher(system: Processes) -> AsyncIterator[CommandPublisher]:
    s = system.settings
    async with CommandPublisher(
        s.amqp_url.get_secret_value(), user=s.amqp_user, namespace=s.ledger_namespace, partitions=s.command_partitions
    ) as p:
        yield p


@dataclass
class Seen:
    """What a subscriber's handler and gap callback were given, in order."""

    events: list[EventEnvelope] = field(default_factory=list)
    gaps: list[tuple[str, int, int]] = field(default_factory=list)

    def of(self, stream: str) -> list[EventEnvelope]:
        return [e for e in self.events if stream_of(e) == stream]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; got {[(e.type, e.sequence) for e in self.events][-20:]}")
            await asyncio.sleep(0.05)


@dataclass
class Running:
    subscriber: EventSubscriber
    seen: Seen
    dead: aio_pika.abc.AbstractQueue


@contextlib.asynccontextmanager
async def _run_subscriber(
    amqp: AbstractRobustConnection,
    settings: Settings,
    handler: Callable[[EventEnvelope, Seen], Awaitable[None]] | None = None,
) -> AsyncIterator[Running]:
    """A subscriber on a fresh queue whose rejects go to a dead-letter queue; everything deleted afterwards."""
    name = f"sdk-{uuid.uuid4().hex[:12]}"
    channel = await amqp.channel()
    dlx = await channel.declare_exchange(f"{name}.dlx", aio_pika.ExchangeType.FANOUT, auto_delete=True)
    dead = await channel.declare_queue(f"{name}.dead", exclusive=True)
    await dead.bind(dlx)
    seen = Seen()

    async def handle(event: EventEnvelope) -> None:
        if handler is not None:
            await handler(event, seen)
        seen.events.append(event)

    subscriber = EventSubscriber(
        amqp,
        queue=f"{name}.events",
        namespace=settings.ledger_namespace,
        signing_keys=settings.event_signing_keys.get_secret_value(),
        store=MemoryEventStore(),
        on_gap=lambda stream, expected, got: seen.gaps.append((stream, expected, got)),
        queue_arguments={"x-dead-letter-exchange": dlx.name},
        retry_delay=0.1,
    )
    stop = asyncio.Event()
    async with subscriber:
        task = asyncio.create_task(subscriber.run(handle, stop=stop))
        try:
            yield Running(subscriber, seen, dead)
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
            await subscriber.delete_queue()
    await channel.exchange_delete(dlx.name)
    await channel.close()


@pytest.fixture
async def running(system: Processes, amqp: AbstractRobustConnection) -> AsyncIterator[Running]:
    async with _run_subscriber(amqp, system.settings) as r:
        yield r


async def _wallet(publisher: CommandPublisher, funds: int = 0) -> tuple[str, uuid.UUID]:
    """A new wallet's handle and its USD account, with ``funds`` deposited."""
    handle = f"@sdk_{uuid.uuid4().hex[:10]}"
    created = await publisher.send("wallet.create", {"owner_id": "sdk", "handle": handle, "currencies": ["USD"]})
    assert created.status == "applied" and created.balances
    if funds:
        await publisher.send("deposit", {"wallet": handle, "amount": funds, "currency": "USD"})
    return handle, created.balances[0].account_id


def _signed(settings: Settings, event: EventEnvelope, keys: dict[str, bytes] | None = None) -> aio_pika.Message:
    body = event.model_dump_json().encode()
    headers = sign(
        routing_key=event.type,
        message_id=str(event.event_id),
        message_type=event.type,
        body=body,
        keys=keys or settings.signing_keys,
    )
    return aio_pika.Message(
        body,
        headers=dict(headers),
        message_id=str(event.event_id),
        type=event.type,
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )


def _opened(account: uuid.UUID, sequence: int) -> EventEnvelope:
    return EventEnvelope(
        event_id=uuid.uuid4(),
        type="account.opened",
        occurred_at=datetime.now(UTC),
        command_id=f"sdk-test-{uuid.uuid4().hex}",
        account_id=account,
        sequence=sequence,
        payload=AccountOpened(currency="USD"),
    )


async def _publish_events(amqp: AbstractRobustConnection, settings: Settings, *messages: aio_pika.Message) -> None:
    """Publish straight onto the events exchange (as a forger with write access could), confirmed."""
    channel = await amqp.channel(publisher_confirms=True)
    exchange = await channel.declare_exchange(settings.topology.events_exchange, passive=True)
    for message in messages:
        assert message.type is not None
        await exchange.publish(message, routing_key=message.type)
    await channel.close()


async def test_send_awaits_applied_results(publisher: CommandPublisher) -> None:
    payer, payer_account = await _wallet(publisher, funds=10_000)
    payee, payee_account = await _wallet(publisher)
    assert publisher.reply_queue.startswith(f"{publisher.user}.replies.")
    moved = await publisher.send(
        "transfer", {"debit_wallet": payer, "credit_wallet": payee, "amount": 2_500, "currency": "USD"}
    )
    assert moved.status == "applied" and moved.transaction_id is not None and not moved.replayed
    balances = {b.account_id: b.balance for b in moved.balances}
    assert balances == {payer_account: 7_500, payee_account: 2_500}


async def test_concurrent_sends_each_get_their_own_result(publisher: CommandPublisher) -> None:
    handle, account = await _wallet(publisher)
    results = await asyncio.gather(
        *(publisher.send("deposit", {"wallet": handle, "amount": n, "currency": "USD"}) for n in range(1, 11))
    )
    assert len({r.command_id for r in results}) == 10 and all(r.status == "applied" for r in results)
    assert max(b.balance for r in results for b in r.balances if b.account_id == account) == 55


async def test_a_refusal_is_raised_as_its_class(publisher: CommandPublisher) -> None:
    payer, _ = await _wallet(publisher, funds=100)
    payee, _ = await _wallet(publisher)
    payload = {"debit_wallet": payer, "credit_wallet": payee, "amount": 101, "currency": "USD"}
    with pytest.raises(InsufficientFunds) as raised:
        await publisher.send("transfer", payload, command_id=f"sdk-{uuid.uuid4().hex}")
    assert isinstance(raised.value, Refused) and raised.value.result.refusal == "insufficient_funds"
    again = await publisher.send("transfer", payload, command_id=raised.value.command_id, raise_refused=False)
    assert again.status == "refused" and again.replayed  # a refusal is a recorded outcome


async def test_the_same_command_id_is_applied_once(publisher: CommandPublisher) -> None:
    handle, account = await _wallet(publisher)
    cid = f"sdk-{uuid.uuid4().hex}"
    first = await publisher.send("deposit", {"wallet": handle, "amount": 700, "currency": "USD"}, command_id=cid)
    second = await publisher.send("deposit", {"wallet": handle, "amount": 700, "currency": "USD"}, command_id=cid)
    assert not first.replayed and second.replayed and second.transaction_id == first.transaction_id
    after = await publisher.send("deposit", {"wallet": handle, "amount": 1, "currency": "USD"})
    assert next(b.balance for b in after.balances if b.account_id == account) == 701


async def test_a_resend_after_a_reply_timeout_gets_the_recorded_result(
    system: Processes, amqp: AbstractRobustConnection, publisher: CommandPublisher
) -> None:
    s = system.settings
    handle, account = await _wallet(publisher)
    impatient = CommandPublisher(amqp, user=s.amqp_user, namespace=s.ledger_namespace, reply_timeout=0.0001)
    early = 0  # sends whose reply beat their own confirm (a loaded machine, seen in CI): they simply succeed
    async with impatient:
        for _ in range(5):
            command = impatient.command("deposit", {"wallet": handle, "amount": 300, "currency": "USD"})
            try:
                await impatient.send_command(command)
            except ReplyTimeout as exc:
                raised = exc
                break
            early += 1
        else:
            pytest.fail("5 sends with a 0.1 ms reply timeout all got their reply")
        assert raised.command_id == command.command_id
        assert raised.status_url == f"/v1/commands/{command.command_id}"
        await asyncio.sleep(1)  # its late reply arrives for nobody: ignored
    retried = await publisher.send_command(command)  # the same id (and payload): a retry
    assert retried.status == "applied" and retried.replayed
    assert next(b.balance for b in retried.balances if b.account_id == account) == 300 * (early + 1)
    after = await publisher.send("deposit", {"wallet": handle, "amount": 1, "currency": "USD"})
    assert next(b.balance for b in after.balances if b.account_id == account) == 300 * (early + 1) + 1


async def test_the_subscriber_receives_the_commands_events_in_stream_order(
    publisher: CommandPublisher, running: Running
) -> None:
    payer, payer_account = await _wallet(publisher, funds=5_000)
    payee, payee_account = await _wallet(publisher)
    await publisher.send(
        "transfer", {"debit_wallet": payer, "credit_wallet": payee, "amount": 1_000, "currency": "USD"}
    )
    seen = running.seen
    payer_stream, payee_stream = f"account:{payer_account}", f"account:{payee_account}"
    await seen.wait_for(lambda: len(seen.of(payer_stream)) == 3 and len(seen.of(payee_stream)) == 2)
    assert [e.type for e in seen.of(payer_stream)] == ["account.opened", "account.credited", "account.debited"]
    assert [e.type for e in seen.of(payee_stream)] == ["account.opened", "account.credited"]
    for stream in (payer_stream, payee_stream):
        assert [e.sequence for e in seen.of(stream)] == list(range(1, len(seen.of(stream)) + 1))
        assert not [g for g in seen.gaps if g[0] == stream]
    (opened,) = seen.of(payer_stream)[:1]
    wallet_stream = f"wallet:{opened.wallet_id}"  # the wallet's own stream: account_id null
    await seen.wait_for(lambda: len(seen.of(wallet_stream)) == 1)
    assert [(e.type, e.sequence, e.account_id) for e in seen.of(wallet_stream)] == [("wallet.created", 1, None)]


async def test_forged_and_duplicate_events_never_reach_the_handler(
    system: Processes, amqp: AbstractRobustConnection, publisher: CommandPublisher, running: Running
) -> None:
    s = system.settings
    raw = await subscribe(amqp, s)  # a plain queue, to get a genuine message to replay
    _, account = await _wallet(publisher)
    await raw.wait_for(lambda evs: any(e.account_id == account for e in evs))
    genuine = next(m for e, m in zip(raw.events, raw.messages, strict=True) if e.account_id == account)
    seen, stream = running.seen, f"account:{account}"
    await seen.wait_for(lambda: len(seen.of(stream)) == 1)

    forged_event = _opened(uuid.uuid4(), 1)
    forged = _signed(s, forged_event, keys={"t1": b"not-the-ledger's-key"})
    unsigned = aio_pika.Message(forged_event.model_dump_json().encode(), message_id="x", type="account.opened")
    duplicate = aio_pika.Message(
        genuine.body, headers=genuine.headers, message_id=genuine.message_id, type=genuine.type
    )
    await _publish_events(amqp, s, forged, unsigned, duplicate)
    deposit = await publisher.send("deposit", {"account_id": str(account), "amount": 5, "currency": "USD"})
    await seen.wait_for(lambda: len(seen.of(stream)) == 2)  # published after the three above

    assert [e.type for e in seen.of(stream)] == ["account.opened", "account.credited"]
    assert seen.of(stream)[1].command_id == deposit.command_id
    assert forged_event.event_id not in {e.event_id for e in seen.events}
    dead = [await running.dead.get(timeout=5), await running.dead.get(timeout=5)]  # rejected, not requeued
    assert sorted(m.message_id or "" for m in dead) == sorted([str(forged_event.event_id), "x"])
    assert await running.dead.get(fail=False) is None  # the duplicate was acked, not dead-lettered


async def test_gaps_are_reported_and_late_or_repeated_sequences_skipped(
    system: Processes, amqp: AbstractRobustConnection, running: Running
) -> None:
    s, account = system.settings, uuid.uuid4()
    events = [_opened(account, n) for n in (1, 3, 2, 3, 4)]
    await _publish_events(amqp, s, *(_signed(s, e) for e in events))
    seen, stream = running.seen, f"account:{account}"
    await seen.wait_for(lambda: [e.sequence for e in seen.of(stream)] == [1, 3, 4])
    assert [g for g in seen.gaps if g[0] == stream] == [(stream, 2, 3)]
    assert [e.event_id for e in seen.of(stream)] == [events[0].event_id, events[1].event_id, events[4].event_id]
    assert await running.subscriber.store.position(stream) == 4


async def test_an_event_is_acked_only_after_the_handler_returned(
    system: Processes, amqp: AbstractRobustConnection, publisher: CommandPublisher
) -> None:
    """The handler fails on an account's first event while its second is already queued behind it: the
    first is delivered again and handled, and the second is held back behind it, so the order holds."""
    raw = await subscribe(amqp, system.settings)
    command = publisher.command("wallet.create", {"owner_id": "sdk", "currencies": ["USD"]})
    failed: list[EventEnvelope] = []

    async def fail_first_opening(event: EventEnvelope, seen: Seen) -> None:
        if event.type == "account.opened" and event.command_id == command.command_id and not failed:
            failed.append(event)
            await raw.wait_for(
                lambda evs: any(e.type == "account.credited" and e.account_id == event.account_id for e in evs)
            )
            await asyncio.sleep(0.3)  # the credit is in the subscriber's queue (and its prefetch) too
            raise RuntimeError("the handler's database is down")

    async with _run_subscriber(amqp, system.settings, fail_first_opening) as r:
        created = await publisher.send_command(command)
        account = created.balances[0].account_id
        await publisher.send("deposit", {"account_id": str(account), "amount": 9, "currency": "USD"})
        stream = f"account:{account}"
        await r.seen.wait_for(lambda: len(r.seen.of(stream)) == 2)
        assert failed and failed[0].event_id == r.seen.of(stream)[0].event_id  # delivered again, then handled
        assert [e.type for e in r.seen.of(stream)] == ["account.opened", "account.credited"]  # order held
        assert [e.sequence for e in r.seen.of(stream)] == [1, 2] and not [g for g in r.seen.gaps if g[0] == stream]
        assert await r.subscriber.store.position(stream) == 2
