"""Tracing's switch, its propagation helpers, and the gateway's request span (in-process, a provider of its own)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from http_gateway.app import create_app
from http_gateway.traced import TraceRequests
from ledger_common import tracing
from ledger_common.settings import Settings

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


@pytest.mark.parametrize(
    ("environ", "names"),
    [
        ({}, []),
        ({"OTEL_TRACES_EXPORTER": "none"}, []),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, ["otlp"]),
        ({"OTEL_TRACES_EXPORTER": " OTLP, console "}, ["otlp", "console"]),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, []),
    ],
)
def test_tracing_is_on_only_when_an_exporter_is_named(environ: dict[str, str], names: list[str]) -> None:
    assert tracing.exporter_names(environ) == names


def test_off_sets_up_nothing() -> None:
    assert not tracing.configure("worker", {"OTEL_TRACES_EXPORTER": "none"})
    assert not tracing.ENABLED
    installed: list[object] = [m.cls for m in create_app(Settings(_env_file=None)).user_middleware]
    assert TraceRequests not in installed


def test_traceparent_from_amqp_headers_whatever_their_type() -> None:
    for value in (f"00-{TRACE_ID}-{PARENT}-01", f"00-{TRACE_ID}-{PARENT}-01".encode()):
        context = tracing.extract({"traceparent": value, "x-ledger-signature": "v2=…"})
        span = TracerProvider().get_tracer("t").start_span("child", context=context)
        assert tracing.traceparent(span) == f"00-{TRACE_ID}-{span.get_span_context().span_id:016x}-01"
        assert isinstance(span, ReadableSpan) and span.parent is not None and f"{span.parent.span_id:016x}" == PARENT
    assert tracing.extract({"traceparent": "garbage"}) == tracing.extract(None)


@pytest.fixture
def exported(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "ENABLED", True)
    monkeypatch.setattr(tracing, "_tracer", provider.get_tracer("test"))
    yield exporter


def _app() -> FastAPI:
    app = FastAPI(telemetry={"tracing": False})
    v1, transfers = APIRouter(prefix="/v1"), APIRouter()

    @transfers.post("/transfers/{transfer_id}")
    async def transfer(transfer_id: str) -> dict[str, str]:
        headers: dict[str, str] = {}
        tracing.inject(headers)  # what http_gateway/bus.py puts on the command message
        return headers

    v1.include_router(transfers)
    app.include_router(v1)
    app.add_middleware(TraceRequests)
    return app


async def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://gateway")


async def test_a_request_span_named_by_its_route_template_continues_the_callers_trace(
    exported: InMemorySpanExporter,
) -> None:
    async with await _client() as client:
        r = await client.post("/v1/transfers/t-1", headers={"traceparent": f"00-{TRACE_ID}-{PARENT}-01"})
    (span,) = exported.get_finished_spans()
    assert span.name == "POST /v1/transfers/{transfer_id}"
    assert span.attributes is not None and span.attributes["http.route"] == "/v1/transfers/{transfer_id}"
    assert span.attributes["http.response.status_code"] == 200
    context = span.get_span_context()
    assert context is not None and f"{context.trace_id:032x}" == TRACE_ID
    assert span.parent is not None and f"{span.parent.span_id:016x}" == PARENT
    assert r.json()["traceparent"] == f"00-{TRACE_ID}-{context.span_id:016x}-01"  # the message's parent: this span


async def test_a_request_without_traceparent_starts_a_trace(exported: InMemorySpanExporter) -> None:
    async with await _client() as client:
        await client.post("/v1/transfers/t-2")
        await client.get("/nowhere")
    spans: tuple[ReadableSpan, ...] = exported.get_finished_spans()
    assert [s.name for s in spans] == ["POST /v1/transfers/{transfer_id}", "GET"]  # unmatched: the method alone
    assert all(s.parent is None for s in spans)
