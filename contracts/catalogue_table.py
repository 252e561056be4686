"""The command catalogue table of docs/topology.md, rendered from ``contracts.catalogue`` (``make schemas``).

The table sits between :data:`BEGIN` and :data:`END`; the prose around it is kept as written.
"""

from __future__ import annotations

from pathlib import Path

from contracts.catalogue import COMMANDS, CommandSpec

TOPOLOGY_DOC = Path(__file__).resolve().parent.parent / "docs" / "topology.md"
BEGIN = "<!-- catalogue:begin (generated from contracts/catalogue.py by `make schemas`; do not edit) -->"
END = "<!-- catalogue:end -->"
HEADER = ("| type | payload fields (*optional*) | HTTP | scope | effect |", "| --- | --- | --- | --- | --- |")


def _cell(text: str) -> str:
    """Markdown table cell: RST literals as code spans, pipes escaped."""
    return text.replace("``", "`").replace("|", "\\|")


def _fields(spec: CommandSpec) -> str:
    fields = spec.payload.model_fields
    return ", ".join(f"`{name}`" if field.is_required() else f"*`{name}`*" for name, field in fields.items())


def row(spec: CommandSpec) -> str:
    routes = "<br>".join(f"`{r.method} {r.path}`" for r in spec.routes) or "none (the worker's sweeper)"
    scope = f"`{spec.scope}`" if spec.scope is not None else "none"
    cells = (f"`{spec.type}`", _fields(spec), routes, scope, _cell(spec.summary))
    return "| " + " | ".join(cells) + " |"


def render_table(specs: tuple[CommandSpec, ...] = COMMANDS) -> str:
    """The table with its markers, one row per command type in catalogue order."""
    return "\n".join((BEGIN, *HEADER, *(row(spec) for spec in specs), END))


def splice(document: str, table: str | None = None) -> str:
    """``document`` with the text between the markers (markers included) replaced by ``table``."""
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{TOPOLOGY_DOC.name} lacks the catalogue markers {BEGIN!r} ... {END!r}")
    return document[:start] + (table or render_table()) + document[end + len(END) :]


def types_in(document: str) -> list[str]:
    """The command types the document's catalogue table names (first column), in order."""
    start, end = document.find(BEGIN), document.find(END)
    rows = document[start:end].splitlines()[1 + len(HEADER) :]
    return [line.split("|")[1].strip().strip("`") for line in rows if line.startswith("|")]
