"""AMQP names and declarations shared by every process and documented in docs/topology.md.

``namespace`` prefixes every name so tests (or tenants) can run side by side on one broker.

``partitions`` > 1 splits the command queue into that many quorum queues, one per partition
(``contracts.partitions``), each with a single active consumer: partition ``k`` is bound to
``p<k>.#``, and partition 0 also to every bare command type, so a publisher that does not compute
partitions still reaches a worker (all on partition 0: correct, not spread). One queue (the default)
keeps the name and arguments of before: a queue's arguments cannot change once it exists.
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
#: Header of every message in the event log stream: the event's log position (an integer, 1, 2, 3 …).
POSITION_HEADER = "x-ledger-position"
#: Header of every message in the event log stream: when the event was logged (milliseconds since 1970, UTC).
LOGGED_AT_HEADER = "x-ledger-logged-at"


@dataclass(frozen=True)
class Retention:
    """How long the event log stream keeps events: whichever limit is reached first drops the oldest segment.

    RabbitMQ applies retention a whole segment at a time, so a stream keeps up to one segment more than
    the limits say. Fixed when the stream is declared; change them later with a policy
    (``rabbitmqctl set_policy``), not here: a stream's arguments cannot change once it exists.
    """

    #: ``x-max-age``: ``<n><Y|M|D|h|m|s>``, e.g. ``7D``.
    max_age: str = "7D"
    #: ``x-max-length-bytes``.
    max_bytes: int = 20_000_000_000
    #: ``x-stream-max-segment-size-bytes``: the unit retention drops.
    segment_bytes: int = 100_000_000

    def arguments(self) -> dict[str, Any]:
        return {
            "x-queue-type": "stream",
            "x-max-age": self.max_age,
            "x-max-length-bytes": self.max_bytes,
            "x-stream-max-segment-size-bytes": self.segment_bytes,
        }

    @property
    def max_age_seconds(self) -> int:
        """``max_age`` in seconds (a month is 30 days, a year 365)."""
        unit = {"Y": 365 * 86_400, "M": 30 * 86_400, "D": 86_400, "h": 3600, "m": 60, "s": 1}
        return int(self.max_age[:-1]) * unit[self.max_age[-1]]


@dataclass(frozen=True)
class Topology:
    namespace: str = ""
    #: False: only check that the entities exist (passive declares), for broker users without
    #: configure permission on a broker that ``ledger broker-setup`` provisioned.
    declare: bool = True
    #: Command queue partitions (``COMMAND_PARTITIONS``): every process of a deployment must agree.
    partitions: int = 1
    #: The event log stream's retention (``EVENT_STREAM_*``).
    retention: Retention = Retention()

    def _n(self, name: str) -> str:
        return f"{self.namespace}{name}"

    @property
    def commands_exchange(self) -> str:
        return self._n("ledger.commands")

    @property
    def commands_queue(self) -> str:
        """The command queue of partition 0 (the only one unless ``partitions`` > 1)."""
        return self.partition_queue(0)

    def partition_queue(self, partition: int) -> str:
        if self.partitions <= 1:
            return self._n("ledger.commands.worker")
        return self._n(f"ledger.commands.worker.{partition}")

    @property
    def command_queues(self) -> tuple[str, ...]:
        return tuple(self.partition_queue(p) for p in range(max(1, self.partitions)))

    def queue_arguments(self) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "x-queue-type": "quorum",
            "x-dead-letter-exchange": self.commands_dlx,
            "x-delivery-limit": DELIVERY_LIMIT,
        }
        if self.partitions > 1:  # one worker at a time per partition: its commands stay in order
            arguments["x-single-active-consumer"] = True
        return arguments

    def binding_keys(self, partition: int) -> tuple[str, ...]:
        """What partition ``partition``'s queue is bound to on the command exchange."""
        if self.partitions <= 1:
            return ("#",)
        from contracts.catalogue import SPECS  # the catalogue imports far more than names need

        bare = tuple(sorted(SPECS)) if partition == 0 else ()
        return (f"p{partition}.#", *bare)

    @property
    def commands_dlx(self) -> str:
        return self._n("ledger.commands.dlx")

    @property
    def commands_dead_queue(self) -> str:
        return self._n("ledger.commands.dead")

    @property
    def events_exchange(self) -> str:
        return self._n("ledger.events")

    @property
    def log_stream(self) -> str:
        """The event log: a RabbitMQ stream of every event in position order (docs/topology.md)."""
        return self._n("ledger.events.log")

    @property
    def log_exchange(self) -> str:
        """The fanout exchange the relay publishes the log through (its only binding is the stream)."""
        return self._n("ledger.events.log")

    def definitions(self, vhost: str) -> dict[str, list[dict[str, Any]]]:
        """The same entities as RabbitMQ definitions (``rabbitmqctl import_definitions``, load at boot)."""
        quorum = {"x-queue-type": "quorum"}

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
                exchange(self.log_exchange, "fanout"),
            ],
            "queues": [
                *(queue(q, self.queue_arguments()) for q in self.command_queues),
                queue(self.commands_dead_queue, quorum),
                queue(self.log_stream, self.retention.arguments()),
            ],
            "bindings": [
                *(
                    binding(self.commands_exchange, q, key)
                    for p, q in enumerate(self.command_queues)
                    for key in self.binding_keys(p)
                ),
                binding(self.commands_dlx, self.commands_dead_queue, ""),
                binding(self.log_exchange, self.log_stream, ""),
            ],
        }

    async def declare_commands(self, channel: AbstractChannel) -> tuple[AbstractExchange, list[AbstractQueue]]:
        """Declare the command exchange, the workers' quorum queue(s) and the dead-letter path."""
        if not self.declare:
            exchange = await channel.declare_exchange(self.commands_exchange, passive=True)
            return exchange, [await channel.declare_queue(q, passive=True) for q in self.command_queues]
        dlx = await channel.declare_exchange(self.commands_dlx, aio_pika.ExchangeType.FANOUT, durable=True)
        dead = await channel.declare_queue(self.commands_dead_queue, durable=True, arguments={"x-queue-type": "quorum"})
        await dead.bind(dlx)
        exchange = await channel.declare_exchange(self.commands_exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        queues: list[AbstractQueue] = []
        for p, name in enumerate(self.command_queues):
            queue = await channel.declare_queue(name, durable=True, arguments=self.queue_arguments())
            for key in self.binding_keys(p):
                await queue.bind(exchange, routing_key=key)
            queues.append(queue)
        return exchange, queues

    async def declare_events(self, channel: AbstractChannel) -> AbstractExchange:
        """Declare the durable topic exchange subscribers bind their queues to."""
        if not self.declare:
            return await channel.declare_exchange(self.events_exchange, passive=True)
        return await channel.declare_exchange(self.events_exchange, aio_pika.ExchangeType.TOPIC, durable=True)

    async def declare_log(self, channel: AbstractChannel) -> AbstractExchange:
        """Declare the log's fanout exchange and the stream bound to it (passively: only check both exist)."""
        if not self.declare:
            await channel.declare_queue(self.log_stream, passive=True)
            return await channel.declare_exchange(self.log_exchange, passive=True)
        exchange = await channel.declare_exchange(self.log_exchange, aio_pika.ExchangeType.FANOUT, durable=True)
        stream = await channel.declare_queue(self.log_stream, durable=True, arguments=self.retention.arguments())
        await stream.bind(exchange)
        return exchange
