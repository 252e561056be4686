"""Every Prometheus metric the gateway, the worker and the relay export, declared once.

Names follow Prometheus' conventions: base units (``_seconds``), ``_total`` on counters (the client adds
it), and label values from closed sets only: route templates (``/v1/wallets/{wallet}``, never a path),
command types (``contracts.catalogue.COMMANDS``), outcomes, refusal codes (``contracts.results.Refusal``),
dead-letter sources, and the names of event log readers (chosen by their keys, at most
``MAX_READERS_PER_PRINCIPAL`` each). Never an id. ``DECLARED`` is the list the table of docs/observability.md, the
dashboard test and the e2e test are derived from.

Metrics are cheap on the hot path: the worker counts a batch's results with one increment per (type,
outcome) that occurs in it, not one label lookup per command; gauges that need SQL are refreshed by a
background task every ``METRICS_REFRESH_SECONDS`` (one per process), never by a scrape.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import asyncpg
from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.metrics import MetricWrapperBase

from contracts.results import CommandResult

# ``_created`` series double every counter for nothing a dashboard here uses.
disable_created_metrics()  # type: ignore[no-untyped-call]

Process = Literal["gateway", "worker", "relay"]
ALL: tuple[Process, ...] = ("gateway", "worker", "relay")

#: ``outcome`` of a command: applied, refused (recorded as such), or the recorded outcome replayed.
OUTCOMES = ("applied", "refused", "replayed")
#: ``route`` of a request no route matched (404 on an unknown path): one value, not the path.
UNMATCHED_ROUTE = "unmatched"
#: ``method`` values kept as they are; any other method is counted as ``other``.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: ``source`` of a dead letter: a command the worker could not take, an event the relay gave up on.
DEAD_LETTER_SOURCES = ("commands", "events")
#: ``reason`` a batch was retried one command per transaction: a lost race / constraint (``conflict``),
#: or an unexpected error whose command is being looked for (``error``).
FALLBACK_REASONS = ("conflict", "error")

_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_BATCH = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000)


@dataclass(frozen=True, slots=True)
class Declared:
    """One metric and the processes that export it."""

    metric: MetricWrapperBase
    kind: Literal["counter", "gauge", "histogram"]
    processes: tuple[Process, ...]

    @property
    def name(self) -> str:
        """The exported name (a counter's with ``_total``)."""
        base: str = self.metric._name
        return f"{base}_total" if self.kind == "counter" else base

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.metric._labelnames)

    @property
    def help(self) -> str:
        return str(self.metric._documentation)


DECLARED: list[Declared] = []


def _counter(name: str, doc: str, labels: tuple[str, ...] = (), *, by: tuple[Process, ...]) -> Counter:
    metric = Counter(name, doc, labels)
    DECLARED.append(Declared(metric, "counter", by))
    return metric


def _gauge(name: str, doc: str, labels: tuple[str, ...] = (), *, by: tuple[Process, ...]) -> Gauge:
    metric = Gauge(name, doc, labels)
    DECLARED.append(Declared(metric, "gauge", by))
    return metric


def _histogram(
    name: str, doc: str, labels: tuple[str, ...] = (), *, buckets: tuple[float, ...], by: tuple[Process, ...]
) -> Histogram:
    metric = Histogram(name, doc, labels, buckets=buckets)
    DECLARED.append(Declared(metric, "histogram", by))
    return metric


HTTP_REQUESTS = _counter(
    "ledger_http_requests",
    "HTTP requests answered, by method, route template and status",
    ("method", "route", "status"),
    by=("gateway",),
)
HTTP_SECONDS = _histogram(
    "ledger_http_request_duration_seconds",
    "Time from a request's arrival to its response, by method and route template",
    ("method", "route"),
    buckets=_LATENCY,
    by=("gateway",),
)
GATEWAY_PUBLISH_SECONDS = _histogram(
    "ledger_gateway_publish_seconds",
    "Time to publish a command until the broker confirmed it",
    buckets=_LATENCY,
    by=("gateway",),
)
GATEWAY_REPLY_TIMEOUTS = _counter(
    "ledger_gateway_reply_timeouts", "Writes answered 202: no reply within REPLY_TIMEOUT_SECONDS", by=("gateway",)
)
COMMANDS = _counter(
    "ledger_commands", "Commands the worker finished, by command type and outcome", ("type", "outcome"), by=("worker",)
)
REFUSALS = _counter(
    "ledger_command_refusals", "Commands refused (not replays), by refusal code", ("refusal",), by=("worker",)
)
BATCH_SIZE = _histogram(
    "ledger_worker_batch_size", "Commands per batch (one database transaction)", buckets=_BATCH, by=("worker",)
)
BATCH_SECONDS = _histogram(
    "ledger_worker_batch_seconds",
    "Time to apply and commit a batch, retries included",
    buckets=_LATENCY,
    by=("worker",),
)
BATCH_FALLBACKS = _counter(
    "ledger_worker_batch_fallbacks",
    "Batches retried one command per transaction, by reason (conflict: a lost race or constraint; error)",
    ("reason",),
    by=("worker",),
)
CONSUMING = _gauge(
    "ledger_worker_consuming_queues", "Command queues this worker consumes (active or standby)", by=("worker",)
)
DEAD_LETTERED = _counter(
    "ledger_dead_letters",
    "Messages this process dead-lettered, by source (commands, events)",
    ("source",),
    by=("worker", "relay"),
)
DEAD_LETTERS = _gauge(
    "ledger_dead_letters_waiting",
    "Dead letters waiting for an operator: commands in the dead-letter queue (worker), dead outbox rows (relay)",
    ("source",),
    by=("worker", "relay"),
)
EVENTS_PUBLISHED = _counter(
    "ledger_relay_events_published", "Events published and confirmed by the broker", by=("relay",)
)
RELAY_NACKS = _counter("ledger_relay_nacks", "Event publishes the broker refused (nack)", by=("relay",))
RELAY_PUBLISH_SECONDS = _histogram(
    "ledger_relay_publish_seconds",
    "Time to publish a claimed batch of events until the last confirm",
    buckets=_LATENCY,
    by=("relay",),
)
OUTBOX_BACKLOG = _gauge("ledger_outbox_backlog", "Outbox rows waiting to be published (not dead)", by=("relay",))
OUTBOX_OLDEST = _gauge(
    "ledger_outbox_oldest_age_seconds", "Age of the oldest outbox row waiting to be published (0: none)", by=("relay",)
)
LOG_HEAD = _gauge("ledger_event_log_head", "The last position the event log gave an event", by=("relay",))
LOG_PUBLISHED = _counter(
    "ledger_event_stream_published", "Event log positions published to the stream and confirmed", by=("relay",)
)
STREAM_BEHIND = _gauge(
    "ledger_event_stream_behind_seconds",
    "Age of the oldest logged event not yet in the event log stream (0: none; only with the stream on)",
    by=("relay",),
)
STREAM_RETENTION = _gauge(
    "ledger_event_stream_retention_seconds", "EVENT_STREAM_MAX_AGE: how long the stream keeps events", by=("relay",)
)
#: ``transport`` of a named event log reader: what it reads with (closed set; names are bounded per key).
READER_TRANSPORTS = ("http", "amqp")
READER_LAG_EVENTS = _gauge(
    "ledger_event_reader_lag_events",
    "Positions the named event log reader has not yet reported handled",
    ("reader", "transport"),
    by=("relay",),
)
READER_LAG_SECONDS = _gauge(
    "ledger_event_reader_lag_seconds",
    "Age of the oldest event the named reader has not yet reported handled (0: none)",
    ("reader", "transport"),
    by=("relay",),
)
RECON_OPEN_BREAKS = _gauge(
    "ledger_recon_open_breaks",
    "Open reconciliation breaks by statement source, reason and age (lt_1d, 1d_7d, gt_7d)",
    ("source", "reason", "age"),
    by=("relay",),
)
RECONNECTS = _counter("ledger_broker_reconnects", "Broker connections made again after one was lost", by=ALL)
DB_RETRIES = _counter("ledger_database_retries", "Database operations retried after a transient error", by=ALL)
POOL_CONNECTIONS = _gauge(
    "ledger_db_pool_connections", "Database pool connections, by state (in_use, idle)", ("state",), by=ALL
)
POOL_MAX = _gauge("ledger_db_pool_max_connections", "Largest size of the database pool", by=ALL)

#: Series prometheus_client exports by itself in every process (its process and platform collectors).
BUILTIN_PREFIXES = ("process_", "python_")

_enabled = True


def configure(enabled: bool) -> None:
    """``METRICS_ENABLED=false``: nothing is counted (the recording helpers below return at once)."""
    global _enabled
    _enabled = enabled


def enabled() -> bool:
    return _enabled


def count_results(results: Iterable[CommandResult]) -> None:
    """Count a batch's results: one increment per (type, outcome) and per refusal that occurs in it."""
    if not _enabled:
        return
    outcomes: Tally[tuple[str, str]] = Tally()
    refusals: Tally[str] = Tally()
    for r in results:
        outcome: str = "replayed" if r.replayed else r.status
        outcomes[(r.command_type, outcome)] += 1
        if r.refusal is not None and not r.replayed:
            refusals[r.refusal.value] += 1
    for (kind, outcome), n in outcomes.items():
        COMMANDS.labels(kind, outcome).inc(n)
    for refusal, n in refusals.items():
        REFUSALS.labels(refusal).inc(n)


def watch_pool(pool: asyncpg.Pool) -> None:
    """Pool gauges read from the pool at scrape time (no I/O: asyncpg keeps the counts)."""
    POOL_CONNECTIONS.labels("idle").set_function(lambda: float(pool.get_idle_size()))
    POOL_CONNECTIONS.labels("in_use").set_function(lambda: float(pool.get_size() - pool.get_idle_size()))
    POOL_MAX.set_function(lambda: float(pool.get_max_size()))


def names(process: Process | None = None) -> frozenset[str]:
    """The exported names (``_total`` for counters; a histogram's base name), of one process or all."""
    return frozenset(d.name for d in DECLARED if process is None or process in d.processes)
