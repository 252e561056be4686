"""The scenarios. Each returns the :class:`~ledger_cli.bench.measure.Tally` of what it sent and got.

- ``amqp-uniform``: closed loop of ``TransferCommand`` published with confirms, between two accounts
  picked uniformly; latency = publish → the payee's ``account.credited`` on the bench's subscriber,
  i.e. through worker, commit, outbox, relay and broker.
- ``amqp-hot``: the same, but every transfer has one of the 10 hot accounts on one side.
- ``http``: closed loop of ``POST /v1/transfers``; the gateway answers after the commit; latency =
  request → response.
- ``http-floor``: the same requests to a bare FastAPI POST (:mod:`ledger_cli.bench.floor`): the CPU floor
  under any FastAPI route on this machine at this moment.
- ``mixed``: closed loop of ``hold.place`` → ``hold.placed``, then ``hold.capture`` →
  ``hold.captured``, then a transfer; every command counts.
- ``latency``: open loop of transfers at ``--rate`` per second; latency = publish → event.
- ``idle``: ``--idle-commands`` transfers one at a time, 20 ms apart; latency = publish → event.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson

from contracts.commands import build_command
from ledger_cli.bench.accounts import CURRENCY, Accounts, amount
from ledger_cli.bench.bus import REFUSED, Bus
from ledger_cli.bench.http1 import Connection, TransportError
from ledger_cli.bench.measure import Tally, closed_loop, one_at_a_time, open_loop
from ledger_cli.bench.options import Options

#: Seconds to wait for a command's event before counting it failed.
EVENT_TIMEOUT = 30.0
HTTP_TIMEOUT = 30.0
IDLE_PAUSE = 0.02
CREDITED = "account.credited"

Pick = Callable[[random.Random], tuple[str, str]]


@dataclass
class Context:
    """What every scenario needs: where to send, which accounts, the run's options."""

    bus: Bus
    accounts: Accounts
    opts: Options
    run_id: str
    http_url: str
    token: str
    rng: random.Random
    #: The latency scenario's rate: ``--rate``, else half of what amqp-uniform sustained in this run.
    rate: float = 500.0
    #: The ``http-floor`` scenario's server (a bare FastAPI POST), when that scenario runs.
    floor_url: str | None = None
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def command_id(self, scenario: str) -> str:
        """A command id (and Idempotency-Key) unique to this run."""
        return f"bench-{self.run_id}-{scenario}-{next(self._ids)}"


async def _command(ctx: Context, tally: Tally, kind: str, payload: dict[str, object], awaited: str) -> bool:
    """Publish one command and wait for its ``awaited`` event; True if it was applied."""
    command_id = ctx.command_id(kind)
    cmd = build_command(kind, payload, command_id=command_id, issued_at=datetime.now(UTC), principal="bench")
    future = ctx.bus.subscriber.expect(command_id, awaited)
    started = time.perf_counter()
    try:
        await ctx.bus.publish(cmd)
        arrival = await asyncio.wait_for(future, EVENT_TIMEOUT)
    except TimeoutError:
        ctx.bus.subscriber.forget(command_id)
        tally.fail("no event")
        return False
    except Exception as exc:  # a refused publish or a lost connection: count it, let the lane go on
        ctx.bus.subscriber.forget(command_id)
        tally.fail(type(exc).__name__)
        await asyncio.sleep(0.1)
        return False
    if arrival.kind == REFUSED:
        tally.refused += 1
        tally.statuses[REFUSED] += 1
        return False
    tally.done(started, arrival.at)
    return True


def _transfer_payload(pair: tuple[str, str], rng: random.Random) -> dict[str, object]:
    debit, credit = pair
    return {"debit_account_id": debit, "credit_account_id": credit, "amount": amount(rng), "currency": CURRENCY}


async def _transfer(ctx: Context, tally: Tally, pick: Pick) -> bool:
    return await _command(ctx, tally, "transfer", _transfer_payload(pick(ctx.rng), ctx.rng), CREDITED)


async def _amqp_transfers(ctx: Context, pick: Pick) -> Tally:
    tally = Tally()

    async def one(_: int) -> None:
        await _transfer(ctx, tally, pick)

    tally.seconds = await closed_loop(ctx.opts.seconds, ctx.opts.concurrency, one)
    return tally


async def amqp_uniform(ctx: Context) -> Tally:
    return await _amqp_transfers(ctx, ctx.accounts.uniform_pair)


async def amqp_hot(ctx: Context) -> Tally:
    return await _amqp_transfers(ctx, ctx.accounts.hot_pair)


async def mixed(ctx: Context) -> Tally:
    tally = Tally()

    async def one(_: int) -> None:
        payer, payee = ctx.accounts.uniform_pair(ctx.rng)
        hold_id = str(uuid.uuid4())
        place = {
            "hold_id": hold_id,
            "account_id": payer,
            "amount": amount(ctx.rng),
            "currency": CURRENCY,
            "recipient_account_id": payee,
        }
        if await _command(ctx, tally, "hold.place", place, "hold.placed"):
            await _command(ctx, tally, "hold.capture", {"hold_id": hold_id}, "hold.captured")
        await _transfer(ctx, tally, ctx.accounts.uniform_pair)

    tally.seconds = await closed_loop(ctx.opts.seconds, ctx.opts.concurrency, one)
    return tally


async def latency(ctx: Context) -> Tally:
    tally = Tally()

    async def one() -> None:
        await _transfer(ctx, tally, ctx.accounts.uniform_pair)

    tally.seconds, tally.schedule_lag = await open_loop(ctx.opts.seconds, ctx.rate, one)
    return tally


async def idle(ctx: Context) -> Tally:
    tally = Tally()

    async def one() -> None:
        await _transfer(ctx, tally, ctx.accounts.uniform_pair)

    tally.seconds = await one_at_a_time(ctx.opts.idle_commands, IDLE_PAUSE, one)
    return tally


async def post_transfer(conn: Connection, ctx: Context, tally: Tally) -> None:
    """One ``POST /v1/transfers`` between two of the run's accounts, its outcome counted in ``tally``."""
    key = ctx.command_id("http")
    body = orjson.dumps(_transfer_payload(ctx.accounts.uniform_pair(ctx.rng), ctx.rng))
    started = time.perf_counter()
    for _ in range(3):  # a transport error is retried with the same key, as a careful client does
        try:
            status, answer = await conn.post("/v1/transfers", body, {"Idempotency-Key": key})
        except TransportError as exc:
            tally.statuses[str(exc)] += 1
            continue
        tally.statuses[str(status)] += 1
        if status in (200, 201):
            tally.done(started, time.perf_counter())
        elif status in (409, 422) and b'"result"' in answer:  # a business refusal, with its recorded outcome
            tally.refused += 1
        else:
            tally.failed += 1  # 202 (no answer within REPLY_TIMEOUT_SECONDS), other 4xx, 5xx
        return
    tally.failed += 1


async def http(ctx: Context) -> Tally:
    """One keep-alive connection per lane."""
    return await _http_loop(ctx, ctx.http_url)


async def http_floor(ctx: Context) -> Tally:
    """The ``http`` scenario against a bare FastAPI POST (:mod:`ledger_cli.bench.floor`): the floor."""
    if ctx.floor_url is None:
        raise RuntimeError("the http-floor scenario needs the floor server started")
    return await _http_loop(ctx, ctx.floor_url)


async def _http_loop(ctx: Context, url: str) -> Tally:
    tally = Tally()
    concurrency = ctx.opts.http_concurrency
    auth = {"Authorization": f"Bearer {ctx.token}"}
    conns = [Connection(url, auth, HTTP_TIMEOUT) for _ in range(concurrency)]

    async def one(lane: int) -> None:
        await post_transfer(conns[lane], ctx, tally)

    try:
        tally.seconds = await closed_loop(ctx.opts.seconds, concurrency, one)
    finally:
        await asyncio.gather(*(c.close() for c in conns))
    return tally


async def warm_up(ctx: Context, count: int) -> Tally:
    """``count`` transfers at once, not reported: every process connected, pools and caches filled."""
    tally = Tally()
    started = time.perf_counter()
    await asyncio.gather(*(_transfer(ctx, tally, ctx.accounts.uniform_pair) for _ in range(count)))
    tally.seconds = time.perf_counter() - started
    return tally


RUNNERS: dict[str, Callable[[Context], Awaitable[Tally]]] = {
    "amqp-uniform": amqp_uniform,
    "amqp-hot": amqp_hot,
    "http": http,
    "http-floor": http_floor,
    "mixed": mixed,
    "latency": latency,
    "idle": idle,
}
