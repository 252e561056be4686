"""Well-known and derived identifiers, part of the public interface.

System accounts have fixed ids so subscribers can recognise them: one system wallet per role,
and in it one account per currency. Ids a command leaves out (account, wallet, hold, intent) are
derived from the command id, so a retried command names the same object.

Every id the ledger derives is a version-5 UUID (``uuid5`` in the ledger's namespace), and no caller may
choose one (:func:`is_ledger_id`; refused ``reserved_id``): the ids callers choose and the ids the ledger
derives are two disjoint sets, so no caller can open an account under a system account's id or the id a
wallet's account in a new currency will get. docs/security.md ("Ids belong to the ledger") says why.
"""

from __future__ import annotations

from typing import Literal
from uuid import NAMESPACE_URL, UUID, uuid5

_NS = uuid5(NAMESPACE_URL, "urn:ledger")

SystemRole = Literal["treasury", "revenue", "fees", "promotions"]
SYSTEM_ROLES: tuple[SystemRole, ...] = ("treasury", "revenue", "fees", "promotions")


def is_ledger_id(value: UUID) -> bool:
    """Whether ``value`` is of the kind the ledger derives (version 5), which callers may not choose."""
    return value.version == 5


def system_wallet_id(role: SystemRole) -> UUID:
    """The system wallet of ``role`` (treasury issues and absorbs money; revenue, fees and
    promotions collect or fund the flows named after them)."""
    return uuid5(_NS, f"system-wallet:{role}")


def system_account_id(currency: str, role: SystemRole = "treasury") -> UUID:
    """The ``role`` system account in ``currency``; treasury keeps the id it had before roles."""
    if role == "treasury":
        return uuid5(_NS, f"system:{currency}")
    return uuid5(_NS, f"system:{role}:{currency}")


def derived_id(kind: str, scope: str) -> UUID:
    """Id of the ``kind`` object (account, wallet, hold, intent) created by a command that named none;
    ``scope`` is the command's :func:`command_scope`."""
    return uuid5(_NS, f"{kind}:{scope}")


def wallet_account_id(wallet_id: UUID, currency: str) -> UUID:
    """Id of the account a wallet gets in ``currency`` when created with it or first credited in it."""
    return uuid5(_NS, f"account:{wallet_id}:{currency}")


#: Principals of the ledger's own processes: no caller may send a command as one of these.
RESERVED_PRINCIPAL_PREFIX = "system:"
#: Idempotency keys the ledger's own commands use (``expire:hold:<id>:<at>``, ``seed:…``); a caller's
#: keys live in the caller's own namespace anyway, these prefixes are refused so that logs never mix them.
RESERVED_COMMAND_PREFIXES = ("expire:", "seed:", "system:")


def publisher_principal(user: str) -> str:
    """The principal of a command published by broker user ``user`` (``amqp:orders``)."""
    return f"amqp:{user}"


def command_scope(principal: str | None, command_id: str) -> str:
    """A command id within its principal: idempotency keys of two callers never meet.

    Ids derived from a command (``derived_id``) derive from this, so two callers' identical keys name
    different wallets, holds and intents.
    """
    return f"{principal or ''}/{command_id}"


def object_id(kind: str, *, principal: str | None, command_id: str) -> UUID:
    """The ``kind`` object a command creates without naming its id: derived from the command in its principal."""
    return derived_id(kind, command_scope(principal, command_id))


def principal_key(principal: str | None) -> UUID | None:
    """The API key id in a ``key:<id>`` principal (anything else: no key limits apply)."""
    if principal is None or not principal.startswith("key:"):
        return None
    try:
        return UUID(principal[4:])
    except ValueError:
        return None
