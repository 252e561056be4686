"""Text and JSON renderings of dead letters for ``ledger dlq`` (the shape is ledger_common.dead_letters)."""

from __future__ import annotations

import json
from dataclasses import asdict

from ledger_common.dead_letters.model import DeadLetter, printable


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
