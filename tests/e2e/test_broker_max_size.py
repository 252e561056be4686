"""``ledger broker-setup`` bounds the size of a message at the broker itself (contracts/bounds.py): on a
RabbitMQ node of the test's own (``ledger cluster``'s harness, one node: the machine's broker is shared
and never reconfigured), a command body at the bound is taken and one byte more closes the channel (406)."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import aio_pika
import aiormq
import pytest

from contracts.bounds import MAX_BODY_BYTES
from ledger_cli.broker import set_max_message_size
from ledger_cli.cluster.rabbit import RabbitCluster

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.geteuid() != 0, reason="the node runs as rabbitmq: needs root"),
]


async def test_the_broker_refuses_a_message_over_the_body_bound() -> None:
    node = RabbitCluster.plan(Path(f"/tmp/ledger-maxsize-test-{uuid.uuid4().hex[:10]}"), size=1)
    try:
        node.up()
        set_max_message_size(MAX_BODY_BYTES, lambda *args: node.ctl(node.nodes[0], *args))
        connection = await aio_pika.connect(node.url())
        try:
            channel = await connection.channel(publisher_confirms=True)
            queue = await channel.declare_queue(exclusive=True)
            await channel.default_exchange.publish(aio_pika.Message(b" " * MAX_BODY_BYTES), routing_key=queue.name)
            with pytest.raises(aiormq.exceptions.ChannelPreconditionFailed, match="max size"):
                await channel.default_exchange.publish(
                    aio_pika.Message(b" " * (MAX_BODY_BYTES + 1)), routing_key=queue.name
                )
        finally:
            await connection.close()
    finally:
        node.down()
        shutil.rmtree(node.base, ignore_errors=True)
