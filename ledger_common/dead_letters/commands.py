"""Dead-lettered commands in the ``ledger.commands.dead`` queue: read without consuming, replay, purge.

AMQP 0.9.1 has no "peek", so a scan takes every message with ``basic.get`` *without* ack on one
channel and closing that channel hands them all back. The scan always runs to the end of the queue:
the broker puts returned messages at the tail in delivery order, so returning the whole queue keeps
its order, while returning only a prefix would rotate it. Each scan raises the quorum queue's
``x-delivery-count``; the attempt count shown is therefore taken from ``x-death``, never from it.

Replay and purge settle only the messages they select, on that same channel: a replayed message is
acked only after the broker confirmed its copy on ``ledger.commands``. A crash in between leaves the
dead copy in place, and replaying it again is harmless because commands are idempotent by id.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage

from contracts.topology import DEAD_LETTER_REASON_HEADER, DELIVERY_LIMIT, ORIGINAL_ROUTING_KEY_HEADER
from ledger_common.amqp import connect_url
from ledger_common.dead_letters.model import DeadLetter, plain, preview
from ledger_common.intake import Undecodable, decode
from ledger_common.settings import Settings

#: Where the worker's dead copy keeps the publisher's ``user_id`` (ledger_worker/consumer.py).
ORIGINAL_USER_HEADER = "x-ledger-original-user-id"
#: Set on a replayed command, so a copy that dies again shows it was already replayed once.
REPLAYED_HEADER = "x-ledger-replayed"
#: Bookkeeping of the previous death, not part of the command: dropped when replaying.
_DEATH_HEADERS = {DEAD_LETTER_REASON_HEADER, ORIGINAL_ROUTING_KEY_HEADER, "x-death", "x-delivery-count"}
#: A scan stops here even if publishers keep the queue growing; the rest waits for the next run.
MAX_SCAN = 100_000


@dataclass(frozen=True)
class Outcome:
    done: list[DeadLetter]
    skipped: list[tuple[DeadLetter, str]]


def message_key(message: AbstractIncomingMessage) -> str:
    """The id an operator types: the AMQP ``message_id``, or a digest of the body when there is none."""
    if message.message_id:
        return message.message_id
    return "sha256:" + hashlib.sha256(message.body).hexdigest()[:16]


def original_routing_key(headers: dict[str, Any], current: str | None) -> str:
    """The key it was first published with: our header, else the broker's ``x-death``, else ``current``."""
    if rk := headers.get(ORIGINAL_ROUTING_KEY_HEADER):
        return str(plain(rk))
    for death in _deaths(headers):
        keys = death.get("routing-keys") or []
        if keys:
            return str(plain(keys[0]))
    return current or ""


def describe(message: AbstractIncomingMessage, *, detail: bool = False) -> DeadLetter:
    headers = message.headers or {}
    extra: dict[str, Any] = {}
    if detail:
        extra = {
            "headers": plain(dict(headers)),
            "content_type": message.content_type,
            "correlation_id": message.correlation_id,
            "reply_to": message.reply_to,
            "timestamp": plain(message.timestamp),
            "exchange": message.exchange,
        }
    return DeadLetter(
        source="commands",
        id=message_key(message),
        routing_key=original_routing_key(headers, message.routing_key),
        reason=reason(headers),
        attempts=attempts(headers),
        size=len(message.body),
        body=preview(message.body, 1024 if detail else 48),
        extra=extra,
        dead_at=_died_at(headers),
        published_by=publisher(message),
    )


def publisher(message: AbstractIncomingMessage) -> str | None:
    """The broker user that first published it: the worker's copy names it in a header (the copy is the
    worker's own publish), a copy the broker dead-lettered keeps the ``user_id``."""
    original = plain((message.headers or {}).get(ORIGINAL_USER_HEADER))
    return str(original) if original else message.user_id


def _died_at(headers: dict[str, Any]) -> str | None:
    deaths = _deaths(headers)
    when = plain(deaths[0].get("time")) if deaths else None  # the newest death first
    return when if isinstance(when, str) else None


def _deaths(headers: dict[str, Any]) -> list[dict[str, Any]]:
    deaths = headers.get("x-death")
    return [d for d in deaths if isinstance(d, dict)] if isinstance(deaths, list) else []


def reason(headers: dict[str, Any]) -> str:
    """The worker's reason header, else what the broker recorded in ``x-death``."""
    if given := headers.get(DEAD_LETTER_REASON_HEADER):
        return str(plain(given))
    deaths = _deaths(headers)
    if deaths:
        last = deaths[0]  # x-death lists the newest death first
        return f"broker: {plain(last.get('reason'))} in {plain(last.get('queue'))}"
    return "unknown (no reason header)"


def attempts(headers: dict[str, Any]) -> int:
    """Deliveries that failed: a delivery-limit death stands for DELIVERY_LIMIT + 1 deliveries."""
    total = 0
    for death in _deaths(headers):
        count = int(death.get("count") or 1)
        total += count * (DELIVERY_LIMIT + 1) if death.get("reason") == "delivery_limit" else count
    return max(total, 1)


@asynccontextmanager
async def _session(settings: Settings) -> AsyncIterator[tuple[AbstractConnection, list[AbstractIncomingMessage]]]:
    """Hold every dead command unacked for the duration of the block; closing returns the unsettled."""
    url, name = settings.amqp_url.get_secret_value(), f"{settings.ledger_namespace}dlq"
    connection = await connect_url(url, name, retry=False)  # any node of a cluster
    try:
        channel = await connection.channel(publisher_confirms=False)
        held = await _take_all(channel, settings.topology.commands_dead_queue)
        yield connection, held
        await channel.close()
    finally:
        await connection.close()


async def _take_all(channel: AbstractChannel, queue_name: str) -> list[AbstractIncomingMessage]:
    try:
        queue = await channel.get_queue(queue_name, ensure=True)
    except aio_pika.exceptions.ChannelNotFoundEntity:
        return []  # never declared: nothing was ever dead-lettered
    held: list[AbstractIncomingMessage] = []
    while len(held) < MAX_SCAN:
        message = await queue.get(no_ack=False, fail=False, timeout=15)
        if message is None:
            break
        held.append(message)
    return held


async def count(connection: AbstractConnection, queue_name: str) -> int:
    """How many dead commands wait, from a passive declare (needs no permission on the queue), on a
    channel of its own: asking for a queue that does not exist closes the channel it is asked on."""
    async with connection.channel(publisher_confirms=False) as channel:
        try:
            queue = await channel.declare_queue(queue_name, passive=True)
        except aio_pika.exceptions.ChannelNotFoundEntity:
            return 0  # never declared: nothing was ever dead-lettered
        return queue.declaration_result.message_count or 0


async def scan(settings: Settings, *, detail: bool = False) -> list[DeadLetter]:
    """Every dead command, in queue order; nothing is consumed."""
    async with _session(settings) as (_, held):
        return [describe(m, detail=detail) for m in held]


def _replay_copy(message: AbstractIncomingMessage, user: str) -> aio_pika.Message:
    """The dead command as first published, sent again as ``user`` (the operator's broker user: RabbitMQ
    accepts no other ``user_id``, so the replayed command is identified as sent by the operator)."""
    headers = {k: v for k, v in (message.headers or {}).items() if k not in _DEATH_HEADERS}
    headers = {k: v for k, v in headers.items() if not k.startswith(("x-first-death-", "x-last-death-"))}
    headers[REPLAYED_HEADER] = True
    return aio_pika.Message(
        message.body,
        headers=headers,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        message_id=message.message_id,
        correlation_id=message.correlation_id,
        reply_to=message.reply_to,
        type=message.type,
        timestamp=message.timestamp,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        user_id=user,
    )


async def replay(
    settings: Settings,
    select: Callable[[str], bool],
    *,
    force: bool = False,
    only_from: frozenset[str] | None = None,
) -> Outcome:
    """Republish the selected dead commands to ``ledger.commands`` (confirmed), then ack each dead copy.

    A body that still does not decode would only die again: it is skipped unless ``force``. With
    ``only_from``, a command first published by another broker user (or without ``user_id``) is skipped:
    the copy goes out as this process's user, and a gateway user's copy is trusted to name its principal
    in the body, which the original publisher was not (the gateway passes its trusted users here).
    """
    done: list[DeadLetter] = []
    skipped: list[tuple[DeadLetter, str]] = []
    async with _session(settings) as (connection, held):
        publish_channel = await connection.channel(publisher_confirms=True)
        exchange = await publish_channel.get_exchange(settings.topology.commands_exchange, ensure=True)
        for message in held:
            if not select(message_key(message)):
                continue
            if only_from is not None and publisher(message) not in only_from:
                skipped.append((describe(message), f"first published by broker user {publisher(message)!r}"))
                continue
            if not force:
                try:
                    decode(message.body, message.content_type)
                except Undecodable as exc:
                    skipped.append((describe(message), exc.reason))
                    continue
            # mandatory: an unroutable copy raises instead of vanishing, and the dead copy stays.
            await exchange.publish(
                _replay_copy(message, settings.amqp_user),
                routing_key=original_routing_key(message.headers or {}, message.routing_key),
                mandatory=True,
            )
            await message.ack()
            done.append(describe(message))
        await publish_channel.close()
    return Outcome(done, skipped)


async def purge(settings: Settings, select: Callable[[str], bool]) -> Outcome:
    """Remove the selected dead commands for good."""
    done: list[DeadLetter] = []
    async with _session(settings) as (_, held):
        for message in held:
            if select(message_key(message)):
                await message.ack()
                done.append(describe(message))
    return Outcome(done, [])
