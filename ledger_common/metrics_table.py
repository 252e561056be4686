"""The metrics table of docs/observability.md, rendered from ``ledger_common.metrics.DECLARED``.

``make schemas`` (``python -m ledger_common.metrics_table``) writes it between its markers;
tests/unit/test_observability_config.py checks the committed table equals the rendering.
"""

from __future__ import annotations

from pathlib import Path

from ledger_common.metrics import DECLARED, Declared

DOC = Path(__file__).resolve().parent.parent / "docs" / "observability.md"
BEGIN = "<!-- metrics table: generated from ledger_common/metrics.py by `make schemas` -->"
END = "<!-- end of metrics table -->"
HEADER = ("| metric | type | labels | exported by | meaning |", "| --- | --- | --- | --- | --- |")


def row(d: Declared) -> str:
    labels = ", ".join(f"`{label}`" for label in d.labels) or "-"
    return f"| `{d.name}` | {d.kind} | {labels} | {', '.join(d.processes)} | {d.help} |"


def render_table() -> str:
    return "\n".join((BEGIN, *HEADER, *(row(d) for d in DECLARED), END))


def splice(document: str) -> str:
    """``document`` with the text between the markers (markers included) replaced by the rendering."""
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{DOC.name} lacks the metrics table markers {BEGIN!r} ... {END!r}")
    return document[:start] + render_table() + document[end + len(END) :]


def main() -> None:
    DOC.write_text(splice(DOC.read_text()))
    print(f"wrote the metrics table of {DOC}")


if __name__ == "__main__":
    main()
