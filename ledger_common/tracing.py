"""OpenTelemetry tracing: one trace per command, across the gateway, the broker, the worker and the relay.

Off unless ``OTEL_TRACES_EXPORTER`` names an exporter (and ``OTEL_SDK_DISABLED`` is not ``true``):
``otlp`` (OTLP/HTTP to ``OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT``), ``console``, or ``ledger_file``, a
test aid of ours writing one JSON span per line to ``LEDGER_TRACE_FILE``. The other ``OTEL_*`` variables
(service name, resource attributes, sampler, batch processor, exporter headers) are the SDK's.

When off, no provider exists and the SDK is never imported: every hot path tests the module-level
``ENABLED`` first and does nothing else (no context extraction, no attributes), so tracing off costs one
boolean check per message. Context crosses processes as W3C ``traceparent``/``tracestate``: in HTTP
headers, in the AMQP headers of commands and events, and in the outbox row between worker and relay.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

#: Read by every traced path before it does anything: False means tracing costs nothing more.
ENABLED = False
TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
#: The exporter of ``OTEL_TRACES_EXPORTER=ledger_file`` writes here (one JSON object per span and line).
TRACE_FILE_VARIABLE = "LEDGER_TRACE_FILE"

_PROPAGATOR = TraceContextTextMapPropagator()
_tracer: trace.Tracer = trace.NoOpTracer()


def configure(process: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Turn tracing on for ``process`` (``gateway``, ``worker``, ``relay``) if the environment asks; whether it did.

    ``OTEL_SERVICE_NAME`` (or ``service.name`` in ``OTEL_RESOURCE_ATTRIBUTES``) defaults to ``ledger-<process>``.
    """
    global ENABLED, _tracer
    names = exporter_names(environ)
    if not names:
        return False
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider

    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: f"ledger-{process}"}))
    provider = TracerProvider(resource=resource)  # the sampler is OTEL_TRACES_SAMPLER's (default: parent, on)
    for name in names:
        provider.add_span_processor(_processor(name, environ))
    trace.set_tracer_provider(provider)
    _tracer = provider.get_tracer("ledger")
    ENABLED = True
    return True


def exporter_names(environ: Mapping[str, str]) -> list[str]:
    """The exporters ``OTEL_TRACES_EXPORTER`` lists (comma-separated); none when unset, ``none`` or disabled."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    names = [n.strip().lower() for n in environ.get("OTEL_TRACES_EXPORTER", "").split(",")]
    return [n for n in names if n and n != "none"]


def _processor(name: str, environ: Mapping[str, str]) -> SpanProcessor:
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor

    if name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return BatchSpanProcessor(OTLPSpanExporter())  # endpoint, headers, timeout: OTEL_EXPORTER_OTLP_*
    if name == "console":
        return BatchSpanProcessor(ConsoleSpanExporter())
    if name == "ledger_file":
        path = environ.get(TRACE_FILE_VARIABLE)
        if not path:
            raise ValueError(f"OTEL_TRACES_EXPORTER=ledger_file needs {TRACE_FILE_VARIABLE}")
        # Synchronous: a span is in the file when it ends, so a test needs no flush to see it.
        return SimpleSpanProcessor(_file_exporter(path))
    raise ValueError(f"OTEL_TRACES_EXPORTER: unknown exporter {name!r} (otlp, console, ledger_file, none)")


def tracer() -> trace.Tracer:
    return _tracer


class _HeaderGetter(Getter[Mapping[str, Any]]):
    """Reads AMQP header tables (values may arrive as bytes) and plain header dicts alike."""

    def get(self, carrier: Mapping[str, Any], key: str) -> list[str] | None:
        value = carrier.get(key)
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        return [value] if isinstance(value, str) else None

    def keys(self, carrier: Mapping[str, Any]) -> list[str]:
        return list(carrier)


_GETTER = _HeaderGetter()


def extract(headers: Mapping[str, Any] | None) -> Context:
    """The remote parent named by ``headers``' ``traceparent`` (an empty context if none or malformed)."""
    return _PROPAGATOR.extract(headers or {}, context=Context(), getter=_GETTER)


def from_traceparent(traceparent: str | None) -> Context:
    return extract({TRACEPARENT: traceparent} if traceparent else None)


def inject(headers: MutableMapping[str, Any], span: trace.Span | None = None) -> None:
    """Add ``traceparent`` (and ``tracestate``) of ``span`` (default: the current span) to ``headers``."""
    context = trace.set_span_in_context(span) if span is not None else None
    _PROPAGATOR.inject(headers, context=context)


def traceparent(span: trace.Span) -> str | None:
    """``span`` as a W3C ``traceparent`` value (None for a span that is not recorded or invalid)."""
    context = span.get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def current_ids() -> tuple[str, str] | None:
    """(trace_id, span_id) of the current span in hex, for log lines and error bodies; None if there is none."""
    if not ENABLED:
        return None
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"


def links(spans: Sequence[trace.Span | None]) -> list[trace.Link]:
    return [trace.Link(s.get_span_context()) for s in spans if s is not None]


def _file_exporter(path: str) -> Any:
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    class FileSpanExporter(SpanExporter):
        """A test aid, not for production: appends each span to ``path`` as one line of JSON."""

        def __init__(self) -> None:
            self._lock = threading.Lock()
            self._file = open(path, "a", encoding="utf-8")  # open for the process's life

        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            lines = "".join(json.dumps(span_record(s), separators=(",", ":")) + "\n" for s in spans)
            with self._lock:
                self._file.write(lines)  # whole lines in one write, so a reader never sees half a span
                self._file.flush()
            return SpanExportResult.SUCCESS

        def shutdown(self) -> None:
            with self._lock:
                self._file.close()

    return FileSpanExporter()


def span_record(span: ReadableSpan) -> dict[str, Any]:
    """What the file exporter writes of a span: ids in hex, as in ``traceparent``."""
    context = span.get_span_context()
    assert context is not None
    return {
        "name": span.name,
        "service": span.resource.attributes.get("service.name"),
        "kind": span.kind.name,
        "trace_id": f"{context.trace_id:032x}",
        "span_id": f"{context.span_id:016x}",
        "parent_span_id": f"{span.parent.span_id:016x}" if span.parent is not None else None,
        "links": [
            {"trace_id": f"{k.context.trace_id:032x}", "span_id": f"{k.context.span_id:016x}"} for k in span.links
        ],
        "start": span.start_time,
        "end": span.end_time,
        "status": span.status.status_code.name,
        "attributes": dict(span.attributes or {}),
    }
