"""The worker's spans: one per command, a child of the context its message carries, and one per batch.

A batch applies many commands, each from its own trace, in one transaction: the batch span cannot be a
child of all of them, so it is a root that links to each command's span (OpenTelemetry's batch
processing pattern). The command's span is what the trace continues from: the outbox rows of its
events store its ``traceparent``, and the relay's publish span is its child. Called only when
``tracing.ENABLED``; the consumer checks that first.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from aio_pika.abc import AbstractIncomingMessage
from opentelemetry.trace import Span, SpanKind

from contracts.commands import Command
from ledger_common import tracing


def command_span(message: AbstractIncomingMessage, cmd: Command) -> Span:
    """Started when the command is received, ended when it is settled (replied to and acked, or not)."""
    return tracing.tracer().start_span(
        f"process {cmd.type}",
        context=tracing.extract(message.headers),  # the gateway's request, or an AMQP publisher's own span
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "rabbitmq",
            "messaging.operation.type": "process",
            "messaging.destination.name": message.exchange or "",
            "messaging.rabbitmq.destination.routing_key": message.routing_key or "",
            "messaging.message.id": message.message_id or "",
            "ledger.command_id": cmd.command_id,
            "ledger.command_type": cmd.type,
        },
    )


@contextmanager
def batch_span(spans: Sequence[Span | None]) -> Iterator[Span]:
    """The current span while a batch is applied; a root (or the failed batch's child when it is split)."""
    with tracing.tracer().start_as_current_span(
        "apply batch", links=tracing.links(spans), attributes={"messaging.batch.message_count": len(spans)}
    ) as span:
        yield span


def traceparents(spans: Sequence[Span | None]) -> list[str | None]:
    """What each command's outbox rows store, for the relay to continue its trace."""
    return [tracing.traceparent(s) if s is not None else None for s in spans]
