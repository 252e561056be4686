"""The flow of money between wallets over a period: the edges of a Sankey diagram, in one aggregate query."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated
from uuid import UUID

from asyncpg import Record
from fastapi import APIRouter, Query

from contracts import http as docs
from contracts.amounts import to_decimal_string
from contracts.ids import SYSTEM_ROLES, system_wallet_id
from contracts.keys import Scope
from http_gateway import pages
from http_gateway.auth import Principal, require
from http_gateway.deps import CurrenciesDep, PoolDep
from http_gateway.problems import Problem

router = APIRouter(tags=["flows"])
Reader = Annotated[Principal, require(Scope.READ)]
CurrencyCode = Annotated[
    str | None, Query(pattern=r"^[A-Z][A-Z0-9]{2,11}$", description="Only this currency (default: every currency)")
]
#: The period when the query names none; a period is bounded by nothing else (the answer is bounded).
DEFAULT_PERIOD = timedelta(days=30)
#: Edges in an answer, largest first; a diagram with more is unreadable anyway.
MAX_FLOWS = 500
_ROLES = {system_wallet_id(role): role for role in SYSTEM_ROLES}

# Per transaction and currency, each wallet's postings are netted: a wallet whose net is negative is a
# source, positive a target. One source or one target: each pair's amount is exact. Several of both: each
# source's outflow is split over the targets in proportion to what they received, rounded down, and the
# rounding remainder goes to the largest target, so every source's outflow stays exact.
# $1 since, $2 until, $3 currency or NULL, $4 the bound wallet or NULL, $5 edges to return.
# The period is read through postings_created_at (a BRIN index: postings are appended in time order); a
# bound key's transactions are found first through its accounts (postings_account_id_id).
_FLOWS = """
WITH net AS (
    SELECT p.transaction_id, p.currency, a.wallet_id, sum(p.amount) AS amount
      FROM postings p JOIN accounts a ON a.id = p.account_id
     WHERE p.created_at >= $1 AND p.created_at < $2 AND ($3::text IS NULL OR p.currency = $3)
       AND ($4::uuid IS NULL OR p.transaction_id IN (
             SELECT o.transaction_id FROM postings o JOIN accounts oa ON oa.id = o.account_id
              WHERE oa.wallet_id = $4 AND o.created_at >= $1 AND o.created_at < $2))
     GROUP BY p.transaction_id, p.currency, a.wallet_id
    HAVING sum(p.amount) <> 0
), targets AS (
    SELECT transaction_id, currency, wallet_id, amount,
           sum(amount) OVER (PARTITION BY transaction_id, currency) AS total,
           row_number() OVER (PARTITION BY transaction_id, currency ORDER BY amount DESC, wallet_id) AS rank
      FROM net WHERE amount > 0
), pairs AS (
    SELECT s.transaction_id, s.currency, s.wallet_id AS source, t.wallet_id AS target, t.rank,
           -s.amount AS outflow, floor(-s.amount * t.amount / t.total) AS share
      FROM net s JOIN targets t ON t.transaction_id = s.transaction_id AND t.currency = s.currency
     WHERE s.amount < 0
), allocated AS (
    SELECT transaction_id, currency, source, target,
           share + CASE WHEN rank = 1
                        THEN outflow - sum(share) OVER (PARTITION BY transaction_id, currency, source)
                        ELSE 0 END AS amount
      FROM pairs
), edges AS (
    SELECT source, target, currency, sum(amount) AS amount, count(DISTINCT transaction_id) AS transactions
      FROM allocated
     WHERE amount > 0 AND ($4::uuid IS NULL OR source = $4 OR target = $4)
     GROUP BY source, target, currency
     ORDER BY amount DESC, currency, source, target
     LIMIT $5
)
SELECT e.*, sw.handle AS source_handle, sw.external_ref AS source_ref,
       tw.handle AS target_handle, tw.external_ref AS target_ref
  FROM edges e JOIN wallets sw ON sw.id = e.source JOIN wallets tw ON tw.id = e.target
 ORDER BY e.amount DESC, e.currency, e.source, e.target
"""


def label(wallet_id: UUID, handle: str | None, external_ref: str | None) -> str:
    """``@handle``, else the external ref, else the system role, else the id."""
    if handle:
        return f"@{handle}"
    if external_ref:
        return external_ref
    return _ROLES.get(wallet_id) or str(wallet_id)


def _label(row: Record, side: str, bound: UUID | None) -> str:
    # A bound key sees other wallets by handle or role: external refs are the operator's own references.
    wallet = row[side]
    ref = row[f"{side}_ref"] if bound is None or wallet == bound else None
    return label(wallet, row[f"{side}_handle"], ref)


def period(since: datetime | None, until: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """``[since, until)``: up to now unless ``until``, from 30 days before its end unless ``since``."""
    end = until or now
    start = since or end - DEFAULT_PERIOD
    if start >= end:
        raise Problem(422, "invalid_period", "`from` must be before `to`")
    return start, end


@router.get("/flows", operation_id="flows.graph", response_model=docs.FlowGraph)
async def flows(
    pool: PoolDep,
    currencies: CurrenciesDep,
    principal: Reader,
    since: pages.From = None,
    until: pages.To = None,
    currency: CurrencyCode = None,
) -> docs.FlowGraph:
    """Money between wallets over a period (default: the last 30 days), largest edges first (at most 500).

    Per transaction, the wallets of the debit postings are the sources and those of the credit postings
    the targets. With one source or one target an edge is exact; with several of both each source's
    amount is split over the targets in proportion to what each received (integer minor units, the
    remainder to the largest target). A wallet-bound key gets the edges with its own wallet on one side."""
    start, end = period(since, until, datetime.now(UTC))
    bound = principal.wallet_id
    rows = await pool.fetch(_FLOWS, start, end, currency, bound, MAX_FLOWS + 1)
    out = []
    for r in rows[:MAX_FLOWS]:
        exponent = await currencies.exponent(pool, r["currency"])
        out.append(
            docs.Flow(
                source_wallet_id=r["source"],
                source_label=_label(r, "source", bound),
                target_wallet_id=r["target"],
                target_label=_label(r, "target", bound),
                currency=r["currency"],
                amount=r["amount"],
                amount_decimal=to_decimal_string(r["amount"], exponent),
                transactions=r["transactions"],
            )
        )
    return docs.FlowGraph(since=start, until=end, currency=currency, flows=out, truncated=len(rows) > MAX_FLOWS)
