"""The command catalogue table of docs/topology.md is the one rendered from ``contracts.catalogue``."""

from __future__ import annotations

from contracts.catalogue import COMMANDS
from contracts.catalogue_table import TOPOLOGY_DOC, splice, types_in


def test_the_docs_table_is_rendered_from_the_catalogue() -> None:
    text = TOPOLOGY_DOC.read_text()
    assert text == splice(text), "run `make schemas` and commit docs/topology.md"
    assert types_in(text) == [spec.type for spec in COMMANDS]
