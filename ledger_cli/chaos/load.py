"""The load: AMQP publishers and HTTP clients that behave like careful real clients, and what they got.

- An AMQP publisher publishes with confirms straight onto ``ledger.commands``; a publish that fails or
  is not confirmed in time is published again with the same command id, until it is confirmed.
- An HTTP client POSTs with an Idempotency-Key; on a 5xx, a timeout or a connection error it retries
  with the same key (backing off), follows a 202 by polling ``GET /v1/commands/{key}``, and records
  the answer it finally got.

:class:`Tally` is everything the clients saw; the checker compares it with the ledger.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import httpx
from aio_pika.abc import AbstractConnection, AbstractExchange
from aio_pika.exceptions import DeliveryError

from ledger_common.amqp import connect, is_broker_transient
from ledger_common.settings import Settings

log = logging.getLogger("ledger.chaos")

CONFIRM_TIMEOUT = 10.0
HTTP_TIMEOUT = 15.0
GIVE_UP_AFTER = 120.0  # seconds a client keeps retrying one request before it gives up


@dataclass(frozen=True)
class Answer:
    """The final answer to one HTTP request: ``applied``, ``refused`` (with the code) or ``rejected``."""

    status: int
    outcome: str
    code: str | None = None


@dataclass
class Tally:
    sent: Counter[str] = field(default_factory=Counter)  # "amqp"/"http" -> messages sent (copies count)
    kinds: Counter[str] = field(default_factory=Counter)  # command / duplicate / malformed_amqp / ...
    attempted: set[str] = field(default_factory=set)  # valid command ids the load began to send
    confirmed: set[str] = field(default_factory=set)  # command ids the broker confirmed
    unconfirmed: set[str] = field(default_factory=set)  # ids a publisher gave up on
    republished: int = 0
    answers: dict[str, list[Answer]] = field(default_factory=dict)  # Idempotency-Key -> final answers
    unanswered: set[str] = field(default_factory=set)  # keys a client gave up on
    http_statuses: Counter[str] = field(default_factory=Counter)  # every response or transport error
    http_retries: int = 0
    malformed_amqp: set[str] = field(default_factory=set)  # message ids of confirmed malformed bodies
    malformed_amqp_sent: set[str] = field(default_factory=set)  # confirmed or not
    malformed_http: list[tuple[str, int]] = field(default_factory=list)  # (case, final status)
    unavailable_at: list[float] = field(default_factory=list)  # monotonic times of 503s and transport errors

    def answer(self, key: str, answer: Answer) -> None:
        self.answers.setdefault(key, []).append(answer)


class Publisher:
    """One broker connection (through the proxy) publishing confirmed commands; reconnects on failure."""

    def __init__(self, settings: Settings, name: str, tally: Tally) -> None:
        self._settings = settings
        self._name = name
        self._tally = tally
        self._topology = settings.topology
        self._connection: AbstractConnection | None = None
        self._exchange: AbstractExchange | None = None
        self._lock = asyncio.Lock()

    async def _ensure(self) -> AbstractExchange:
        async with self._lock:
            if self._exchange is None or self._connection is None or self._connection.is_closed:
                self._connection = await connect(self._settings, self._name)
                channel = await self._connection.channel(publisher_confirms=True)
                self._exchange, _ = await self._topology.declare_commands(channel)
            return self._exchange

    async def _drop(self, broken: AbstractExchange) -> None:
        async with self._lock:
            if self._exchange is broken and self._connection is not None:
                connection, self._connection, self._exchange = self._connection, None, None
                try:
                    await asyncio.wait_for(connection.close(), 5)
                except Exception:  # already broken; we only want it gone
                    log.debug("closing a broken publisher connection failed", exc_info=True)

    async def publish(self, body: bytes, *, routing_key: str, message_id: str) -> bool:
        """Publish until the broker confirms it (a re-publish carries the same message/command id).

        Returns False if no attempt was confirmed within ``GIVE_UP_AFTER`` seconds.
        """
        delay = 0.05
        deadline = time.monotonic() + GIVE_UP_AFTER
        while time.monotonic() < deadline:
            exchange = await self._ensure()
            message = aio_pika.Message(
                body,
                content_type="application/json",
                message_id=message_id,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                user_id=self._settings.amqp_user,
            )
            try:
                await exchange.publish(message, routing_key=routing_key, timeout=CONFIRM_TIMEOUT)
                return True
            except Exception as exc:
                if not (isinstance(exc, (TimeoutError, DeliveryError)) or is_broker_transient(exc)):
                    raise
                self._tally.republished += 1
                await self._drop(exchange)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        return False

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()


class HttpClient:
    """One HTTP client of the gateway that retries like a well-behaved real client."""

    def __init__(self, base_url: str, token: str, tally: Tally) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url, timeout=HTTP_TIMEOUT, headers={"Authorization": f"Bearer {token}"}
        )
        self._tally = tally

    async def close(self) -> None:
        await self._http.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        try:
            r = await self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            self._tally.http_statuses[type(exc).__name__] += 1
            self._tally.unavailable_at.append(time.monotonic())
            return None
        self._tally.http_statuses[str(r.status_code)] += 1
        if r.status_code == 503:
            self._tally.unavailable_at.append(time.monotonic())
        return r

    async def send(self, path: str, body: dict[str, Any], key: str | None) -> Answer | None:
        """POST until a final answer (not 5xx, not a transport error); None if it never came."""
        headers = {"Idempotency-Key": key} if key is not None else {}
        deadline = time.monotonic() + GIVE_UP_AFTER
        delay = 0.1
        while time.monotonic() < deadline:
            r = await self._request("POST", path, json=body, headers=headers)
            if r is not None and r.status_code == 202 and key is not None:
                return await self._poll(key, deadline)
            if r is not None and r.status_code < 500:
                return _classify(r)
            self._tally.http_retries += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
        return None

    async def _poll(self, key: str, deadline: float) -> Answer | None:
        """After a 202: the command is queued; read its recorded outcome until it is there."""
        while time.monotonic() < deadline:
            r = await self._request("GET", f"/v1/commands/{key}")
            if r is not None and r.status_code == 200:
                result = r.json()
                return Answer(200, str(result["status"]), result.get("refusal"))
            await asyncio.sleep(0.25)
        return None


def _classify(r: httpx.Response) -> Answer:
    if r.status_code in (200, 201):
        return Answer(r.status_code, "applied")
    body = r.json() if r.headers.get("content-type", "").endswith("json") else {}
    if isinstance(body, dict) and isinstance(body.get("result"), dict):  # a business refusal
        return Answer(r.status_code, "refused", str(body.get("code")))
    return Answer(r.status_code, "rejected", str(body.get("code")) if isinstance(body, dict) else None)
