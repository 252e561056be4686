"""The wallet flows over AMQP only (publish commands, read replies and events), as an upstream service does.

Checks the replies (balances posted/held/available), and on the subscriber side: every event of each
account in gapless order, and each account's hash chain recomputed from its events alone.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from contracts.chain import GENESIS, entry_hash
from contracts.events import BalanceChanged, EventEnvelope
from contracts.results import CommandResult
from ledger_cli.processes import Processes
from ledger_common.settings import Settings
from tests.e2e.conftest import Subscriber, subscribe
from tests.ledger import cmd

pytestmark = pytest.mark.e2e


class Client:
    """Publishes commands with reply_to and waits for each result, like an upstream service."""

    def __init__(self, connection: AbstractRobustConnection, settings: Settings) -> None:
        self._connection, self._settings = connection, settings
        self._waiting: dict[str, asyncio.Future[CommandResult]] = {}

    async def start(self) -> None:
        channel = await self._connection.channel(publisher_confirms=True)
        self._exchange, _ = await self._settings.topology.declare_commands(channel)
        self._replies = await channel.declare_queue(exclusive=True, auto_delete=True)
        await self._replies.consume(self._on_reply, no_ack=True)

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        future = self._waiting.pop(message.correlation_id or "", None)
        if future is not None:
            future.set_result(CommandResult.model_validate_json(message.body))

    async def send(self, kind: str, /, **payload: Any) -> CommandResult:
        command = cmd(kind, principal=None, **payload)  # who sent it is the broker-checked user_id
        future = self._waiting[command.command_id] = asyncio.get_running_loop().create_future()
        body = command.model_dump_json().encode()
        message = aio_pika.Message(
            body,
            content_type="application/json",
            correlation_id=command.command_id,
            reply_to=self._replies.name,
            user_id=self._settings.amqp_user,
        )
        await self._exchange.publish(message, routing_key=kind)
        return await asyncio.wait_for(future, 30)


def _balance(result: CommandResult, account: uuid.UUID) -> tuple[int, int, int]:
    b = next(b for b in result.balances if b.account_id == account)
    return b.balance, b.held, b.available


async def test_wallet_flows_over_amqp(system: Processes, amqp: AbstractRobustConnection) -> None:
    events = await subscribe(amqp, system.settings)
    client = Client(amqp, system.settings)
    await client.start()
    tag = uuid.uuid4().hex[:8]
    shopper = await client.send("wallet.create", owner_id="u1", handle=f"@shopper_{tag}", currencies=["USD"])
    shop = await client.send("wallet.create", owner_id="m1", kind="merchant", handle=f"@shop_{tag}")
    a = shopper.balances[0].account_id

    top_up = await client.send("deposit", wallet=f"@shopper_{tag}", amount=10_000, currency="USD")
    assert _balance(top_up, a) == (10_000, 0, 10_000)
    hold = await client.send("hold.place", wallet=f"@shopper_{tag}", amount=3_000, currency="USD")
    assert _balance(hold, a) == (10_000, 3_000, 7_000)
    captured = await client.send(
        "hold.capture", hold_id=str(hold.hold_id), amount=1_000, recipient_wallet=f"@shop_{tag}"
    )
    assert _balance(captured, a) == (9_000, 0, 9_000)  # the other 2,000 were released
    m = next(b.account_id for b in captured.balances if b.account_id != a)  # opened by the credit

    intent = await client.send("intent.create", merchant_wallet=f"@shop_{tag}", amount=2_500, currency="USD")
    await client.send("intent.pay", intent_id=str(intent.intent_id), payer_wallet=f"@shopper_{tag}", via_hold=True)
    paid = await client.send("intent.capture", intent_id=str(intent.intent_id))
    assert _balance(paid, a) == (6_500, 0, 6_500) and _balance(paid, m) == (3_500, 0, 3_500)
    refund = await client.send("refund", intent_id=str(intent.intent_id), amount=500, currency="USD")
    too_much = await client.send("refund", intent_id=str(intent.intent_id), amount=2_001, currency="USD")
    assert refund.status == "applied" and too_much.refusal == "refund_exceeds_paid"
    split = await client.send(
        "transaction.post",
        currency="USD",
        legs=[
            {"wallet": f"@shopper_{tag}", "side": "debit", "amount": 1_000},
            {"wallet": f"@shop_{tag}", "side": "credit", "amount": 900},
            {"wallet": f"@shop_{tag}", "side": "credit", "amount": 100},
        ],
    )
    assert _balance(split, a) == (6_000, 0, 6_000) and _balance(split, m) == (4_000, 0, 4_000)
    assert shop.wallet_id is not None

    await events.wait_for(lambda evs: any(e.command_id == too_much.command_id for e in evs))
    await events.wait_for(lambda evs: _settled(evs, {a: 10, m: 10}))
    streams = _streams(events)
    assert [e.type for e in streams[a]] == [
        "account.opened",
        "account.credited",
        "hold.placed",
        "account.debited",
        "hold.captured",
        "hold.placed",
        "account.debited",
        "hold.captured",
        "account.credited",
        "account.debited",
    ]
    assert [e.type for e in streams[m]] == [
        "account.opened",  # by the first credit to a wallet without a USD account
        "account.credited",
        "intent.created",
        "intent.authorized",
        "account.credited",
        "intent.paid",
        "account.debited",
        "intent.refunded",
        "account.credited",
        "account.credited",
    ]
    assert {e.principal for s in streams.values() for e in s} == {f"amqp:{system.settings.amqp_user}"}
    for stream in streams.values():
        assert [e.sequence for e in stream] == list(range(1, len(stream) + 1))
        _verify_chain(stream)


def _streams(sub: Subscriber) -> dict[uuid.UUID, list[EventEnvelope]]:
    unique = {e.event_id: e for e in sub.events}  # delivery is at least once
    streams: dict[uuid.UUID, list[EventEnvelope]] = defaultdict(list)
    for e in sorted(unique.values(), key=lambda e: e.sequence or 0):
        if e.account_id is not None:
            streams[e.account_id].append(e)
    return streams


def _settled(evs: list[EventEnvelope], counts: dict[uuid.UUID, int]) -> bool:
    seen = {(e.account_id, e.sequence) for e in evs}
    return all((a, n) in seen for a, n in counts.items())


def _verify_chain(stream: list[EventEnvelope]) -> None:
    """What a subscriber can check alone: each posting's hash follows from the one before."""
    previous = GENESIS
    for e in stream:
        if not isinstance(e.payload, BalanceChanged):
            continue
        p = e.payload
        assert bytes.fromhex(p.previous_hash) == previous
        signed = p.amount if e.type == "account.credited" else -p.amount
        expected = entry_hash(
            previous,
            account_id=e.account_id,  # type: ignore[arg-type]
            transaction_id=p.transaction_id,
            kind=p.command_type,
            currency=p.currency,
            amount=signed,
            balance_after=p.balance_after,
            created_at=e.occurred_at,
        )
        assert expected.hex() == p.entry_hash
        previous = expected
