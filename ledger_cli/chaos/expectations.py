"""What the checker expects a recorded command to have done: the one place that knows the ledger's rules.

For a command the ledger *applied*, :func:`effects` gives the postings it must have made (account key and
signed amount) and the events it must have emitted; a *refused* command makes no postings and emits one
``command.refused`` event. Balances are then expected to be the sum of the applied commands' postings,
computed here from the payloads the load sent, never read back from the ledger.

An account key is the account id as text, or ``system:<CUR>`` for the currency's system account (the
counterparty of deposits and withdrawals), so the checker does not need to know how its id is derived.
To check a new command type, add a branch to :func:`effects`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

REFUSED_EVENT = "command.refused"


def system_key(currency: str) -> str:
    return f"system:{currency}"


@dataclass(frozen=True)
class Effects:
    """What one recorded command did: signed postings per account key, and (event type, account) pairs."""

    postings: Counter[tuple[str, int]] = field(default_factory=Counter)
    events: Counter[tuple[str, str | None]] = field(default_factory=Counter)

    @property
    def transactions(self) -> int:
        return 1 if self.postings else 0


def _movement(debit: str, credit: str, amount: int, *, debit_is_user: bool, credit_is_user: bool) -> Effects:
    postings = Counter({(debit, -amount): 1, (credit, amount): 1})
    events: Counter[tuple[str, str | None]] = Counter()
    if debit_is_user:
        events[("account.debited", debit)] += 1
    if credit_is_user:
        events[("account.credited", credit)] += 1
    return Effects(postings, events)


def effects(command_type: str, payload: dict[str, Any], status: str) -> Effects:
    """The postings and events of a command recorded with ``status`` (``applied`` or ``refused``)."""
    if status == "refused":
        return Effects(events=Counter({(REFUSED_EVENT, None): 1}))
    if command_type == "account.open":
        return Effects(events=Counter({("account.opened", str(payload["account_id"])): 1}))
    amount = int(payload["amount"])
    system = system_key(str(payload["currency"]))
    if command_type == "deposit":
        return _movement(system, str(payload["account_id"]), amount, debit_is_user=False, credit_is_user=True)
    if command_type == "withdraw":
        return _movement(str(payload["account_id"]), system, amount, debit_is_user=True, credit_is_user=False)
    if command_type == "transfer":
        debit, credit = str(payload["debit_account_id"]), str(payload["credit_account_id"])
        return _movement(debit, credit, amount, debit_is_user=True, credit_is_user=True)
    raise ValueError(f"the checker has no expectation for command type {command_type!r}")


def balances(applied: list[Effects]) -> Counter[str]:
    """Expected balance per account key: the sum of the applied commands' postings."""
    total: Counter[str] = Counter()
    for e in applied:
        for (key, amount), times in e.postings.items():
            total[key] += amount * times
    return total
