"""Split a SQL script into statements (the asyncpg driver prepares one statement at a time)."""

from __future__ import annotations


def statements(script: str) -> list[str]:
    """Split on ``;`` at line ends, ignoring those inside ``$$``-quoted function bodies."""
    out: list[str] = []
    current: list[str] = []
    in_body = False
    for line in script.splitlines():
        current.append(line)
        in_body ^= line.count("$$") % 2 == 1
        if not in_body and line.rstrip().endswith(";"):
            out.append("\n".join(current).strip())
            current = []
    tail = "\n".join(current).strip()
    if tail:
        out.append(tail)
    return out


def run(script: str) -> None:
    """Execute a migration's script, one statement at a time (inside alembic's migration context)."""
    from alembic import op

    for statement in statements(script):
        op.execute(statement)
