"""The command catalogue: one declaration per command type, the single source of what commands exist.

Each :class:`CommandSpec` (``contracts.spec``) says what a command is on the public side: its payload
model (whose fields declare what they refer to, ``contracts.refs``), the scope a caller needs, the HTTP
routes that send it (with their OpenAPI ``operationId``), the parties' rules and the system account it
posts against. The entries are declared next to their payload models (``contracts.wallets``,
``contracts.money``, ``contracts.holds``) and gathered here, in this order. Derived from this list, never
written again by hand: the command envelopes and their union (``contracts.commands``), the JSON Schemas
(``contracts.export``), the AsyncAPI document (``contracts.asyncapi``), the catalogue table in
docs/topology.md, the capability table of docs/security.md, the endpoint table of the README, the worker's
loading plan (``ledger_worker.load``) and the check that every type has exactly one rule
(``ledger_worker.rules``), the gateway's command routes, request bodies, early party checks and OpenAPI
names (``http_gateway.writes``), the SDK's command methods (``tools/sdk_generate.py``) and the examples the
access and trust tests send (``tests/examples.py``).

To add a command: a payload model and its entry in the module of its kind, its rule (``@rule("type")`` in
ledger_worker/rules), then ``make generate`` for the generated files.
"""

from __future__ import annotations

from contracts import holds, money, recon, wallets
from contracts.spec import CommandSpec, Method, PartyRule, Reach, Route

__all__ = ["COMMANDS", "SPECS", "CommandSpec", "Method", "PartyRule", "Reach", "Route"]

COMMANDS: tuple[CommandSpec, ...] = (*wallets.COMMANDS, *money.COMMANDS, *holds.COMMANDS, *recon.COMMANDS)

#: Each spec by its command type (the routing key a command is published with).
SPECS: dict[str, CommandSpec] = {spec.type: spec for spec in COMMANDS}
if len(SPECS) != len(COMMANDS):
    raise RuntimeError("a command type is declared twice in contracts.catalogue")
_OPERATIONS = [route.operation for spec in COMMANDS for route in spec.routes]
if len(set(_OPERATIONS)) != len(_OPERATIONS):
    raise RuntimeError("an operation id is declared twice in contracts.catalogue")
