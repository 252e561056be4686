"""The acker: one ``multiple`` ack per run of settled deliveries, never past an unsettled one."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from ledger_worker.acks import Acks


@dataclass
class Delivery:
    """Stands in for an incoming message: a delivery tag and the acks sent for it."""

    delivery_tag: int
    sent: list[tuple[int, bool]] = field(default_factory=list)

    async def ack(self, multiple: bool = False) -> None:
        self.sent.append((self.delivery_tag, multiple))


def channel(n: int) -> tuple[Acks, list[Delivery]]:
    acks, deliveries = Acks(), [Delivery(t) for t in range(1, n + 1)]
    for d in deliveries:
        acks.received(d)
    return acks, deliveries


def sent(deliveries: list[Delivery]) -> list[tuple[int, bool]]:
    return [a for d in deliveries for a in d.sent]


async def test_a_batch_finishing_early_waits_for_the_one_before_it() -> None:
    acks, d = channel(6)
    await acks.ack(d[3:6])  # the second lane finishes first
    assert sent(d) == []  # acking 6 with multiple would also ack 1-3, not committed yet
    await acks.ack(d[0:3])
    assert sent(d) == [(6, True)]


async def test_a_nacked_delivery_is_passed_over_never_named() -> None:
    acks, d = channel(4)
    await acks.nacked(d[3:4])
    await acks.ack(d[0:3])
    assert sent(d) == [(3, True)]  # 4 was nacked back to the queue: not outstanding, not the anchor
    assert acks.unsettled(d) == []


async def test_unsettled_ones_are_told_apart() -> None:
    acks, d = channel(5)
    await acks.ack(d[0:2])
    await acks.ack(d[3:4])  # dead-lettered while 3 is still in a batch
    assert [m.delivery_tag for m in acks.unsettled(d)] == [3, 5]
    await acks.nacked(acks.unsettled(d))
    assert sent(d) == [(2, True), (4, True)]


@dataclass
class SlowDelivery(Delivery):
    """An ack that yields to the loop before its frame goes out, as aio-pika's does under load."""

    wire: list[int] = field(default_factory=list)

    async def ack(self, multiple: bool = False) -> None:
        await asyncio.sleep(0.01 if self.delivery_tag == 2 else 0)
        self.wire.append(self.delivery_tag)


async def test_concurrent_flushes_put_their_acks_on_the_wire_in_tag_order() -> None:
    # Found by the consumer fuzz test: a dead letter's ack (in the consume callback) and a lane's ack
    # raced; the lane's multiple ack of 4 went out first and the broker closed the channel on the
    # late ack of 2 ("unknown delivery tag"), redelivering everything unacked.
    wire: list[int] = []
    acks = Acks()
    d = [SlowDelivery(t, wire=wire) for t in range(1, 5)]
    for m in d:
        acks.received(m)
    await asyncio.gather(acks.ack(d[0:2]), acks.ack(d[2:4]))
    assert wire == sorted(wire) and wire[-1] == 4
