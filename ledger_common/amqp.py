"""Broker connections, named per process.

Each process supervises its own connection (reconnect, then declare and consume again) instead of
relying on aio-pika's robust channel restore, which was seen to leave a closed channel behind after
a forced close: a worker that silently stops consuming is worse than one that reconnects.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

import aio_pika
from aio_pika.abc import AbstractConnection, AbstractIncomingMessage
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential_jitter

from contracts.errors import BrokerUnavailable, Bug, LedgerError
from ledger_common.settings import Settings

log = logging.getLogger("ledger")


async def connect(settings: Settings, role: str) -> AbstractConnection:
    """Connect, retrying with backoff until the broker answers."""
    name = f"{settings.ledger_namespace}{role}"
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type((ConnectionError, OSError, aio_pika.exceptions.AMQPConnectionError)),
        wait=wait_exponential_jitter(multiplier=0.2, max=5.0, jitter=0.2),
        before_sleep=lambda s: log.warning("%s: broker unreachable, retrying", role),
    ):
        with attempt:
            return await aio_pika.connect(
                settings.amqp_url.get_secret_value(), client_properties={"connection_name": name}
            )
    raise AssertionError("unreachable")


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
