"""Who sent each command: identity from what a caller cannot forge, capabilities from the database.

Over AMQP the identity is the ``user_id`` property, which RabbitMQ checks against the user the
publishing connection authenticated as. A command's ``principal`` field is only a claim:

- the gateway's broker users (``AMQP_GATEWAY_USERS``) speak for API keys and the ledger's tools, so
  their claim is taken (``key:<id>``, ``service``, ``seed``…), except the ledger's own ``system:``
  principals and other publishers' ``amqp:`` ones;
- any other broker user ``U`` is ``amqp:U``, whatever its body says; a body claiming another principal
  is recorded as refused (``forbidden_principal``).

In-process callers (the sweeper, tools, tests) pass no broker user and are taken at their word.
Capabilities are read with the batch: API keys from ``api_keys`` (scopes, wallet, revoked), broker
publishers from ``broker_publishers``; every other principal is the ledger's own and may do anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import asyncpg

from contracts.commands import Command
from contracts.ids import RESERVED_PRINCIPAL_PREFIX, principal_key, publisher_principal
from contracts.keys import ALL_SCOPES, Scope
from ledger_worker.model import Caller

_PUBLISHER = "amqp:"
_KEY = "key:"
_KNOWN = frozenset(s.value for s in Scope)


def identify(cmd: Command, user: str | None, *, gateway_users: frozenset[str]) -> tuple[Command, str | None]:
    """``cmd`` with the principal it is recorded under, and the claim refused as forged (if any)."""
    if user is None:
        return cmd, None
    own = publisher_principal(user)
    claim = cmd.principal
    if claim is None or claim == own:
        principal, forged = own, None
    elif user in gateway_users and not claim.startswith((RESERVED_PRINCIPAL_PREFIX, _PUBLISHER)):
        principal, forged = claim, None
    else:
        principal, forged = own, claim
    if principal == cmd.principal:
        return cmd, forged
    return cmd.model_copy(update={"principal": principal}), forged


async def load_callers(conn: asyncpg.Connection, principals: Iterable[str | None]) -> dict[str | None, Caller]:
    """The capabilities of each principal, read in the batch's transaction (a revocation applies at once)."""
    wanted = set(principals)
    # Every "key:" principal is a key; a malformed one names no key and may do nothing.
    keys = {p: principal_key(p) for p in wanted if p is not None and p.startswith(_KEY)}
    publishers = {p: p.removeprefix(_PUBLISHER) for p in wanted if p and p.startswith(_PUBLISHER)}
    found: dict[str | None, Caller] = {}
    if keys:
        rows = await conn.fetch(
            "SELECT id, scopes, wallet_id, revoked_at IS NOT NULL AS revoked FROM api_keys WHERE id = ANY($1::uuid[])",
            [k for k in keys.values() if k is not None],
        )
        by_id: dict[UUID, asyncpg.Record] = {r["id"]: r for r in rows}
        for principal, key_id in keys.items():
            row = by_id.get(key_id) if key_id is not None else None
            found[principal] = (
                Caller(principal or "", _scopes(row["scopes"]), row["wallet_id"], revoked=row["revoked"])
                if row is not None
                else Caller(principal or "", frozenset(), revoked=True)  # no such key: nothing is allowed
            )
    if publishers:
        rows = await conn.fetch(
            "SELECT name, scopes, wallet_id FROM broker_publishers WHERE name = ANY($1::text[])",
            list(publishers.values()),
        )
        by_name = {r["name"]: r for r in rows}
        for principal, name in publishers.items():
            row = by_name.get(name)
            scopes = _scopes(row["scopes"]) if row is not None else frozenset()  # unregistered: no scope
            found[principal] = Caller(principal, scopes, row["wallet_id"] if row is not None else None)
    for other in wanted - found.keys():
        found[other] = Caller(other or "", ALL_SCOPES, internal=True)
    return found


def _scopes(names: Iterable[str]) -> frozenset[Scope]:
    return frozenset(Scope(n) for n in names if n in _KNOWN)
