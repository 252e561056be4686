"""Turn a delivery's body into a command, or say in one line why it cannot become one."""

from __future__ import annotations

from pydantic import ValidationError

from contracts.commands import Command, parse_command

#: Larger bodies are refused before parsing; real commands are a few kilobytes at most.
MAX_BODY_BYTES = 256 * 1024


class Undecodable(Exception):
    """The body is not a valid command; ``reason`` goes into the dead-letter header."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decode(body: bytes, content_type: str | None = None) -> Command:
    """Validate ``body`` as a command envelope; raises :class:`Undecodable` with a short reason."""
    if len(body) > MAX_BODY_BYTES:
        raise Undecodable(f"invalid command: body of {len(body)} bytes exceeds {MAX_BODY_BYTES}")
    try:
        return parse_command(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise Undecodable(f"invalid command: {where}: {first['msg']} ({exc.error_count()} error(s))") from None
    except (ValueError, RecursionError) as exc:
        raise Undecodable(f"invalid command: {str(exc)[:200]}") from None
