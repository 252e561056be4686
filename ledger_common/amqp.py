"""Broker connections, named per process, to one node of a cluster (``AMQP_URL`` may list several).

Each process supervises its own connection (reconnect, then declare and consume again) instead of
relying on aio-pika's robust channel restore, which was seen to leave a closed channel behind after
a forced close: a worker that silently stops consuming is worse than one that reconnects.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable

import aio_pika
from aio_pika.abc import AbstractConnection, AbstractIncomingMessage
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential_jitter

from contracts.errors import BrokerUnavailable, Bug, LedgerError
from contracts.nodes import address, node_urls
from ledger_common.settings import Settings
from ledger_sdk.amqp._connect import connect_node, is_closed

log = logging.getLogger("ledger")


#: Seconds one node may take to accept a connection before the next one is tried.
NODE_CONNECT_TIMEOUT = 5.0


async def connect(settings: Settings, role: str) -> AbstractConnection:
    """Connect to one of ``AMQP_URL``'s nodes, retrying with backoff until one answers."""
    return await connect_url(settings.amqp_url.get_secret_value(), f"{settings.ledger_namespace}{role}", role=role)


async def connect_url(url: str, name: str, *, role: str = "", retry: bool = True) -> AbstractConnection:
    """Connect to a node of ``url`` (one node or a cluster's, contracts/nodes.py), as connection ``name``.

    Each round tries every node once, from a random one on, so the processes of a deployment spread
    over the cluster and one lost node moves its clients to the others; a round that reaches none
    waits (jittered backoff) and starts again, until one answers (``retry=False``: raise instead).
    """
    urls = node_urls(url)
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type(_UNREACHABLE) if retry else retry_if_exception_type(()),
        wait=wait_exponential_jitter(multiplier=0.2, max=5.0, jitter=0.2),
        before_sleep=lambda s: log.warning("%s: no broker node reachable, retrying", role or name),
        reraise=True,
    ):
        with attempt:
            return await _first_reachable(urls, name, role or name)
    raise AssertionError("unreachable")


_UNREACHABLE = (ConnectionError, OSError, TimeoutError, aio_pika.exceptions.AMQPConnectionError)


async def _first_reachable(urls: tuple[str, ...], name: str, role: str) -> AbstractConnection:
    start = random.randrange(len(urls))  # spreads a deployment's connections over the nodes
    failed: BaseException | None = None
    for url in urls[start:] + urls[:start]:
        try:
            connection = await connect_node(
                url, client_properties={"connection_name": name}, timeout=NODE_CONNECT_TIMEOUT
            )
        except _UNREACHABLE as exc:
            failed = exc
            continue
        if len(urls) > 1:
            log.info("%s: connected to broker node %s", role, address(url))
        return connection
    assert failed is not None
    raise failed


def is_broker_transient(exc: BaseException) -> bool:
    """Broker errors that reconnecting fixes: lost connection or a channel closed under us."""
    return isinstance(
        exc,
        (
            BrokerUnavailable,
            aio_pika.exceptions.AMQPConnectionError,
            aio_pika.exceptions.ChannelInvalidStateError,
            aio_pika.exceptions.ChannelClosed,
            ConnectionError,
        ),
    )


def classify(exc: BaseException) -> LedgerError:
    """The tree's name for an error raised while using the broker.

    Ours pass unchanged; a lost connection or channel (:func:`is_broker_transient`) and a publish the
    broker nacked or returned (``DeliveryError``: the message may not be queued, and idempotency makes
    sending it again safe) become ``BrokerUnavailable``; anything else is a ``Bug``. The driver's
    error is the result's ``__cause__``.
    """
    if isinstance(exc, LedgerError):
        return exc
    transient = is_broker_transient(exc) or isinstance(exc, aio_pika.exceptions.DeliveryError)
    mapped: LedgerError = BrokerUnavailable(type(exc).__name__) if transient else Bug(type(exc).__name__)
    mapped.__cause__ = exc
    return mapped


def lost_with(connection: AbstractConnection, exc: BaseException) -> bool:
    """Whether ``exc`` is the broker connection's loss: a broker-transient error, or anything raised while
    ``connection`` is closed (``ledger_sdk.amqp._connect.is_closed``: aiormq raises a bare
    ``RuntimeError("... closed")`` for a channel asked of a connection that was just cut; seen crashing the
    relay in ``ledger chaos``'s ``cut_broker``)."""
    return is_closed(connection) or isinstance(classify(exc), BrokerUnavailable)


async def settle(message: AbstractIncomingMessage, *, ack: bool, requeue: bool = False) -> None:
    """Ack or nack; if the channel is gone the broker redelivers, which idempotency makes harmless."""
    try:
        if ack:
            await message.ack()
        else:
            await message.nack(requeue=requeue)
    except Exception as exc:
        log.warning("could not settle message %s (%s); it will be redelivered", message.delivery_tag, exc)


def connection_lost(connection: AbstractConnection) -> asyncio.Future[None]:
    """A future that completes when the connection closes, by us or by the broker.

    ``connection.closed()`` only completes on a local close; close callbacks also fire on a
    remote one (broker restart, forced close), which is the case we need to notice.
    """
    lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def _done(*_: object) -> None:
        if not lost.done():
            lost.set_result(None)

    connection.close_callbacks.add(_done)
    return lost


async def wait_first(*aws: Awaitable[object]) -> None:
    """Return when the first of ``aws`` completes; cancel the rest."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for t in tasks:
        t.cancel()
