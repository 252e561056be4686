"""One trace per command: gateway, worker and relay spans under the caller's trace id, carried on to subscribers.

Each process writes its spans to a file of its own (``OTEL_TRACES_EXPORTER=ledger_file``, a test aid of
ledger_common/tracing.py). Spans are found by polling the files; nothing here depends on timing.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from contracts.signing import verify_message
from ledger_cli.processes import Processes
from tests.e2e.access import bearer
from tests.e2e.conftest import Subscriber, publish_command, subscribe, wait_until

pytestmark = pytest.mark.e2e

Span = dict[str, Any]


def _env(tmp_path: Path, name: str) -> dict[str, str]:
    return {
        "OTEL_TRACES_EXPORTER": "ledger_file",
        "LEDGER_TRACE_FILE": str(tmp_path / f"{name}.spans.jsonl"),
        "LOG_FORMAT": "json",
    }


def _spans(path: Path) -> list[Span]:
    if not path.exists():
        return []
    text = path.read_text()
    return [json.loads(line) for line in text[: text.rfind("\n") + 1].splitlines()]  # whole lines only


async def _find(path: Path, what: str, attributes: dict[str, Any] | None = None, **match: Any) -> Span:
    """The first span in ``path`` whose fields equal ``match`` and has ``attributes``, waiting for it."""
    deadline = time.monotonic() + 30
    wanted = (attributes or {}).items()
    while True:
        for span in _spans(path):
            if all(span[k] == v for k, v in match.items()) and wanted <= span["attributes"].items():
                return span
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} span {match} in {path.name}: {_spans(path)}")
        await asyncio.sleep(0.05)


def _traceparent(trace_id: str, span_id: str) -> str:
    return f"00-{trace_id}-{span_id}-01"


def _command(kind: str, payload: dict[str, object]) -> dict[str, object]:
    return {
        "command_id": uuid.uuid4().hex,
        "type": kind,
        "issued_at": datetime.now(UTC).isoformat(),
        "payload": payload,
    }


async def _events_of(sub: Subscriber, command_id: str, count: int) -> list[AbstractIncomingMessage]:
    await sub.wait_for(lambda evs: sum(e.command_id == command_id for e in evs) >= count)
    return [m for m, e in zip(sub.messages, sub.events, strict=True) if e.command_id == command_id]


async def _check_trace(tmp_path: Path, sub: Subscriber, command_id: str, events: int, parent: Span | str) -> str:
    """The worker's span of ``command_id`` is a child of ``parent`` (a span, or a remote span id), the batch
    span links to it, each event's publish span is its child, and the delivered events carry that trace."""
    trace_id = parent["trace_id"] if isinstance(parent, dict) else None
    worker = tmp_path / "worker.spans.jsonl"
    command = await _find(worker, "command", {"ledger.command_id": command_id})
    parent_id = parent["span_id"] if isinstance(parent, dict) else parent
    assert command["kind"] == "CONSUMER" and command["parent_span_id"] == parent_id
    assert command["service"] == "ledger-worker"
    trace_id = trace_id or command["trace_id"]
    assert command["trace_id"] == trace_id
    link = {"trace_id": trace_id, "span_id": command["span_id"]}
    deadline = time.monotonic() + 30
    while not any(s["name"] == "apply batch" and link in s["links"] for s in _spans(worker)):
        assert time.monotonic() < deadline, "no batch span links to the command's span"
        await asyncio.sleep(0.05)
    delivered = await _events_of(sub, command_id, events)
    for message in delivered:
        header = message.headers["traceparent"]
        traceparent = header.decode() if isinstance(header, bytes) else str(header)
        _, tid, span_id, _ = traceparent.split("-")
        assert tid == trace_id
        publish = await _find(tmp_path / "relay.spans.jsonl", "publish", span_id=span_id)
        assert publish["name"] == f"publish {message.routing_key}" and publish["kind"] == "PRODUCER"
        assert publish["trace_id"] == trace_id and publish["parent_span_id"] == command["span_id"]
        assert publish["service"] == "ledger-relay"
    return str(trace_id)


async def test_one_trace_per_command_across_gateway_worker_relay_and_subscriber(
    isolated: Processes, amqp: AbstractRobustConnection, tmp_path: Path
) -> None:
    s = isolated.settings
    for name in ("worker", "relay", "gateway"):
        isolated.start(name, env=_env(tmp_path, name))
    sub = await subscribe(amqp, s)
    gateway = tmp_path / "gateway.spans.jsonl"
    token = s.service_api_key.get_secret_value()
    async with httpx.AsyncClient(base_url=isolated.base_url, timeout=30, headers=bearer(token)) as c:
        a, b = [
            (await c.post("/v1/accounts", json={"currency": "USD"}, headers=_key())).json()["account_id"] for _ in "ab"
        ]
        # Without a traceparent the gateway starts the trace.
        deposit = _key()
        r = await c.post("/v1/deposits", json={"account_id": a, "amount": 100, "currency": "USD"}, headers=deposit)
        assert r.status_code == 200, r.text
        # With the caller's own: the gateway's span is its child.
        trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
        transfer = {**_key(), "traceparent": _traceparent(trace_id, caller_span)}
        body = {"debit_account_id": a, "credit_account_id": b, "amount": 40, "currency": "USD"}
        r = await c.post("/v1/transfers", json=body, headers=transfer)
        assert r.status_code == 200, r.text

    started = await _find(gateway, "request", name="POST /v1/deposits")
    assert started["parent_span_id"] is None and started["kind"] == "SERVER"
    assert started["attributes"]["http.route"] == "/v1/deposits" and started["service"] == "ledger-gateway"
    await _check_trace(tmp_path, sub, deposit["Idempotency-Key"], 1, started)

    request = await _find(gateway, "request", name="POST /v1/transfers")
    assert request["trace_id"] == trace_id and request["parent_span_id"] == caller_span
    assert request["attributes"]["http.response.status_code"] == 200
    await _check_trace(tmp_path, sub, transfer["Idempotency-Key"], 2, request)  # account.debited and .credited

    # An AMQP publisher's own traceparent is honoured the same way.
    published_trace, publisher_span = secrets.token_hex(16), secrets.token_hex(8)
    cmd = _command("deposit", {"account_id": b, "amount": 7, "currency": "USD"})
    headers = {"traceparent": _traceparent(published_trace, publisher_span)}
    await publish_command(amqp, s, cmd, routing_key="deposit", headers=headers)
    assert await _check_trace(tmp_path, sub, str(cmd["command_id"]), 1, publisher_span) == published_trace

    # The traceparent header does not touch the signature (it covers routing key, ids, type, time and body).
    assert sub.messages and all(verify_message(m, s.signing_keys) for m in sub.messages)
    # Logs are JSON lines naming their process.
    for name in ("gateway", "worker", "relay"):
        lines = [json.loads(line) for line in isolated.log(name).splitlines() if line.startswith("{")]
        assert lines and all(
            line["process"] == name and {"ts", "level", "logger", "msg"} <= line.keys() for line in lines
        )


async def test_tracing_off_writes_no_spans_and_null_outbox_traceparents(
    isolated: Processes, amqp: AbstractRobustConnection, tmp_path: Path
) -> None:
    s = isolated.settings
    spans = tmp_path / "spans"
    spans.mkdir()
    off = {"OTEL_TRACES_EXPORTER": "none", "LEDGER_TRACE_FILE": str(spans / "spans.jsonl")}
    for name in ("worker", "gateway"):  # no relay yet: the outbox rows stay to be looked at
        isolated.start(name, env=off)
    sub = await subscribe(amqp, s)
    key = _key()
    traced = {**key, "traceparent": _traceparent(secrets.token_hex(16), secrets.token_hex(8))}
    token = s.service_api_key.get_secret_value()
    async with httpx.AsyncClient(base_url=isolated.base_url, timeout=30, headers=bearer(token)) as c:
        r = await c.post("/v1/accounts", json={"currency": "USD"}, headers=traced)
        assert r.status_code == 201, r.text
    conn = await asyncpg.connect(s.database_url.get_secret_value())
    try:
        rows = await conn.fetch("SELECT traceparent FROM outbox WHERE command_id = $1", key["Idempotency-Key"])
        assert rows and all(row["traceparent"] is None for row in rows)
        isolated.start("relay", env=off)
        (message,) = await _events_of(sub, key["Idempotency-Key"], 1)
        assert "traceparent" not in (message.headers or {})
        await wait_until(lambda: conn.fetchval("SELECT count(*) = 0 FROM outbox"))
    finally:
        await conn.close()
    assert list(spans.iterdir()) == []  # not one span file


def _key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}
