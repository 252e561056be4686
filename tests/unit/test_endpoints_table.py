"""The README's endpoint table is rendered from the gateway's routes (``make generate``)."""

from __future__ import annotations

from http_gateway import endpoints_table


def test_the_readme_endpoint_table_is_current() -> None:
    text = endpoints_table.README.read_text()
    assert text == endpoints_table.splice(text), "run `make generate` and commit README.md"
