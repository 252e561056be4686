"""Dead letters of both sources, shared by ``ledger dlq`` and the gateway's admin routes.

``commands``: the broker queue ``ledger.commands.dead``; ``events``: outbox rows the relay gave up on.
"""
