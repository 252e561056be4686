"""Sends a plan through the AMQP publishers and HTTP clients, ``window`` messages in flight at a time.

Items are taken in plan order by ``window`` lanes, so AMQP and HTTP advance through the plan together
and the fault schedule's positions mean the same thing on every run. Before sending an item a lane
waits for the faults due at its position (``gate``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime

import orjson

from contracts.commands import parse_command
from contracts.partitions import routing_key
from ledger_cli.chaos import catalogue
from ledger_cli.chaos.catalogue import Spec, World
from ledger_cli.chaos.load import HttpClient, Publisher, Tally
from ledger_cli.chaos.plan import Item


def command_body(command_id: str, spec: Spec) -> bytes:
    """The AMQP command envelope for ``spec`` (the HTTP body is ``spec.payload`` alone)."""
    envelope = {
        "command_id": command_id,
        "type": spec.command_type,
        "issued_at": datetime.now(UTC).isoformat(),
        # The HTTP side calls as the run's service key: a duplicate sent over the other channel is the
        # same caller's retry (idempotency is per principal), which the run's own broker user may claim.
        "principal": "service",
        "payload": spec.payload,
    }
    return orjson.dumps(envelope)


class Driver:
    def __init__(
        self,
        *,
        world: World,
        publishers: list[Publisher],
        clients: list[HttpClient],
        tally: Tally,
        window: int,
        partitions: int = 1,
    ) -> None:
        self._partitions = partitions
        self._world = world
        self._publishers = publishers
        self._clients = clients
        self._tally = tally
        self._window = window

    async def run(
        self,
        items: tuple[Item, ...],
        *,
        gate: Callable[[int], Awaitable[None]] | None = None,
        deadline: float | None = None,
    ) -> bool:
        """Send ``items``; returns False if ``deadline`` (monotonic) stopped it before the end."""
        todo: Iterator[Item] = iter(items)
        capped = False

        async def lane(n: int) -> None:
            nonlocal capped
            for item in todo:
                if deadline is not None and time.monotonic() > deadline:
                    capped = True
                    return
                if gate is not None:
                    await gate(item.index)
                await self._send(item, n)

        await asyncio.gather(*(lane(n) for n in range(self._window)))
        return not capped

    async def _send(self, item: Item, lane: int) -> None:
        self._tally.kinds[item.kind] += 1
        self._tally.kinds["concurrent_duplicate"] += item.copies - 1
        self._tally.sent[item.channel] += item.copies
        if item.malformed is not None:
            await self._send_malformed(item, lane)
        else:
            await asyncio.gather(*(self._send_command(item, lane + copy) for copy in range(item.copies)))

    async def _send_command(self, item: Item, lane: int) -> None:
        spec = item.spec
        assert spec is not None
        self._tally.attempted.add(item.command_id)
        if item.channel == "amqp":
            publisher = self._publishers[lane % len(self._publishers)]
            body = command_body(item.command_id, spec)
            key = routing_key(parse_command(body), self._partitions)
            confirmed = await publisher.publish(body, routing_key=key, message_id=item.command_id)
            (self._tally.confirmed if confirmed else self._tally.unconfirmed).add(item.command_id)
            return
        client = self._clients[lane % len(self._clients)]
        answer = await client.send(spec.http_path, spec.payload, item.command_id)
        if answer is None:
            self._tally.unanswered.add(item.command_id)
        else:
            self._tally.answer(item.command_id, answer)

    async def _send_malformed(self, item: Item, lane: int) -> None:
        case = item.malformed
        assert case is not None
        account = self._world.accounts[item.index % len(self._world.accounts)]
        if item.channel == "amqp":
            body = catalogue.amqp_malformed(case, item.command_id, account)
            publisher = self._publishers[lane % len(self._publishers)]
            self._tally.malformed_amqp_sent.add(item.command_id)
            if await publisher.publish(body, routing_key="deposit", message_id=item.command_id):
                self._tally.malformed_amqp.add(item.command_id)
            return
        path, body_json, with_key = catalogue.http_malformed(case, account)
        client = self._clients[lane % len(self._clients)]
        answer = await client.send(path, body_json, item.command_id if with_key else None)
        self._tally.malformed_http.append((case, answer.status if answer is not None else 0))
