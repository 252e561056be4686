"""Logging setup: one line per record, with secrets redacted from everything that is written.

Redaction runs on the fully formatted record (message, arguments and traceback), so a secret cannot
slip through an exception message or a library's log line. Covered: passwords in URLs, bearer
tokens, API keys (``lk_live_…``/``lk_test_…``: the public prefix is kept, the secret dropped), and
``password=``/``secret=``/``token=``/``pepper=`` pairs.

``LOG_FORMAT=json`` writes one JSON object per line instead (:class:`JsonFormatter`): every field is
redacted on its own before it is serialised, so a pattern never spans two fields or breaks the JSON.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

from ledger_common import tracing

#: The command a log line is about (the gateway sets it when it builds one, the worker around one command's lines).
COMMAND_ID: ContextVar[str | None] = ContextVar("command_id", default=None)
#: Who the request or command is from (the gateway sets it when a request authenticates).
PRINCIPAL: ContextVar[str | None] = ContextVar("principal", default=None)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(://[^:/@\s]+:)[^@\s]+@"), r"\1***@"),
    (re.compile(r"(?i)(\bbearer\s+)[^\s,;'\"]+"), r"\1***"),
    (re.compile(r"\b(lk_(?:live|test)_[0-9a-f]{12})_[A-Za-z0-9_-]+"), r"\1_***"),
    (re.compile(r"(?i)\b(password|passwd|secret|token|pepper|api_key)(\s*[=:]\s*)[^\s,;&'\"]+"), r"\1\2***"),
)


def redact(text: str) -> str:
    """``text`` with every secret pattern above replaced by ``***``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``ts`` (RFC 3339, UTC), ``level``, ``logger``, ``process``, ``msg``, and
    when known ``trace_id``/``span_id`` (the current span), ``command_id``, ``principal``, ``exc`` (traceback)."""

    def __init__(self, process: str) -> None:
        super().__init__()
        self._process = process

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        line: dict[str, Any] = {
            "ts": ts,
            "level": record.levelname,
            "logger": record.name,
            "process": self._process,
            "msg": record.getMessage(),
        }
        ids = tracing.current_ids()
        if ids is not None:
            line["trace_id"], line["span_id"] = ids
        if (command_id := COMMAND_ID.get()) is not None:
            line["command_id"] = command_id
        if (principal := PRINCIPAL.get()) is not None:
            line["principal"] = principal
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        # Each value redacted alone: the patterns may not run across a field boundary of the JSON text.
        return orjson.dumps({k: redact(v) if isinstance(v, str) else v for k, v in line.items()}).decode()


@contextmanager
def about(command_id: str | None, principal: str | None) -> Iterator[None]:
    """Log lines inside are about this command (``command_id`` and ``principal`` in JSON logs)."""
    command, who = COMMAND_ID.set(command_id), PRINCIPAL.set(principal)
    try:
        yield
    finally:
        COMMAND_ID.reset(command)
        PRINCIPAL.reset(who)


def setup_logging(level: str, fmt: str = "text", process: str = "ledger") -> None:
    """Configure the root logger for every process (uvicorn's loggers propagate to it).

    ``fmt``: ``text`` (one readable line) or ``json`` (:class:`JsonFormatter`); ``process`` names it in JSON.
    """
    handler = logging.StreamHandler()
    formatter = RedactingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    handler.setFormatter(JsonFormatter(process) if fmt == "json" else formatter)
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    logging.getLogger("aiormq").setLevel(logging.WARNING)
    logging.getLogger("aio_pika").setLevel(logging.WARNING)
