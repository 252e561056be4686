"""The checker's direct view of the run's queues: how many commands wait, and what was dead-lettered."""

from __future__ import annotations

import logging

from aio_pika.abc import AbstractChannel, AbstractConnection

from ledger_common.amqp import connect, is_broker_transient
from ledger_common.settings import Settings

log = logging.getLogger("ledger.chaos")


class BrokerProbe:
    """A connection of the checker's own (straight to the broker), re-made after a broker restart."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._topology = settings.topology
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None

    async def _open(self) -> AbstractChannel:
        if self._channel is None or self._channel.is_closed or self._connection is None or self._connection.is_closed:
            self._connection = await connect(self._settings, "chaos-checker")
            self._channel = await self._connection.channel()
        return self._channel

    async def commands_waiting(self) -> int:
        """Ready messages in the workers' command queue(s) (-1 if the broker cannot be asked right now)."""
        try:
            channel = await self._open()
            queues = [await channel.declare_queue(q, passive=True) for q in self._topology.command_queues]
        except Exception as exc:
            if not is_broker_transient(exc):
                raise
            self._channel = None
            return -1
        return sum(int(q.declaration_result.message_count or 0) for q in queues)

    async def drain_dead_letters(self) -> list[str]:
        """Take every message out of ``ledger.commands.dead``; returns their message ids (with repeats)."""
        channel = await self._open()
        queue = await channel.declare_queue(self._topology.commands_dead_queue, passive=True)
        ids: list[str] = []
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            ids.append(message.message_id or "")
        return ids

    async def close(self) -> None:
        if self._connection is not None and not self._connection.is_closed:
            await self._connection.close()
