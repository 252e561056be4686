"""The async client: the hand-written source of ledger_sdk._sync (tools/sdk_generate.py)."""
