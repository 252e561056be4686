"""Several data-modifying statements sent as one: the CTEs of a single statement, one round trip.

A worker batch used to write its tables with one statement each (about eight), and each statement
is a socket write and a wake-up of the PostgreSQL backend: py-spy showed those writes alone at a
tenth of the worker's CPU. As CTEs of one statement they run under one snapshot, each unaware of
the others' rows, which is right for writes to disjoint rows; foreign keys between them (a posting
to the transaction beside it) are checked when the whole statement ends.
"""

from __future__ import annotations

import re
from typing import Any

import asyncpg

_PARAMETER = re.compile(r"\$(\d+)")


class Script:
    """Named statements, each numbering its own parameters from ``$1``; :meth:`run` sends them as one."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._args: list[Any] = []

    def add(self, name: str, sql: str, *args: Any) -> None:
        """Add ``sql`` (an INSERT, UPDATE or SELECT without a WITH of its own) as the CTE ``name``."""
        offset = len(self._args)
        self._parts.append(f"{name} AS ({_PARAMETER.sub(lambda m: f'${int(m[1]) + offset}', sql)})")
        self._args.extend(args)

    def __bool__(self) -> bool:
        return bool(self._parts)

    async def run(self, conn: asyncpg.Connection, final: str = "SELECT 1") -> Any:
        """Execute every part, then ``final`` (which may read the parts' RETURNING rows); its first value."""
        if not self._parts:
            return await conn.fetchval(final)
        return await conn.fetchval(f"WITH {', '.join(self._parts)} {final}", *self._args)
