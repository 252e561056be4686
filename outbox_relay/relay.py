"""Claim outbox rows, publish with confirms, delete them after the confirm (``events`` keeps the history).

Guarantees and the step that makes each:
- at-least-once events with stable ids: rows are deleted in the same transaction that claimed them,
  after the broker confirmed; a crash in between leaves them in the outbox, so they are published
  again with the same ``event_id`` (subscribers deduplicate on it).
- per-account order: each account maps to one of ``PARTITIONS`` partitions; a claim takes a
  transaction-scoped advisory lock per partition, so one relay at a time publishes a partition,
  in id (= commit) order, and stops at the first row that failed or is waiting for its retry.
- no row published twice by design when several relays run: rows are claimed ``FOR UPDATE SKIP
  LOCKED`` under the partition locks, so two relays never hold the same row.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from uuid import UUID

import asyncpg
from aio_pika.abc import AbstractChannel
from aiormq.exceptions import DeliveryError
from opentelemetry.trace import Span, SpanKind, StatusCode
from pamqp import commands as spec
from pamqp.common import FieldTable

from contracts.signing import sign
from ledger_common import metrics, tracing
from ledger_common.faults import crash_point

log = logging.getLogger("outbox_relay")

_LOCK_NAMESPACE = 7361  # first key of pg_try_advisory_xact_lock(int, int) for outbox partitions

CLAIM = """
SELECT id, event_id, routing_key, partition, body, attempts, traceparent,
       (attempts = 0 OR next_attempt_at <= clock_timestamp()) AS due
  FROM outbox
 WHERE dead_at IS NULL
   AND pg_try_advisory_xact_lock($2, partition::int)
 ORDER BY id
 LIMIT $1
   FOR UPDATE SKIP LOCKED
"""


@dataclass(frozen=True, slots=True)
class _Row:
    id: int
    event_id: UUID
    routing_key: str
    partition: int
    body: bytes
    attempts: int
    #: Of the span of the command that wrote the row (NULL when it was written with tracing off).
    traceparent: str | None
    due: bool


class Relay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        channel: AbstractChannel,
        *,
        exchange: str,
        batch_size: int,
        max_attempts: int,
        signing_keys: Mapping[str, bytes],
        backoff_seconds: float,
        backoff_max_seconds: float,
        publish: bool = True,
    ) -> None:
        self._pool = pool
        #: False (``EVENT_DELIVERY=stream``): rows leave the outbox unpublished; the event log carries them.
        self._publish = publish
        self._signing_keys = signing_keys
        self._channel = channel
        self._exchange = exchange
        self._batch_size = batch_size
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._backoff_max = backoff_max_seconds

    async def pump_once(self) -> int:
        """Claim and publish one batch; returns the number of rows claimed."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = [_Row(**dict(r)) for r in await conn.fetch(CLAIM, self._batch_size, _LOCK_NAMESPACE)]
            if not rows:
                return 0
            by_partition: dict[int, list[_Row]] = defaultdict(list)
            for row in rows:
                by_partition[row.partition].append(row)
            started = time.perf_counter()
            outcomes = await asyncio.gather(*(self._publish_in_order(p) for p in by_partition.values()))
            sent = [i for ok, _ in outcomes for i in ok]
            failed = [f for _, fail in outcomes if fail is not None for f in [fail]]
            if metrics.enabled():
                metrics.RELAY_PUBLISH_SECONDS.observe(time.perf_counter() - started)
                metrics.EVENTS_PUBLISHED.inc(len(sent))
                metrics.RELAY_NACKS.inc(len(failed))
            crash_point("relay.after_publish")
            if sent:
                # The outbox is only the queue: a confirmed event leaves it (it stays in ``events``).
                await conn.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", sent)
            for row, error in failed:
                await self._record_failure(conn, row, error)
        return len(rows)

    async def _publish_in_order(self, rows: list[_Row]) -> tuple[list[int], tuple[_Row, str] | None]:
        sent: list[int] = []
        if not self._publish:
            return [row.id for row in rows], None
        # Straight onto the underlying channel: aio-pika's Message and publish wrappers were a third
        # of the relay's CPU. Not mandatory: an event nobody subscribed to is not an error.
        channel = await self._channel.get_underlay_channel()
        for row in rows:
            if not row.due:  # head of this partition is backing off: keep order, wait
                return sent, None
            span = self._publish_span(row) if tracing.ENABLED else None
            try:
                await channel.basic_publish(
                    row.body,
                    exchange=self._exchange,
                    routing_key=row.routing_key,
                    properties=self._properties(row, span),
                )
            except DeliveryError as exc:  # the broker refused this message (nack)
                if span is not None:
                    span.set_status(StatusCode.ERROR, "broker refused")
                return sent, (row, f"broker refused: {exc}")
            finally:
                if span is not None:
                    span.end()  # at the confirm (or refusal): the publish is what the span measures
            sent.append(row.id)
        return sent, None

    def _publish_span(self, row: _Row) -> Span:
        """A child of the command's span (the row's ``traceparent``), or a root for a row written untraced."""
        return tracing.tracer().start_span(
            f"publish {row.routing_key}",
            context=tracing.from_traceparent(row.traceparent),
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "rabbitmq",
                "messaging.operation.type": "send",
                "messaging.destination.name": self._exchange,
                "messaging.rabbitmq.destination.routing_key": row.routing_key,
                "messaging.message.id": str(row.event_id),
            },
        )

    def _properties(self, row: _Row, span: Span | None = None) -> spec.Basic.Properties:
        message_id, message_type = str(row.event_id), row.routing_key
        # Signed now, over the routing key, these properties and these exact bytes (contracts/signing.py).
        signed = sign(
            routing_key=row.routing_key,
            message_id=message_id,
            message_type=message_type,
            body=row.body,
            keys=self._signing_keys,
        )
        return spec.Basic.Properties(
            content_type="application/json",
            delivery_mode=2,  # persistent
            message_id=message_id,
            message_type=message_type,
            headers=self._headers(signed, span),
        )

    @staticmethod
    def _headers(signed: dict[str, str], span: Span | None) -> FieldTable:
        """The signature headers and, traced, the publish span's ``traceparent``: not signed (the signature
        covers routing key, message id, type, signing time and body), so a subscriber may ignore it."""
        headers: FieldTable = dict(signed)
        if span is not None:
            tracing.inject(headers, span)
        return headers

    async def _record_failure(self, conn: asyncpg.Connection, row: _Row, error: str) -> None:
        attempts = row.attempts + 1
        delay = retry_delay(attempts, self._backoff, self._backoff_max, jitter=random.uniform(0.5, 1.5))
        dead = attempts >= self._max_attempts
        if dead:
            metrics.DEAD_LETTERED.labels("events").inc()
        log.warning(
            "event %s publish failed (attempt %d%s): %s",
            row.event_id,
            attempts,
            ", dead-lettered" if dead else "",
            error,
        )
        await conn.execute(
            "UPDATE outbox SET attempts = $2, last_error = $3,"
            " next_attempt_at = now() + make_interval(secs => $4),"
            " dead_at = CASE WHEN $5 THEN now() END WHERE id = $1",
            row.id,
            attempts,
            error[:1000],
            delay,
            dead,
        )


def retry_delay(attempts: int, first: float, most: float, *, jitter: float = 1.0) -> float:
    """Seconds before the next try after ``attempts`` refusals: ``first``, doubling, times ``jitter``, at most ``most``.

    The relay's schedule (``RELAY_BACKOFF_SECONDS``, ``RELAY_BACKOFF_MAX_SECONDS``), jittered by ±50%.
    """
    return min(most, first * 2.0 ** (attempts - 1) * jitter)
