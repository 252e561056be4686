"""Turn an AMQP message body into a command, or say in one line why it cannot become one.

Everything that cannot become a command raises one exception type, ``Undecodable`` (a
``contracts.errors.Rejected``), whose reason goes into the dead letter's ``x-ledger-dead-letter-reason``
header. A consumer therefore needs one ``except`` for "dead-letter this" and can treat anything else
as a fault of its own.

Checks, cheapest first: content type, size, UTF-8, strict JSON (no duplicate keys, no NaN/Infinity,
bounded nesting, no NUL or unpaired surrogates in strings), then the versioned contract.
"""

from __future__ import annotations

from pydantic import ValidationError

from contracts.bounds import MAX_BODY_BYTES, MAX_JSON_DEPTH

__all__ = ["MAX_BODY_BYTES", "MAX_REASON", "Undecodable", "decode"]
from contracts.commands import Command, parse_command
from contracts.errors import Rejected
from ledger_common.strict_json import NotStrictJson, check_json

#: Longest reason put in a header (pydantic locations can echo arbitrary field names).
MAX_REASON = 300

_JSON_TYPES = {"application/json"}


class Undecodable(Rejected):
    """The body cannot become a command; ``reason`` says why, in one short line."""

    code = "undecodable"

    def __init__(self, reason: str) -> None:
        self.reason = reason[:MAX_REASON]
        super().__init__(self.reason)


def decode(body: bytes, content_type: str | None) -> Command:
    """Decode and validate one command body; raise ``Undecodable`` for anything that is not one.

    ``content_type`` may be absent (older publishers); when present it must be JSON in UTF-8.
    """
    _check_content_type(content_type)
    if len(body) > MAX_BODY_BYTES:
        raise Undecodable(f"body too large: {len(body)} bytes > {MAX_BODY_BYTES}")
    if not body:
        raise Undecodable("empty body")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Undecodable(f"body is not UTF-8 (byte {exc.start})") from None
    try:
        check_json(text, max_depth=MAX_JSON_DEPTH)
    except NotStrictJson as exc:
        raise Undecodable(f"invalid JSON: {exc}") from None
    try:
        return parse_command(body)
    except ValidationError as exc:
        raise Undecodable(f"invalid command: {_describe(exc)}") from None
    except ValueError as exc:  # defensive: any other refusal by the contract
        raise Undecodable(f"invalid command: {exc}") from None


def _check_content_type(content_type: str | None) -> None:
    if content_type is None or content_type == "":
        return
    media, _, params = content_type.partition(";")
    if media.strip().lower() not in _JSON_TYPES:
        raise Undecodable(f"content_type {content_type[:60]!r} is not application/json")
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise Undecodable(f"charset {value.strip()[:20]!r} is not utf-8")


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    return f"{where}: {first['msg']} ({exc.error_count()} error(s))"
