"""``ledger bench``: push transfers through a running system; print throughput and latency percentiles.

Closed loop, ``--concurrency`` transfers in flight:

- ``amqp``: a lane publishes a ``TransferCommand`` (publisher confirms, no reply) and waits for the
  payee's ``account.credited`` event on our own subscriber queue, i.e. through worker, commit,
  outbox and relay. Latency = event arrival - publish.
- ``http``: a lane POSTs ``/v1/transfers`` and waits for the synchronous response; the events are
  collected alongside, so both request->response and command->event latency are reported.

Accounts are opened in a currency of their own (``BNC``) so benchmark money never mixes with
anything else; every command id carries a per-run prefix.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aio_pika
import httpx
import orjson
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractIncomingMessage

from contracts.commands import Command, DepositCommand, OpenAccountCommand, TransferCommand
from ledger_common.amqp import connect
from ledger_common.settings import Settings

CURRENCY = "BNC"
FUNDING = 10**12  # minor units per account: transfers of at most MAX_TRANSFER never run short
MAX_TRANSFER = 500
EVENT_TIMEOUT = 60.0  # seconds to wait for an event before giving up on it
CREDITED = "account.credited"
#: account.credited is what we measure; opened/refused let setup and refusals finish without a timeout.
ROUTING_KEYS = (CREDITED, "account.opened", "command.refused")
HEADER = (
    f"{'scenario':<24} {'n':>6} {'secs':>6} {'per sec':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
    f" {'max ms':>8} {'refused':>7} {'failed':>7}"
)


class _Subscriber:
    """Resolves one future per expected command id with the routing key of its first event."""

    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[str]] = {}
        self.arrived: dict[str, float] = {}

    def expect(self, command_id: str) -> asyncio.Future[str]:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiting[command_id] = future
        return future

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        now = time.perf_counter()
        command_id = str(orjson.loads(message.body)["command_id"])
        future = self._waiting.pop(command_id, None)  # duplicates and other clients' events: ignored
        if future is not None and not future.done():
            self.arrived[command_id] = now
            future.set_result(message.routing_key or "")


@dataclass
class _Scenario:
    """What one scenario sent and got back; times are ``time.perf_counter()`` values."""

    sent: dict[str, float] = field(default_factory=dict)
    outcomes: dict[str, asyncio.Future[str]] = field(default_factory=dict)
    responses: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


def _pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * p / 100) - 1)] * 1000


def _row(name: str, n: int, seconds: float, lat: list[float], refused: int, failed: int) -> str:
    rate = n / seconds if seconds > 0 else 0.0
    pcts = " ".join(f"{_pct(lat, p):>8.1f}" for p in (50, 95, 99, 100))
    return f"{name:<24} {n:>6} {seconds:>6.1f} {rate:>8.0f} {pcts} {refused:>7} {failed:>7}"


async def _closed_loop(n: int, concurrency: int, one: Callable[[int], Awaitable[bool]]) -> float:
    """Run ``one(i)`` for each i < n on ``concurrency`` lanes; a False return stops every lane."""
    todo = iter(range(n))
    stop = False

    async def lane() -> None:
        nonlocal stop
        for i in todo:
            if stop:
                return
            if not await one(i):
                stop = True

    start = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(max(1, concurrency))))
    return time.perf_counter() - start


async def _settle(futures: Iterable[asyncio.Future[str]], timeout: float) -> None:
    pending = [f for f in futures if not f.done()]
    if pending:
        await asyncio.wait(pending, timeout=timeout)


def _envelope(command_id: str) -> dict[str, object]:
    return {"command_id": command_id, "issued_at": datetime.now(UTC), "principal": "bench"}


def _message(cmd: Command) -> aio_pika.Message:
    return aio_pika.Message(
        cmd.model_dump_json().encode(),
        content_type="application/json",
        message_id=cmd.command_id,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )


async def _publish_all(exchange: AbstractExchange, subscriber: _Subscriber, cmds: list[Command]) -> list[str]:
    """Publish (confirmed) and wait for each command's first event; return the ids that failed."""
    futures = {c.command_id: subscriber.expect(c.command_id) for c in cmds}
    await asyncio.gather(*(exchange.publish(_message(c), routing_key=c.type) for c in cmds))
    await _settle(futures.values(), EVENT_TIMEOUT)
    return [cid for cid, f in futures.items() if not f.done() or f.result() == "command.refused"]


async def _setup_accounts(exchange: AbstractExchange, subscriber: _Subscriber, run: str, count: int) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(count)]
    opens: list[Command] = [
        OpenAccountCommand.model_validate(
            {**_envelope(f"{run}-open-{i}"), "payload": {"account_id": a, "currency": CURRENCY}}
        )
        for i, a in enumerate(ids)
    ]
    if failed := await _publish_all(exchange, subscriber, opens):
        raise SystemExit(f"{len(failed)} of {count} accounts not opened (e.g. {failed[0]}); is the system running?")
    deposits: list[Command] = [
        DepositCommand.model_validate(
            {
                **_envelope(f"{run}-fund-{i}"),
                "payload": {"account_id": a, "amount": FUNDING, "currency": CURRENCY},
            }
        )
        for i, a in enumerate(ids)
    ]
    if failed := await _publish_all(exchange, subscriber, deposits):
        raise SystemExit(f"{len(failed)} of {count} deposits not credited (e.g. {failed[0]})")
    return ids


def _transfer_body(accounts: list[str]) -> dict[str, object]:
    debit, credit = random.sample(accounts, 2)
    return {
        "debit_account_id": debit,
        "credit_account_id": credit,
        "amount": random.randint(1, MAX_TRANSFER),
        "currency": CURRENCY,
    }


async def _amqp(
    exchange: AbstractExchange, subscriber: _Subscriber, accounts: list[str], run: str, args: argparse.Namespace
) -> _Scenario:
    s = _Scenario()

    async def one(i: int) -> bool:
        cmd = TransferCommand.model_validate({**_envelope(f"{run}-amqp-{i}"), "payload": _transfer_body(accounts)})
        future = s.outcomes[cmd.command_id] = subscriber.expect(cmd.command_id)
        s.sent[cmd.command_id] = time.perf_counter()
        await exchange.publish(_message(cmd), routing_key=cmd.type)
        await _settle([future], EVENT_TIMEOUT)
        return future.done()  # a lost event stops the run instead of stalling every lane in turn

    s.seconds = await _closed_loop(args.transfers, args.concurrency, one)
    return s


async def _post(http: httpx.AsyncClient, s: _Scenario, key: str, body: dict[str, object]) -> None:
    for _ in range(3):  # a transport error is retried with the same key, as clients should
        try:
            r = await http.post("/v1/transfers", json=body, headers={"Idempotency-Key": key})
        except httpx.TransportError as exc:
            s.statuses[type(exc).__name__] += 1
            continue
        s.responses.append(time.perf_counter() - s.sent[key])
        s.statuses[str(r.status_code)] += 1
        return


async def _http(
    subscriber: _Subscriber, accounts: list[str], run: str, settings: Settings, a: argparse.Namespace
) -> _Scenario:
    s = _Scenario()
    url = a.url or f"http://{settings.http_host}:{settings.http_port}"
    auth = {"Authorization": f"Bearer {settings.service_api_key.get_secret_value()}"}
    limits = httpx.Limits(max_connections=a.concurrency, max_keepalive_connections=a.concurrency)

    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits, headers=auth) as http:

        async def one(i: int) -> bool:
            key = f"{run}-http-{i}"
            s.outcomes[key] = subscriber.expect(key)
            s.sent[key] = time.perf_counter()
            await _post(http, s, key, _transfer_body(accounts))
            return True

        s.seconds = await _closed_loop(a.transfers, a.concurrency, one)
    await _settle(s.outcomes.values(), EVENT_TIMEOUT)
    return s


def _event_row(name: str, s: _Scenario, subscriber: _Subscriber) -> str:
    done = {k: f.result() for k, f in s.outcomes.items() if f.done()}
    lat = [subscriber.arrived[k] - s.sent[k] for k, kind in done.items() if kind == CREDITED]
    refused = sum(1 for kind in done.values() if kind != CREDITED)
    return _row(name, len(s.sent), s.seconds, lat, refused, len(s.sent) - len(done)) + "  (failed = no event)"


def _http_row(s: _Scenario) -> str:
    ok = s.statuses["200"] + s.statuses["201"]
    refused = sum(v for k, v in s.statuses.items() if k.startswith("4"))
    failed = len(s.sent) - ok - refused
    return (
        _row("http request->response", len(s.sent), s.seconds, s.responses, refused, failed) + f"  {dict(s.statuses)}"
    )


async def _declare(channel: AbstractChannel, settings: Settings, subscriber: _Subscriber) -> None:
    exchange = await settings.topology.declare_events(channel)
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    for key in ROUTING_KEYS:
        await queue.bind(exchange, routing_key=key)
    await queue.consume(subscriber.on_message, no_ack=True)


async def _run(
    settings: Settings, args: argparse.Namespace, subscriber: _Subscriber, commands: AbstractExchange
) -> None:
    run = f"bench-{uuid.uuid4().hex[:8]}"
    accounts = await _setup_accounts(commands, subscriber, run, args.accounts)
    print(
        f"run {run}: {args.transfers} transfers per scenario, {args.accounts} accounts, concurrency {args.concurrency}"
    )
    print(HEADER)
    if args.mode in ("amqp", "both"):
        print(_event_row("amqp command->event", await _amqp(commands, subscriber, accounts, run, args), subscriber))
    if args.mode in ("http", "both"):
        s = await _http(subscriber, accounts, run, settings, args)
        print(_http_row(s))
        print(_event_row("http command->event", s, subscriber))


async def bench(settings: Settings, args: argparse.Namespace) -> int:
    """Run the chosen scenarios against the system configured by the environment."""
    if args.accounts < 2:
        raise SystemExit("--accounts must be at least 2")
    subscriber = _Subscriber()
    connection = await connect(settings, "bench")
    try:
        await _declare(await connection.channel(), settings, subscriber)
        publisher = await connection.channel(publisher_confirms=True)
        commands, _ = await settings.topology.declare_commands(publisher)
        await _run(settings, args, subscriber, commands)
    finally:
        await connection.close()
    return 0
