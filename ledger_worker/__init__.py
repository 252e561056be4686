"""Ledger worker: consumes commands and applies each in one PostgreSQL transaction."""
