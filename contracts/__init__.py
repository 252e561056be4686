"""Public interface of the ledger: command/event schemas and the AMQP topology.

Upstream publishers build :mod:`contracts.commands` envelopes; downstream subscribers parse
:mod:`contracts.events` envelopes. Both are frozen pydantic models with ``extra="forbid"``.
"""
