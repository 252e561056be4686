"""``ledger bench --log``: what the event log costs and gives, on a system of its own per delivery path.

For each of ``EVENT_DELIVERY=exchange`` (today's path: ``ledger.events``, with one durable quorum queue
bound, as a subscriber would have) and ``EVENT_DELIVERY=stream`` (the event log stream only):

1. a fresh database and namespace, a worker; ``--events`` events made (transfers, two events each) while
   no relay runs, so they wait in the outbox;
2. a relay starts, and is measured until everything is published: relay and RabbitMQ CPU seconds per
   event, events per second (the relay's log task numbers events in both paths);
3. stream path only: a ``LogReader`` in this process reads the log from the beginning: events per second
   and this process's CPU per event; then ``GET /v1/events`` pages of 1000 the same way.

With ``--own-broker`` (the default where RabbitMQ's scripts are, run as root) a RabbitMQ node of its own
carries the run, so its CPU is the run's alone; otherwise the broker of ``AMQP_URL`` is measured as it is,
shared with whatever else uses it.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import asdict, dataclass
from typing import Literal

import aio_pika
import asyncpg
import httpx
from pydantic import SecretStr

from ledger_cli.bench import bulk
from ledger_cli.bench.monitor import broker_pid, cpu_seconds
from ledger_cli.broker_node import BrokerNode, available
from ledger_cli.processes import Processes
from ledger_cli.system import OwnSystem
from ledger_common.settings import Settings
from ledger_sdk.amqp.log import LogReader

Path = Literal["exchange", "stream"]
ACCOUNTS = 1000


@dataclass
class Figures:
    path: str
    events: int
    publish_seconds: float
    events_per_second: float
    relay_us_per_event: float
    broker_us_per_event: float | None
    reader_events_per_second: float | None = None
    reader_us_per_event: float | None = None
    http_events_per_second: float | None = None


def _say(text: str) -> None:
    print(f"bench --log: {text}", file=sys.stderr, flush=True)


async def log_bench(settings: Settings, events: int, *, own_broker: bool, as_json: bool) -> int:
    node = BrokerNode() if own_broker and available() else None
    if node is not None:
        _say(f"starting a RabbitMQ node of its own ({node.node})")
        await asyncio.to_thread(node.start)
        settings = settings.model_copy(update={"amqp_url": SecretStr(node.url)})
    try:
        results = [await _one(settings, path, events, node) for path in ("exchange", "stream")]
    finally:
        if node is not None:
            await asyncio.to_thread(node.destroy)
    if as_json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    else:
        print(_table(results, shared=node is None))
    return 0


async def _one(settings: Settings, path: Path, events: int, node: BrokerNode | None) -> Figures:
    own = await OwnSystem.create(settings.model_copy(update={"event_delivery": path}), prefix="benchlog")
    s = own.direct  # at INFO: Processes.start returns once the relay serves, its start-up not measured
    procs = own.processes(s)
    try:
        if path == "exchange":  # one subscriber's queue: what the exchange path costs the broker with a reader
            await _bind_subscriber(s)
        procs.start("worker")
        await _load(s, events)
        db = await asyncpg.connect(own.dsn)
        try:
            await _until(db, "SELECT count(*) FROM events", events, timeout=600)
            procs.stop("worker")
            broker = (node.pid if node is not None else None) or broker_pid()
            broker_before = cpu_seconds(broker) if broker else None
            started = time.monotonic()
            relay = procs.start("relay")
            relay_before = cpu_seconds(relay.pid) or 0.0
            done = "SELECT published FROM event_stream_state" if path == "stream" else _OUTBOX_DONE
            await _until(db, done, events, timeout=600)
            took = time.monotonic() - started
            relay_cpu = (cpu_seconds(relay.pid) or 0.0) - relay_before
            broker_cpu = (cpu_seconds(broker) or 0.0) - broker_before if broker and broker_before is not None else None
        finally:
            await db.close()
        figures = Figures(
            path=path,
            events=events,
            publish_seconds=round(took, 2),
            events_per_second=round(events / took),
            relay_us_per_event=round(relay_cpu / events * 1e6, 1),
            broker_us_per_event=round(broker_cpu / events * 1e6, 1) if broker_cpu is not None else None,
        )
        _say(f"{path}: published {events} events in {took:.1f} s")
        if path == "stream":
            await _read(s, events, figures)
            await _read_http(procs, events, figures)
        return figures
    finally:
        procs.stop_all()
        await own.destroy(keep=False, keep_logs=False, queues=(f"{s.ledger_namespace}bench.subscriber",))


#: In the exchange path the relay is done when the outbox is empty (the count of rows it has published).
_OUTBOX_DONE = "SELECT (SELECT count(*) FROM events) - (SELECT count(*) FROM outbox)"


async def _bind_subscriber(s: Settings) -> None:
    connection = await aio_pika.connect(s.amqp_url.get_secret_value())
    async with connection:
        channel = await connection.channel()
        exchange = await s.topology.declare_events(channel)
        queue = await channel.declare_queue(
            f"{s.ledger_namespace}bench.subscriber", durable=True, arguments={"x-queue-type": "quorum"}
        )
        await queue.bind(exchange, routing_key="#")


async def _load(s: Settings, events: int) -> None:
    ids = await bulk.accounts(s, ACCOUNTS)
    await bulk.transfers(s, ids, events // 2, tag="bench")


async def _until(db: asyncpg.Connection, query: str, target: int, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while await db.fetchval(query) < target:
        if time.monotonic() > deadline:
            raise SystemExit(f"ledger bench --log: {query!r} did not reach {target} in {timeout:.0f} s")
        await asyncio.sleep(0.1)


async def _read(s: Settings, events: int, figures: Figures) -> None:
    stop, count = asyncio.Event(), 0

    async def handle(_: object) -> None:
        nonlocal count
        count += 1
        if count >= events:
            stop.set()

    reader = LogReader(
        s.amqp_url.get_secret_value(),
        name="bench",
        signing_keys=s.event_signing_keys.get_secret_value(),
        namespace=s.ledger_namespace,
    )
    cpu, started = time.process_time(), time.monotonic()
    await asyncio.wait_for(reader.run(handle, stop=stop), 600)
    took, cpu = time.monotonic() - started, time.process_time() - cpu
    figures.reader_events_per_second = round(events / took)
    figures.reader_us_per_event = round(cpu / events * 1e6, 1)
    _say(f"log reader: {events} events in {took:.1f} s")


async def _read_http(procs: Processes, events: int, figures: Figures) -> None:
    procs.start("gateway")
    token = procs.settings.service_api_key.get_secret_value()
    after, started = 0, time.monotonic()
    async with httpx.AsyncClient(base_url=procs.base_url, headers={"Authorization": f"Bearer {token}"}) as c:
        while after < events:
            page = (await c.get("/v1/events", params={"after": after, "limit": 1000}, timeout=60)).json()
            after = page["next_after"]
    figures.http_events_per_second = round(events / (time.monotonic() - started))


def _table(results: list[Figures], *, shared: bool) -> str:
    rows = [
        ("events", "events"),
        ("publish_seconds", "relay: seconds to publish them"),
        ("events_per_second", "relay: events/s"),
        ("relay_us_per_event", "relay CPU µs/event"),
        ("broker_us_per_event", "RabbitMQ CPU µs/event" + (" (shared broker)" if shared else "")),
        ("reader_events_per_second", "LogReader backfill events/s"),
        ("reader_us_per_event", "LogReader CPU µs/event"),
        ("http_events_per_second", "GET /v1/events backfill events/s"),
    ]
    out = [f"| | {' | '.join(r.path for r in results)} |", "| --- |" + " --- |" * len(results)]
    for field, label in rows:
        cells = ("—" if (v := getattr(r, field)) is None else f"{v:,}" for r in results)
        out.append(f"| {label} | {' | '.join(cells)} |")
    return "\n".join(out)
