"""``ledger bench``: push transfers through a running system; print throughput and latency percentiles.

Closed loop: ``--concurrency`` transfers in flight. Latency is measured from sending the command to
(a) its reply / HTTP response and (b) the payee's ``account.credited`` event arriving on our own
subscriber queue, i.e. through worker, commit, outbox and relay.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx
from aio_pika.abc import AbstractIncomingMessage

from contracts.commands import DepositCommand, OpenAccountCommand, TransferCommand
from contracts.events import parse_event
from http_gateway.bus import CommandBus
from ledger_common.amqp import connect
from ledger_common.settings import Settings

CURRENCY = "BNC"  # a currency of its own, so benchmark money never mixes with anything else


class _Events:
    """Arrival time of each command's account.credited event."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        self.arrived[parse_event(message.body).command_id] = time.perf_counter()

    async def wait(self, ids: set[str], timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        while not ids <= self.arrived.keys() and time.perf_counter() < deadline:  # noqa: ASYNC110 - polls a dict filled by callbacks
            await asyncio.sleep(0.05)


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000 if ordered else float("nan")


def _row(name: str, n: int, seconds: float, lat: list[float], failed: int) -> str:
    return (
        f"{name:<22} {n:>7} {seconds:>7.1f} {n / seconds:>9.0f} {_pct(lat, 50):>8.1f} {_pct(lat, 95):>8.1f}"
        f" {_pct(lat, 99):>8.1f} {_pct(lat, 100):>8.1f} {failed:>7}"
    )


async def _closed_loop(n: int, concurrency: int, one: Callable[[int], Awaitable[bool]]) -> tuple[float, int]:
    queue = iter(range(n))
    failed = 0

    async def lane() -> None:
        nonlocal failed
        for i in queue:
            ok = await one(i)  # awaited before touching the counter: `failed += await …` loses updates
            if not ok:
                failed += 1

    start = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return time.perf_counter() - start, failed


def _envelope(command_id: str) -> dict[str, object]:
    return {"command_id": command_id, "issued_at": datetime.now(UTC), "principal": "bench"}


async def _setup_accounts(bus: CommandBus, run: str, count: int) -> list[str]:
    accounts: list[str] = []

    async def open_one(i: int) -> bool:
        opened = await bus.send(
            OpenAccountCommand.model_validate({**_envelope(f"{run}-open-{i}"), "payload": {"currency": CURRENCY}}),
            timeout=30,
        )
        if opened is None or opened.account_id is None:
            return False
        accounts.append(str(opened.account_id))
        funded = await bus.send(
            DepositCommand.model_validate(
                {
                    **_envelope(f"{run}-fund-{i}"),
                    "payload": {"account_id": opened.account_id, "amount": 10**12, "currency": CURRENCY},
                }
            ),
            timeout=30,
        )
        return funded is not None and funded.status == "applied"

    _, failed = await _closed_loop(count, 16, open_one)
    if failed:
        raise SystemExit(f"could not set up {failed} accounts; are worker and relay running?")
    return accounts


def _transfer_body(accounts: list[str]) -> dict[str, object]:
    debit, credit = random.sample(accounts, 2)
    return {
        "debit_account_id": debit,
        "credit_account_id": credit,
        "amount": random.randint(1, 500),
        "currency": CURRENCY,
    }


async def _amqp(bus: CommandBus, events: _Events, accounts: list[str], run: str, args: argparse.Namespace) -> None:
    sent: dict[str, float] = {}
    replies: list[float] = []

    async def one(i: int) -> bool:
        cmd = TransferCommand.model_validate({**_envelope(f"{run}-amqp-{i}"), "payload": _transfer_body(accounts)})
        sent[cmd.command_id] = t0 = time.perf_counter()
        result = await bus.send(cmd, timeout=30)
        replies.append(time.perf_counter() - t0)
        return result is not None and result.status == "applied"

    seconds, failed = await _closed_loop(args.transfers, args.concurrency, one)
    await events.wait(set(sent), timeout=60)
    print(_row("amqp command->reply", args.transfers, seconds, replies, failed))
    _print_event_row("amqp command->event", sent, events, seconds)


async def _http(events: _Events, accounts: list[str], run: str, settings: Settings, args: argparse.Namespace) -> None:
    url = args.url or f"http://{settings.http_host}:{settings.http_port}"
    token = settings.service_api_key.get_secret_value()
    sent: dict[str, float] = {}
    responses: list[float] = []
    statuses: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=args.concurrency)
    async with httpx.AsyncClient(
        base_url=url, timeout=30, limits=limits, headers={"Authorization": f"Bearer {token}"}
    ) as http:

        async def one(i: int) -> bool:
            key = f"{run}-http-{i}"
            sent[key] = t0 = time.perf_counter()
            body = _transfer_body(accounts)
            for _ in range(3):  # a transport error is retried with the same key, as clients should
                try:
                    r = await http.post("/v1/transfers", json=body, headers={"Idempotency-Key": key})
                    break
                except httpx.TransportError as exc:
                    statuses[f"retried after {type(exc).__name__}"] += 1
            else:
                return False
            responses.append(time.perf_counter() - t0)
            statuses[str(r.status_code)] += 1
            return r.status_code == 200

        seconds, failed = await _closed_loop(args.transfers, args.concurrency, one)
    await events.wait(set(sent), timeout=60)
    print(_row("http request->response", args.transfers, seconds, responses, failed) + f"  {dict(statuses)}")
    _print_event_row("http command->event", sent, events, seconds)


def _print_event_row(name: str, sent: dict[str, float], events: _Events, seconds: float) -> None:
    lat = [events.arrived[k] - t for k, t in sent.items() if k in events.arrived]
    print(_row(name, len(sent), seconds, lat, len(sent) - len(lat)) + "  (failed = events missing)")


async def bench(settings: Settings, args: argparse.Namespace) -> int:
    """Run the chosen scenarios against the system configured by the environment."""
    run = f"bench-{uuid.uuid4().hex[:8]}"
    bus = CommandBus(settings, role="bench")
    await bus.start()
    connection = await connect(settings, "bench-subscriber")
    try:
        channel = await connection.channel()
        exchange = await settings.topology.declare_events(channel)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key="account.credited")
        events = _Events()
        await queue.consume(events.on_message, no_ack=True)
        accounts = await _setup_accounts(bus, run, args.accounts)
        print(f"{args.transfers} transfers per scenario, {args.accounts} accounts, concurrency {args.concurrency}")
        print(
            f"{'scenario':<22} {'n':>7} {'secs':>7} {'per sec':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
            f" {'max ms':>8} {'failed':>7}"
        )
        if args.mode in ("amqp", "both"):
            await _amqp(bus, events, accounts, run, args)
        if args.mode in ("http", "both"):
            await _http(events, accounts, run, settings, args)
    finally:
        await connection.close()
        await bus.close()
    return 0
