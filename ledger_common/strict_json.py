"""Strict JSON, the same for a command over AMQP and a request body over HTTP.

What a lenient parser silently accepts is refused: a repeated key (two parsers may pick different
values: ``{"amount": 1, "amount": 7}``), ``NaN``/``Infinity``, nesting deeper than a bound, and strings
PostgreSQL cannot store (NUL) or JSON cannot carry (unpaired surrogates).
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from contracts.errors import Rejected


class NotStrictJson(Rejected):
    """The text is not strict JSON; the message says why, in a short line."""

    code = "invalid_json"


class NotJson(NotStrictJson):
    """The text is not JSON at all: no parser reads it (``position``: where the parser stopped, if it says)."""

    def __init__(self, message: str, *, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


def check_json(text: str | bytes, *, max_depth: int) -> Any:
    """The document ``text`` holds, if it is strict JSON; else raise :class:`NotStrictJson`."""
    try:
        doc = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_reject_constant)
    except RecursionError:
        raise NotJson(f"nested deeper than {max_depth}") from None
    except NotStrictJson:
        raise
    except json.JSONDecodeError as exc:
        raise NotJson(str(exc)[:120], position=exc.pos) from None
    except ValueError as exc:  # UnicodeDecodeError, int() refusing more than 4300 digits
        raise NotJson(str(exc)[:120]) from None
    _check_tree(doc, max_depth)
    return doc


def _reject_constant(name: str) -> NoReturn:
    raise NotStrictJson(f"{name} is not a number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise NotStrictJson(f"duplicate key {key[:40]!r}")
        obj[key] = value
    return obj


def _check_tree(doc: Any, max_depth: int) -> None:
    # Iterative, so a deep document cannot exhaust the interpreter's stack here.
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            _check_string(node)
        elif isinstance(node, dict | list):
            if depth > max_depth:
                raise NotStrictJson(f"nested deeper than {max_depth}")
            items = list(node.items()) if isinstance(node, dict) else [(None, v) for v in node]
            for key, value in items:
                if key is not None:
                    _check_string(key)
                stack.append((value, depth + 1))


def _check_string(value: str) -> None:
    if "\x00" in value:
        raise NotStrictJson("string contains NUL")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise NotStrictJson("string contains an unpaired surrogate") from None
