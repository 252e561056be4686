"""Connections of the AMQP helpers: to one broker node or any of a cluster's, and owned or lent.

A URL may name several nodes, as the ledger's own ``AMQP_URL`` does (``contracts.nodes``):
``amqp://user:secret@mq1:5672,mq2:5672,mq3:5672/vhost``. Each connection tries them from a random one
on, so a reader that reconnects after losing its node lands on another.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import aio_pika
from aio_pika.abc import AbstractConnection

from contracts.nodes import node_urls

#: What a node that is down or unreachable raises on connecting.
UNREACHABLE = (aio_pika.exceptions.AMQPError, ConnectionError, OSError, asyncio.TimeoutError)


def is_closed(connection: AbstractConnection) -> bool:
    """Closed by us or cut by the broker. aio-pika learns of a cut through a callback a moment after aiormq
    sees it, and a channel asked in that moment raises a bare ``RuntimeError("... closed")`` (``ledger chaos``
    found it stopping the relay and a log reader), so aiormq's word counts too."""
    transport = connection.transport
    return connection.is_closed or transport is None or transport.connection.is_closed


def lost_with(connection: AbstractConnection, exc: BaseException) -> bool:
    """Whether ``exc`` is ``connection``'s loss (reconnect), not a bug: a broker or network error, or anything
    raised while the connection is closed."""
    return isinstance(exc, UNREACHABLE) or is_closed(connection)


async def connect_node(url: str, *, robust: bool = False, **kwargs: Any) -> AbstractConnection:
    """A connection to one node (``kwargs``: aio-pika's). aiormq raises ``StopAsyncIteration`` when the node
    closes the connection during the handshake, as a node being killed does (tests/e2e/test_cluster.py saw a
    worker exit on it): that is the node being unreachable, a ``ConnectionResetError``. Let through, a
    ``StopAsyncIteration`` ends whatever ``async for`` it reaches without a word (tenacity's retry loop)."""
    try:
        connection: AbstractConnection
        connection = await (aio_pika.connect_robust(url, **kwargs) if robust else aio_pika.connect(url, **kwargs))
        return connection
    except StopAsyncIteration as exc:
        raise ConnectionResetError("the broker node closed the connection during the handshake") from exc


async def connect_any(url: str, *, robust: bool = False) -> AbstractConnection:
    """A connection to the first node of ``url`` that answers (a robust one: aio-pika reconnects it)."""
    urls = node_urls(url)
    start = random.randrange(len(urls))
    failed: BaseException | None = None
    for node in urls[start:] + urls[:start]:
        try:
            return await connect_node(node, robust=robust)
        except UNREACHABLE as exc:
            failed = exc
    assert failed is not None
    raise failed


class Borrowed:
    """Opens a robust connection from a URL, or uses the caller's; closes only what it opened.

    Robust: after a broker restart aio-pika reconnects and restores the channel, queues and consumers,
    so a long-running publisher or subscriber does not have to. It reconnects to the node it first
    reached; a cluster's other nodes are tried when it is opened.
    """

    def __init__(self, url_or_connection: str | AbstractConnection) -> None:
        self._given = url_or_connection
        self._owned: AbstractConnection | None = None

    async def open(self) -> AbstractConnection:
        if not isinstance(self._given, str):
            return self._given
        self._owned = await connect_any(self._given, robust=True)
        return self._owned

    async def close(self) -> None:
        if self._owned is not None:
            owned, self._owned = self._owned, None
            await owned.close()
