"""The rule table: ``@rule("type")`` binds a command type of the catalogue to the function applying it.

Each command type has exactly one rule, and a rule's payload parameter is annotated with the payload
model its specs declare: both are checked when the rule is registered and, for completeness, when
``ledger_worker.rules`` is imported (the worker refuses to start on a mismatch instead of failing
inside a batch).
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any, TypeVar

from contracts.catalogue import SPECS
from contracts.commands import Command
from ledger_worker.book import Book
from ledger_worker.outcome import Outcome

#: ``rule(book, cmd, payload) -> Outcome``; ``payload`` is ``cmd.payload``, typed as the rule needs it.
Rule = Callable[[Book, Command, Any], Outcome]
F = TypeVar("F", bound=Callable[..., Outcome])

RULES: dict[str, Rule] = {}


def rule(*types: str) -> Callable[[F], F]:
    """Register the decorated function as the rule of ``types``."""

    def register(fn: F) -> F:
        hints = typing.get_type_hints(fn)
        accepted = set(typing.get_args(hints["p"])) or {hints["p"]}
        for kind in types:
            if kind not in SPECS:
                raise RuntimeError(f"rule {fn.__name__} names {kind!r}, which contracts.catalogue does not declare")
            if kind in RULES:
                raise RuntimeError(f"{kind!r} has two rules: {RULES[kind].__name__} and {fn.__name__}")
            if SPECS[kind].payload not in accepted:
                raise RuntimeError(f"rule {fn.__name__} does not take {SPECS[kind].payload.__name__} payloads")
            RULES[kind] = fn
        return fn

    return register


def check_complete() -> None:
    """Every declared command type has its rule."""
    missing = sorted(set(SPECS) - set(RULES))
    if missing:
        raise RuntimeError(f"command types without a rule: {', '.join(missing)}")


def outcome(cmd: Command) -> Outcome:
    """A new, empty outcome of ``cmd``."""
    return Outcome(cmd.command_id, cmd.type, cmd.principal)
