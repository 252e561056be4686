"""JSON log lines: their fields, and the same secret redaction as the text format (tests/unit/test_security.py)."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from datetime import datetime

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from ledger_common import tracing
from ledger_common.apikeys import new_key, token_of
from ledger_common.logs import JsonFormatter, RedactingFormatter, about, setup_logging


def _record(msg: str, *args: object, exc: bool = False, name: str = "ledger_worker") -> logging.LogRecord:
    info = None
    if exc:
        try:
            raise RuntimeError("could not connect to amqp://svc:topsecret@host/ with Bearer abc.def")
        except RuntimeError:
            info = sys.exc_info()
    return logging.LogRecord(name, logging.WARNING, __file__, 1, msg, args, info)


def _line(record: logging.LogRecord, process: str = "worker") -> dict[str, object]:
    out = JsonFormatter(process).format(record)
    assert "\n" not in out  # one record, one line
    parsed: dict[str, object] = json.loads(out)
    return parsed


def test_a_json_line_has_its_fields() -> None:
    line = _line(_record("batch of %d not settled", 3))
    assert line.keys() == {"ts", "level", "logger", "process", "msg"}  # nothing known beyond these: left out
    assert (line["level"], line["logger"], line["process"], line["msg"]) == (
        "WARNING",
        "ledger_worker",
        "worker",
        "batch of 3 not settled",
    )
    ts = str(line["ts"])
    assert ts.endswith("Z") and datetime.fromisoformat(ts).utcoffset() is not None  # RFC 3339, UTC


def test_command_and_principal_while_a_command_is_handled() -> None:
    with about("order-8812", "amqp:orders"):
        line = _line(_record("command %s failed", "order-8812"))
    assert line["command_id"] == "order-8812" and line["principal"] == "amqp:orders"
    assert "command_id" not in _line(_record("after it"))  # reset on the way out


def test_exceptions_go_to_exc() -> None:
    line = _line(_record("failed", exc=True))
    assert "RuntimeError" in str(line["exc"]) and "Traceback" in str(line["exc"])


@pytest.fixture
def traced(monkeypatch: pytest.MonkeyPatch) -> Iterator[trace.Tracer]:
    """Tracing on for this test only: a provider of its own, never the process's global one."""
    monkeypatch.setattr(tracing, "ENABLED", True)
    yield TracerProvider().get_tracer("test")


def test_trace_and_span_ids_of_the_current_span(traced: trace.Tracer) -> None:
    with traced.start_as_current_span("apply batch") as span:
        line = _line(_record("inside"))
    context = span.get_span_context()
    assert line["trace_id"] == f"{context.trace_id:032x}" and line["span_id"] == f"{context.span_id:016x}"
    assert "trace_id" not in _line(_record("outside"))


def test_no_trace_ids_with_tracing_off() -> None:
    assert not tracing.ENABLED
    with TracerProvider().get_tracer("test").start_as_current_span("a span nobody exports"):
        assert "trace_id" not in _line(_record("inside"))


def test_every_secret_is_redacted_in_every_field() -> None:
    token = token_of(new_key("test"))
    prefix = token.rsplit("_", 1)[0][:20]
    text = (
        f"Authorization: Bearer {token} url=amqp://ledger:hunter2@rabbit:5672/ledger "
        f"postgresql://u:pg-secret@db/ledger key {token} password=opensesame token: t0k3n"
    )
    secrets = (token, "hunter2", "pg-secret", "opensesame", "t0k3n", token[-43:], "topsecret", "abc.def")
    with about(f"cmd password={'opensesame'}", f"Bearer {token}"):
        for record in (_record(text, exc=True), _record("failed with %s", text, exc=True)):
            out = JsonFormatter("gateway").format(record)
            json.loads(out)  # still JSON: redaction never runs across a field boundary
            text_out = RedactingFormatter("%(message)s").format(record)
            for secret in secrets:
                assert secret not in out, secret
                assert secret not in text_out, secret
            assert prefix in out  # the public part stays, as in the text format


def test_a_url_password_pattern_cannot_span_two_fields() -> None:
    # Over the whole JSON text, "://host:" in one field and an "@" in the next would be one match.
    with about(None, "key:me@example"):
        line = _line(_record("see http://host:8000/path"))
    assert line["msg"] == "see http://host:8000/path" and line["principal"] == "key:me@example"


def test_setup_logging_chooses_the_format() -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        setup_logging("INFO", "json", process="relay")
        assert isinstance(root.handlers[0].formatter, JsonFormatter)
        setup_logging("INFO")
        formatter = root.handlers[0].formatter
        assert isinstance(formatter, RedactingFormatter) and not isinstance(formatter, JsonFormatter)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
