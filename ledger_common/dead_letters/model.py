"""One shape for a dead letter of either source (the CLI and the gateway show the same), and safe previews."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

Source = Literal["commands", "events"]


@dataclass(frozen=True)
class DeadLetter:
    """A dead-lettered command (broker queue) or event (outbox row), as an operator sees it."""

    source: Source
    #: What ``ledger dlq show|replay|purge`` take: a message id, or an outbox row id.
    id: str
    routing_key: str
    reason: str
    attempts: int
    size: int
    #: The first bytes of the body, undecodable bytes escaped.
    body: str
    extra: dict[str, Any] = field(default_factory=dict)
    #: When it died (ISO 8601), where known: the outbox row's ``dead_at``, the broker's newest ``x-death``.
    dead_at: str | None = None
    #: The broker user that published a dead command (its ``user_id``); None for events.
    published_by: str | None = None


def plain(value: Any) -> Any:
    """AMQP header values and database values as JSON-ready Python values."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def preview(body: bytes, limit: int) -> str:
    """The first ``limit`` bytes, readable on a terminal: invalid UTF-8 and control bytes escaped."""
    text = body[:limit].decode("utf-8", "backslashreplace")
    return printable(text) + ("…" if len(body) > limit else "")


def printable(text: str) -> str:
    """Escape control characters so a hostile id or body cannot move the cursor or forge a line."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)
