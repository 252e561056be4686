# Generated from ledger_sdk/_async/__init__.py by tools/sdk_generate.py; edit that file, not this one.
"""The async client: the hand-written source of ledger_sdk._sync (tools/sdk_generate.py)."""
