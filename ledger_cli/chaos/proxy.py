"""A loopback TCP proxy in front of RabbitMQ (one per node of a cluster), so faults hit only the run's own
broker connections.

The run's processes and publishers get an ``AMQP_URL`` pointing here. :meth:`Proxy.cut` drops every
connection at once (both sides see a reset, as in a broker failover or a network partition);
:meth:`Proxy.stall` stops forwarding bytes, in both directions and for new connections, for a while,
then resumes where it stopped (a congested or paused network: nothing is lost, everything is late).
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger("ledger.chaos")

_CHUNK = 64 * 1024


class Proxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._server: asyncio.Server | None = None
        self._open = asyncio.Event()
        self._open.set()
        self._pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0
        self.connections = 0

    @property
    def live(self) -> int:
        """Connections proxied right now."""
        return len(self._pairs)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self._open.set()
        self.cut()
        for task in list(self._tasks):
            task.cancel()

    def cut(self) -> int:
        """Reset every proxied connection now; returns how many were cut."""
        pairs = list(self._pairs)
        for client, upstream in pairs:
            for writer in (client, upstream):
                writer.transport.abort()
        self._pairs.clear()
        return len(pairs)

    async def stall(self, seconds: float) -> None:
        """Forward nothing for ``seconds``, then resume."""
        self._open.clear()
        try:
            await asyncio.sleep(seconds)
        finally:
            self._open.set()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._open.wait()
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        except OSError as exc:
            log.warning("proxy: broker unreachable (%s)", exc)
            writer.transport.abort()
            return
        pair = (writer, up_writer)
        self._pairs.add(pair)
        self.connections += 1
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pump(src, dst, pair))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(
        self,
        src: asyncio.StreamReader,
        dst: asyncio.StreamWriter,
        pair: tuple[asyncio.StreamWriter, asyncio.StreamWriter],
    ) -> None:
        try:
            while data := await src.read(_CHUNK):
                await self._open.wait()
                dst.write(data)
                await dst.drain()
            dst.close()  # the peer closed: pass the close on after what is buffered (e.g. close-ok)
        except (ConnectionError, OSError):
            for writer in pair:  # one side broke: reset the other so it does not wait half-open
                writer.transport.abort()
        finally:
            self._pairs.discard(pair)


class ProxyGroup:
    """One proxy per broker node (a cluster's, or the one broker), cut and stalled together."""

    def __init__(self, upstreams: list[tuple[str, int]]) -> None:
        self.proxies = [Proxy(host, port) for host, port in upstreams]

    @classmethod
    def joined(cls, *groups: ProxyGroup) -> ProxyGroup:
        """One group of every proxy of ``groups`` (to cut or stall them all at once)."""
        joined = cls([])
        joined.proxies = [p for g in groups for p in g.proxies]
        return joined

    @property
    def live(self) -> int:
        return sum(p.live for p in self.proxies)

    async def start(self) -> None:
        for proxy in self.proxies:
            await proxy.start()

    async def close(self) -> None:
        for proxy in self.proxies:
            await proxy.close()

    def cut(self) -> int:
        return sum(p.cut() for p in self.proxies)

    async def stall(self, seconds: float) -> None:
        await asyncio.gather(*(p.stall(seconds) for p in self.proxies))
