"""A statement source: which ledger account it mirrors, how its files read, how its lines match.

Declared once per source (``ledger recon source``, ``PUT /v1/recon/sources/{name}``) and stored as JSON
in ``recon_sources.config``; every import and run of the source reads it from there.
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field

from contracts.base import Contract, Currency
from contracts.recon import SourceName
from ledger_common.recon.engine import Rules

__all__ = ["Columns", "MatchRules", "SourceConfig", "SourceName"]
Column = Annotated[str, Field(min_length=1, max_length=100)]

LedgerField = Annotated[str, Field(pattern=r"^(metadata:[A-Za-z0-9_.:\-]{1,64}|description|command_id|id)$")]


class Columns(Contract):
    """Where each field is: a CSV header or a JSON-lines key."""

    amount: Column
    value_date: Column
    reference: Column | None = None
    description: Column | None = None
    #: A column of the line's currency; without one, every line is in the source's currency.
    currency: Column | None = None
    #: The account's balance after the line, as the statement prints it (the balance check reads it).
    closing_balance: Column | None = None
    date_format: str = "%Y-%m-%d"
    #: Statements that print money out as positive amounts: read every amount negated.
    negate: bool = False


class MatchRules(Contract):
    """The engine's rules (``ledger_common.recon.engine.Rules``) and how ledger postings are read."""

    tolerance: Annotated[int, Field(ge=0, le=10**12)] = 0
    window_days: Annotated[int, Field(ge=0, le=31)] = 0
    reference: Literal["equals", "contains", "none"] = "equals"
    #: What of a ledger transaction a line's reference is compared to: a metadata key
    #: (``metadata:psp_ref``), its description, its command id (the caller's idempotency key) or its id.
    ledger_reference: Annotated[
        str, Field(pattern=r"^(metadata:[A-Za-z0-9_.:\-]{1,64}|description|command_id|id)$")
    ] = "metadata:reference"
    by_amount: bool = False
    one_to_many: bool = True
    many_to_one: bool = True
    #: A statement line's sign against the mapped account's postings (credits positive): -1 when money
    #: arriving on the bank statement is a debit of the account that mirrors it.
    sign: Literal[1, -1] = 1

    def engine(self) -> Rules:
        return Rules(
            tolerance=self.tolerance,
            window_days=self.window_days,
            reference=self.reference,
            by_amount=self.by_amount,
            one_to_many=self.one_to_many,
            many_to_one=self.many_to_one,
        )


class SourceConfig(Contract):
    """One statement source."""

    account_id: UUID
    currency: Currency
    format: Literal["csv", "jsonl"] = "csv"
    columns: Columns
    rules: MatchRules = MatchRules()
    #: The CSV delimiter.
    delimiter: Annotated[str, Field(min_length=1, max_length=1)] = ","
