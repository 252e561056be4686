"""Typed client of the ledger (placeholder; filled in below)."""
