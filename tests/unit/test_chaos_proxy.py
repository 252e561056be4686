"""The chaos proxy forwards bytes, cuts every connection at once, and stalls without losing anything."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from ledger_cli.chaos.proxy import Proxy


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(1024):
        writer.write(data)
        await writer.drain()
    writer.close()


async def test_forwards_cuts_and_stalls() -> None:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    proxy = Proxy("127.0.0.1", int(server.sockets[0].getsockname()[1]))
    await proxy.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"ping")
        assert await asyncio.wait_for(reader.readexactly(4), 5) == b"ping"

        # A stall far longer than the test, ended by the test: a busy machine cannot make it end early.
        stall = asyncio.create_task(proxy.stall(3600))
        await asyncio.sleep(0)  # the stall has begun
        writer.write(b"late")
        late = asyncio.create_task(reader.readexactly(4))
        await asyncio.sleep(0.2)
        assert not late.done()  # nothing comes through while stalled...
        stall.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stall
        assert await asyncio.wait_for(late, 5) == b"late"  # ...and nothing was lost
        await proxy.stall(0.01)  # a stall ends by itself
        writer.write(b"pong")
        assert await asyncio.wait_for(reader.readexactly(4), 5) == b"pong"

        assert proxy.cut() == 1
        with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
            await asyncio.wait_for(reader.readexactly(1), 5)
        writer.close()
    finally:
        await proxy.close()
        server.close()
