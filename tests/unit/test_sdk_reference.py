"""sdk/REFERENCE.md is rendered from the SDK's docstrings (``make generate``): it is current, and everything it
shows has a docstring of its own."""

from __future__ import annotations

import typing

from pydantic import TypeAdapter

from contracts.base import Handle
from contracts.wallets import WalletKind
from tools import sdk_reference

ROOT = sdk_reference.ROOT


def test_the_committed_reference_is_current() -> None:
    assert sdk_reference.main(["--check"]) == 0, "run `make generate` (python tools/sdk_reference.py)"


def test_every_public_class_method_and_property_has_a_docstring() -> None:
    assert sdk_reference.undocumented() == []


def test_every_routed_method_is_in_the_reference() -> None:
    text = sdk_reference.REFERENCE.read_text()
    for attribute, cls in sdk_reference.resources():
        for name, _ in sdk_reference.public_members(cls):
            assert f"client.{attribute}.{name}(" in text, f"client.{attribute}.{name}"


def test_the_documented_handle_pattern_and_wallet_kinds_are_the_contracts() -> None:
    """The READMEs and the wallets' docstring state the handle pattern and the kinds; they are the contract's."""
    pattern = TypeAdapter(Handle).json_schema()["pattern"]
    kinds = typing.get_args(WalletKind)
    docs = [ROOT / "README.md", ROOT / "sdk" / "README.md", sdk_reference.REFERENCE]
    for doc in docs:
        text = doc.read_text()
        assert f"`{pattern}`" in text, doc
        assert all(f"`{kind}`" in text for kind in kinds), doc
