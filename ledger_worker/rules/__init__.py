"""Pure ledger rules: what each command does to the book, or why it is refused. No I/O here.

Importing this package registers every rule module and checks the table is complete.
"""

from __future__ import annotations

from ledger_worker.rules import flows, holds, intents, recon, wallets
from ledger_worker.rules.registry import RULES, Rule, check_complete

__all__ = ["RULES", "Rule", "flows", "holds", "intents", "recon", "wallets"]

check_complete()
