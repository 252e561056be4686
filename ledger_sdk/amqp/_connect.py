"""A connection the helper owns (opened from a URL, closed on exit) or one the caller lent it (left open)."""

from __future__ import annotations

import aio_pika
from aio_pika.abc import AbstractConnection


class Borrowed:
    """Opens a robust connection from a URL, or uses the caller's; closes only what it opened.

    Robust: after a broker restart aio-pika reconnects and restores the channel, queues and consumers,
    so a long-running publisher or subscriber does not have to.
    """

    def __init__(self, url_or_connection: str | AbstractConnection) -> None:
        self._given = url_or_connection
        self._owned: AbstractConnection | None = None

    async def open(self) -> AbstractConnection:
        if not isinstance(self._given, str):
            return self._given
        self._owned = await aio_pika.connect_robust(self._given)
        return self._owned

    async def close(self) -> None:
        if self._owned is not None:
            owned, self._owned = self._owned, None
            await owned.close()
