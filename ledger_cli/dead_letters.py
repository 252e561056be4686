"""One shape for a dead letter of either source, and its text and JSON renderings."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
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


def to_json(letters: list[DeadLetter]) -> str:
    return json.dumps([asdict(letter) for letter in letters], indent=2, ensure_ascii=False)


def to_line(letter: DeadLetter) -> str:
    """One tab-separated line: source, id, routing key, attempts, size, reason, extras, body."""
    extras = " ".join(f"{k}={printable(str(v))}" for k, v in letter.extra.items() if not isinstance(v, dict))
    cells = [
        letter.source,
        printable(letter.id),
        f"rk={printable(letter.routing_key)}",
        f"attempts={letter.attempts}",
        f"size={letter.size}",
        f"reason={printable(letter.reason)}",
        extras,
        f"body={letter.body}",
    ]
    return "\t".join(c for c in cells if c)


def to_block(letter: DeadLetter) -> str:
    """Every field on its own line, for ``show``."""
    lines = [f"{name}: {printable(str(getattr(letter, name)))}" for name in ("source", "id", "routing_key")]
    lines += [f"reason: {printable(letter.reason)}", f"attempts: {letter.attempts}", f"size: {letter.size} bytes"]
    for key, value in letter.extra.items():
        rendered = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)
        lines.append(f"{key}: {printable(rendered)}")
    lines.append(f"body: {letter.body}")
    return "\n".join(lines)
