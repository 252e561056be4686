"""Well-known and derived identifiers, part of the public interface.

System accounts have fixed ids so subscribers can recognise them: one system wallet per role,
and in it one account per currency. Ids a command leaves out (account, wallet, hold, intent) are
derived from the command id, so a retried command names the same object.
"""

from __future__ import annotations

from typing import Literal
from uuid import NAMESPACE_URL, UUID, uuid5

_NS = uuid5(NAMESPACE_URL, "urn:ledger")

SystemRole = Literal["treasury", "revenue", "fees", "promotions"]
SYSTEM_ROLES: tuple[SystemRole, ...] = ("treasury", "revenue", "fees", "promotions")


def system_wallet_id(role: SystemRole) -> UUID:
    """The system wallet of ``role`` (treasury issues and absorbs money; revenue, fees and
    promotions collect or fund the flows named after them)."""
    return uuid5(_NS, f"system-wallet:{role}")


def system_account_id(currency: str, role: SystemRole = "treasury") -> UUID:
    """The ``role`` system account in ``currency``; treasury keeps the id it had before roles."""
    if role == "treasury":
        return uuid5(_NS, f"system:{currency}")
    return uuid5(_NS, f"system:{role}:{currency}")


def derived_id(kind: str, command_id: str) -> UUID:
    """Id of the ``kind`` object (account, wallet, hold, intent) created by a command that named none."""
    return uuid5(_NS, f"{kind}:{command_id}")


def wallet_account_id(wallet_id: UUID, currency: str) -> UUID:
    """Id of the account a wallet gets in ``currency`` when created with it or first credited in it."""
    return uuid5(_NS, f"account:{wallet_id}:{currency}")


def principal_key(principal: str | None) -> UUID | None:
    """The API key id in a ``key:<id>`` principal (anything else: no key limits apply)."""
    if principal is None or not principal.startswith("key:"):
        return None
    try:
        return UUID(principal[4:])
    except ValueError:
        return None
