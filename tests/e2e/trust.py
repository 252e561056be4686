"""Helpers for the trust-boundary tests (tests/e2e/test_trust_*.py): an AMQP publisher that waits for
each reply, isolated systems with small pools, a publisher's capabilities, the HTTP call of a key.

An isolated system (fixture ``isolated``) has its own ``broker_publishers`` table: a test there may give
the broker user of ``AMQP_URL`` (``guest``) any scopes and wallet and publish WITHOUT a body
``principal`` to act as ``amqp:guest`` with them. In the session system that row is everybody's.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import aio_pika
import asyncpg
import httpx
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)

from contracts.keys import Scope
from contracts.results import CommandResult
from ledger_cli.processes import Processes
from ledger_common import publishers
from ledger_common.db import connect
from ledger_common.settings import Settings

#: Every process a trust test starts itself runs with a small pool: the database is shared by everyone.
SMALL_POOL = {"DB_POOL_SIZE": "3"}

#: The refusals about the caller (contracts.results.Refusal), recorded by the worker: HTTP 403.
CALLER_REFUSALS = frozenset(
    {
        "forbidden_principal",
        "key_revoked",
        "forbidden_scope",
        "unbound_key_required",
        "forbidden_party",
        "reserved_command_id",
    }
)
#: The gateway's own early 403 answers (a scope the route needs, a wallet the key is not bound to).
GATEWAY_REFUSALS = frozenset({"forbidden", "wrong_wallet"})


def start(procs: Processes, *names: str, env: dict[str, str] | None = None) -> None:
    """Start ``names`` (worker, gateway, relay) of an isolated system, each with a small pool."""
    for name in names:
        procs.start(name, env={**SMALL_POOL, **(env or {})})


def service(procs: Processes) -> httpx.AsyncClient:
    """A client of ``procs``' gateway with the bootstrap service key."""
    token = procs.settings.service_api_key.get_secret_value()
    return httpx.AsyncClient(base_url=procs.base_url, timeout=60, headers={"Authorization": f"Bearer {token}"})


def as_key(key: dict[str, Any]) -> dict[str, str]:
    """Headers of a request made with ``key`` (a creation response) and a fresh Idempotency-Key."""
    return {"Authorization": f"Bearer {key['secret']}", "Idempotency-Key": uuid.uuid4().hex}


async def grant(settings: Settings, scopes: Iterable[Scope], wallet_id: UUID | str | None = None) -> None:
    """Make the broker user of ``settings`` a publisher with exactly ``scopes`` (and ``wallet_id``).

    Only in a system of the test's own (``isolated``): the worker reads the row with its next batch.
    """
    conn = await connect(settings.database_url.get_secret_value())
    try:
        wallet = UUID(str(wallet_id)) if wallet_id is not None else None
        await publishers.grant(conn, settings.amqp_user, scopes, wallet_id=wallet)
    finally:
        await conn.close()


async def unregister(settings: Settings) -> None:
    """Remove the broker user of ``settings`` from the publishers (isolated systems only)."""
    conn = await connect(settings.database_url.get_secret_value())
    try:
        await publishers.revoke(conn, settings.amqp_user)
    finally:
        await conn.close()


class Publisher:
    """Publishes commands as the broker user of ``settings`` (``user_id`` set, as RabbitMQ checks it)
    with ``reply_to``, and waits for each reply, like an upstream service."""

    def __init__(self, connection: AbstractRobustConnection, settings: Settings) -> None:
        self._connection, self._settings = connection, settings
        self._waiting: dict[str, asyncio.Future[CommandResult]] = {}
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._replies: AbstractQueue | None = None

    async def start(self) -> Publisher:
        self._channel = await self._connection.channel(publisher_confirms=True)
        self._exchange, _ = await self._settings.topology.declare_commands(self._channel)
        self._replies = await self._channel.declare_queue(exclusive=True, auto_delete=True)
        await self._replies.consume(self._on_reply, no_ack=True)
        return self

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        future = self._waiting.pop(message.correlation_id or "", None)
        if future is not None and not future.done():
            future.set_result(CommandResult.model_validate_json(message.body))

    async def publish(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        command_id: str | None = None,
        principal: str | None = None,
    ) -> asyncio.Future[CommandResult]:
        """Publish one command; the future is its reply. No ``principal``: the body claims nobody, so the
        command is the broker user's own (``amqp:<user>``)."""
        assert self._exchange is not None and self._replies is not None, "start() first"
        command_id = command_id or f"trust-{uuid.uuid4().hex}"
        body: dict[str, Any] = {
            "command_id": command_id,
            "type": kind,
            "issued_at": datetime.now(UTC).isoformat(),
            "payload": payload,
        }
        if principal is not None:
            body["principal"] = principal
        correlation = uuid.uuid4().hex  # two commands may share a command id (two callers' keys)
        future = self._waiting[correlation] = asyncio.get_running_loop().create_future()
        message = aio_pika.Message(
            json.dumps(body, default=str).encode(),
            content_type="application/json",
            correlation_id=correlation,
            reply_to=self._replies.name,
            user_id=self._settings.amqp_user,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await self._exchange.publish(message, routing_key=kind)
        return future

    async def send(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        command_id: str | None = None,
        principal: str | None = None,
        timeout: float = 30.0,
    ) -> CommandResult:
        future = await self.publish(kind, payload, command_id=command_id, principal=principal)
        return await asyncio.wait_for(future, timeout)

    async def send_all(
        self, commands: Sequence[tuple[str, dict[str, Any], str]], *, timeout: float = 60.0
    ) -> list[CommandResult]:
        """Publish ``(type, payload, command_id)`` each (as the broker user's own), then wait for every reply."""
        futures = [await self.publish(kind, payload, command_id=cid) for kind, payload, cid in commands]
        return list(await asyncio.wait_for(asyncio.gather(*futures), timeout))


async def recorded(pool: asyncpg.Pool, principal: str, command_id: str) -> CommandResult | None:
    """The outcome the worker recorded for ``(principal, command_id)``, if any."""
    row = await pool.fetchrow(
        "SELECT result FROM commands WHERE principal = $1 AND command_id = $2", principal, command_id
    )
    return None if row is None else CommandResult.model_validate(row["result"])
