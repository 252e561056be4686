"""Outbox relay: publishes committed outbox rows to ``ledger.events`` with publisher confirms."""
