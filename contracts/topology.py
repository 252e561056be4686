"""AMQP names and declarations shared by every process and documented in docs/topology.md.

``namespace`` prefixes every name so tests (or tenants) can run side by side on one broker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

#: Header carrying the reason a command was dead-lettered by the worker.
DEAD_LETTER_REASON_HEADER = "x-ledger-dead-letter-reason"
#: Header carrying the routing key a command dead-lettered by the worker was first published with.
ORIGINAL_ROUTING_KEY_HEADER = "x-ledger-original-routing-key"
#: Redeliveries before RabbitMQ itself dead-letters a command (poison message guard).
DELIVERY_LIMIT = 20


@dataclass(frozen=True)
class Topology:
    namespace: str = ""
    #: False: only check that the entities exist (passive declares), for broker users without
    #: configure permission on a broker that ``ledger broker-setup`` provisioned.
    declare: bool = True

    def _n(self, name: str) -> str:
        return f"{self.namespace}{name}"

    @property
    def commands_exchange(self) -> str:
        return self._n("ledger.commands")

    @property
    def commands_queue(self) -> str:
        return self._n("ledger.commands.worker")

    @property
    def commands_dlx(self) -> str:
        return self._n("ledger.commands.dlx")

    @property
    def commands_dead_queue(self) -> str:
        return self._n("ledger.commands.dead")

    @property
    def events_exchange(self) -> str:
        return self._n("ledger.events")

    def definitions(self, vhost: str) -> dict[str, list[dict[str, Any]]]:
        """The same entities as RabbitMQ definitions (``rabbitmqctl import_definitions``, load at boot)."""
        quorum = {"x-queue-type": "quorum"}
        worker_args = {**quorum, "x-dead-letter-exchange": self.commands_dlx, "x-delivery-limit": DELIVERY_LIMIT}

        def exchange(name: str, kind: str) -> dict[str, Any]:
            return {"name": name, "vhost": vhost, "type": kind, "durable": True, "auto_delete": False,
                    "internal": False, "arguments": {}}  # fmt: skip

        def queue(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
            return {"name": name, "vhost": vhost, "durable": True, "auto_delete": False, "arguments": arguments}

        def binding(source: str, queue_name: str, key: str) -> dict[str, Any]:
            return {"source": source, "vhost": vhost, "destination": queue_name, "destination_type": "queue",
                    "routing_key": key, "arguments": {}}  # fmt: skip

        return {
            "exchanges": [
                exchange(self.commands_exchange, "topic"),
                exchange(self.commands_dlx, "fanout"),
                exchange(self.events_exchange, "topic"),
            ],
            "queues": [queue(self.commands_queue, worker_args), queue(self.commands_dead_queue, quorum)],
            "bindings": [
                binding(self.commands_exchange, self.commands_queue, "#"),
                binding(self.commands_dlx, self.commands_dead_queue, ""),
            ],
        }

    async def declare_commands(self, channel: AbstractChannel) -> tuple[AbstractExchange, AbstractQueue]:
        """Declare the command exchange, the worker's quorum queue and its dead-letter path."""
        if not self.declare:
            return (
                await channel.declare_exchange(self.commands_exchange, passive=True),
                await channel.declare_queue(self.commands_queue, passive=True),
            )
        dlx = await channel.declare_exchange(self.commands_dlx, aio_pika.ExchangeType.FANOUT, durable=True)
        dead = await channel.declare_queue(self.commands_dead_queue, durable=True, arguments={"x-queue-type": "quorum"})
        await dead.bind(dlx)
        exchange = await channel.declare_exchange(self.commands_exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(
            self.commands_queue,
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-dead-letter-exchange": self.commands_dlx,
                "x-delivery-limit": DELIVERY_LIMIT,
            },
        )
        await queue.bind(exchange, routing_key="#")
        return exchange, queue

    async def declare_events(self, channel: AbstractChannel) -> AbstractExchange:
        """Declare the durable topic exchange subscribers bind their queues to."""
        if not self.declare:
            return await channel.declare_exchange(self.events_exchange, passive=True)
        return await channel.declare_exchange(self.events_exchange, aio_pika.ExchangeType.TOPIC, durable=True)
