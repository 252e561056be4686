"""A statement source's declaration (``contracts.recon.SourceConfig``: the account it mirrors, its column
mapping and matching rules, declared once per source), and the engine's rules it makes."""

from __future__ import annotations

from contracts.recon import Columns, MatchRules, SourceConfig, SourceName
from ledger_common.recon.engine import Rules

__all__ = ["Columns", "MatchRules", "SourceConfig", "SourceName", "engine_rules"]


def engine_rules(rules: MatchRules) -> Rules:
    return Rules(
        tolerance=rules.tolerance,
        window_days=rules.window_days,
        reference=rules.reference,
        by_amount=rules.by_amount,
        one_to_many=rules.one_to_many,
        many_to_one=rules.many_to_one,
    )
