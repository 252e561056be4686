"""Publish the event log to the RabbitMQ stream, in position order, each event once where it can be helped.

Guarantees and the step that makes each:
- every position in the stream, in order: one relay at a time publishes (a lease on the row of
  ``event_stream_state``, locked for each batch), a batch in position order on one channel (aiormq writes
  a channel's publishes in call order), and the last position is recorded only after the broker
  confirmed the batch. A crash before the record publishes the batch again; never a later one first.
- no event twice (source de-duplication without the stream protocol's publishing ids, which need the
  ``rabbitmq_stream`` plugin): a relay that starts publishing (after a crash, a reconnect, or taking the
  lease over) first reads the stream's last message and continues after its position, not after the
  recorded one. What the crashed relay published and never recorded is not sent again. A nack (the
  broker refused one message) resumes just before it: the messages after it that did get in are the
  only duplicates, and readers skip any position at or below the last they handled, the rule that holds
  whatever happens (``ledger_sdk.amqp.LogReader``).
- a stream deleted and declared again (rebuilt) or one that lost its newest messages: its tail is behind
  the record, so publishing continues after the tail; an empty one is filled again from the first
  position logged within its retention. Positions are the ledger's, so readers keep theirs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import asyncpg
from aio_pika.abc import AbstractChannel, AbstractConnection
from pamqp import commands as spec

from contracts.errors import BrokerUnavailable
from contracts.signing import sign
from contracts.topology import LOGGED_AT_HEADER, POSITION_HEADER, Topology
from ledger_common import event_log, metrics
from ledger_common.faults import crash_point
from ledger_sdk.amqp import _probe

log = logging.getLogger("outbox_relay")

#: A relay that stops renewing its lease for this long loses it to another relay.
LEASE_SECONDS = 5.0

_CLAIM = """
SELECT published, owner, renewed_at > clock_timestamp() - make_interval(secs => $1) AS leased
  FROM event_stream_state FOR UPDATE SKIP LOCKED
"""
_BATCH = """
SELECT l.position, l.logged_at, e.event_id, e.type, e.body
  FROM event_log l JOIN events e ON e.id = l.event_pk
 WHERE l.position > $1 ORDER BY l.position LIMIT $2
"""
_RECORD = "UPDATE event_stream_state SET published = $1, owner = $2, renewed_at = clock_timestamp()"


class StreamPublisher:
    """Publishes ``event_log`` after ``event_stream_state.published``; :meth:`attach` a channel after each connect."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        topology: Topology,
        *,
        signing_keys: Mapping[str, bytes],
        batch_size: int,
        owner: str,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self._pool, self._topology, self._keys = pool, topology, signing_keys
        self._batch, self._owner, self._lease = batch_size, owner, lease_seconds
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        #: The last position known to be in the stream with everything before it; None: read the tail.
        self._resume: int | None = None
        self._renewed = 0.0

    def attach(self, connection: AbstractConnection, channel: AbstractChannel) -> None:
        """A new connection: what got into the stream during the last one is not known, so read it."""
        self._connection, self._channel, self._resume = connection, channel, None

    async def publish_once(self) -> int:
        """Publish one batch if this relay holds (or may take) the lease; the number of events published."""
        async with self._pool.acquire() as conn, conn.transaction():
            state = await conn.fetchrow(_CLAIM, self._lease)
            if state is None or (state["owner"] not in (None, self._owner) and state["leased"]):
                self._resume = None  # another relay publishes: what this one knew is stale
                return 0
            if state["owner"] != self._owner:
                self._resume = None
            after = self._resume if self._resume is not None else await self._tail(conn, state["published"])
            rows = await conn.fetch(_BATCH, after, self._batch)
            if not rows:
                if after != state["published"] or time.monotonic() - self._renewed > self._lease / 3:
                    await conn.execute(_RECORD, after, self._owner)
                    self._renewed = time.monotonic()
                self._resume = after
                return 0
            self._resume = None  # until the broker has confirmed
            confirmed, failure = await self._publish(rows)
            crash_point("relay.after_log_publish")
            last = rows[confirmed - 1]["position"] if confirmed else after
            await conn.execute(_RECORD, last, self._owner)
            self._renewed = time.monotonic()
        if metrics.enabled():
            metrics.LOG_PUBLISHED.inc(confirmed)
        if failure is None:
            self._resume = last
            return confirmed
        if failure.args == ("nack",):  # refused, not lost: the channel stays; start again right before it
            metrics.RELAY_NACKS.inc()
            log.warning("the broker refused event log position %d; publishing again from there", last + 1)
            self._resume = last
            await asyncio.sleep(1.0)
            return confirmed
        raise failure

    async def _publish(self, rows: list[asyncpg.Record]) -> tuple[int, BrokerUnavailable | None]:
        """Publish ``rows`` pipelined; how many in a row from the first were confirmed, and why not more."""
        assert self._channel is not None, "attach a channel first"
        channel = await self._channel.get_underlay_channel()
        exchange = self._topology.log_exchange
        # Created in order, each takes the channel's lock in order: the frames go out in position order.
        sends = [
            asyncio.ensure_future(
                channel.basic_publish(r["body"], exchange=exchange, routing_key=r["type"], properties=self._props(r))
            )
            for r in rows
        ]
        outcomes = await asyncio.gather(*sends, return_exceptions=True)
        for n, outcome in enumerate(outcomes):
            if isinstance(outcome, BaseException):
                nacked = type(outcome).__name__ == "DeliveryError"
                error = BrokerUnavailable("nack" if nacked else type(outcome).__name__)
                error.__cause__ = outcome
                return n, error
        return len(rows), None

    def _props(self, row: asyncpg.Record) -> spec.Basic.Properties:
        message_id, kind = str(row["event_id"]), row["type"]
        headers: dict[str, object] = dict(
            sign(routing_key=kind, message_id=message_id, message_type=kind, body=row["body"], keys=self._keys)
        )
        headers[POSITION_HEADER] = row["position"]
        headers[LOGGED_AT_HEADER] = int(row["logged_at"].timestamp() * 1000)
        return spec.Basic.Properties(
            content_type="application/json",
            delivery_mode=2,
            message_id=message_id,
            message_type=kind,
            headers=headers,  # type: ignore[arg-type]
        )

    async def _tail(self, conn: asyncpg.Connection, recorded: int) -> int:
        """Where to continue: after the stream's last position (see the module docstring)."""
        assert self._connection is not None, "attach a connection first"
        tail = await _probe.last(self._connection, self._topology.log_stream)
        if tail is not None:
            if tail[1] != recorded:
                log.info("event log stream ends at position %d, %d recorded: continuing after it", tail[1], recorded)
            return tail[1]
        if recorded == 0:
            return 0
        since = datetime.now(UTC) - timedelta(seconds=self._topology.retention.max_age_seconds)
        start = await event_log.position_at(conn, since)
        log.warning(
            "the event log stream is empty though %d events were published to it (deleted and declared again?);"
            " publishing again from position %d, the first logged within its retention",
            recorded,
            start + 1,
        )
        return start
