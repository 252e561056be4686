"""Write what reconciliation commands did: runs, matches (their lines and postings), breaks.

Parts of the batch's one statement (``ledger_common.script``) like every other table's.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from ledger_common.script import Script
from ledger_worker.book import Book
from ledger_worker.outcome import Outcome
from ledger_worker.recon.data import ReconBreak, RunWrite


def add_parts(script: Script, done: Sequence[Outcome], book: Book) -> None:
    runs = [r for o in done for r in o.runs]
    if runs:
        script.add(
            "recon_new_runs",
            "INSERT INTO recon_runs (id, source_id, command_id, principal, summary, finished_at)"
            " SELECT i, s, c, p, m::jsonb, $6 FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[])"
            " AS t(i, s, c, p, m)",
            [r.run_id for r in runs],
            [r.source_id for r in runs],
            [o.command_id for o in done for _ in o.runs],
            [o.principal or "" for o in done for _ in o.runs],
            [r.summary.model_dump_json() for r in runs],
            book.now,
        )
        _matches(script, runs, book)
    opened = [b for r in runs for b in r.opened]
    if opened:
        _insert_breaks(script, opened)
    changed = [b for b in book.changed if isinstance(b, ReconBreak) and not b.new]
    if changed:
        script.add(
            "recon_changed_breaks",
            "UPDATE recon_breaks AS b SET state = x.s, closed_at = x.c, explanation = x.e, resolution = x.r,"
            " resolving_transaction_id = x.t, closed_by = x.by FROM unnest($1::uuid[], $2::text[],"
            " $3::timestamptz[], $4::text[], $5::text[], $6::uuid[], $7::text[]) AS x(i, s, c, e, r, t, by)"
            " WHERE b.id = x.i",
            [b.id for b in changed],
            [b.state for b in changed],
            [b.closed_at for b in changed],
            [b.explanation for b in changed],
            [b.resolution for b in changed],
            [b.resolving_transaction_id for b in changed],
            [b.closed_by for b in changed],
        )


def _matches(script: Script, runs: list[RunWrite], book: Book) -> None:
    ids: list[UUID] = []
    kinds: list[str] = []
    diffs: list[int] = []
    sources: list[UUID] = []
    run_ids: list[UUID] = []
    line_ids: list[int] = []
    line_matches: list[UUID] = []
    posting_ids: list[int] = []
    posting_tx: list[UUID] = []
    posting_matches: list[UUID] = []
    for run in runs:
        for match_id, m in run.matches:
            ids.append(match_id)
            kinds.append(m.kind)
            diffs.append(m.difference)
            sources.append(run.source_id)
            run_ids.append(run.run_id)
            line_ids.extend(m.line_ids)
            line_matches.extend([match_id] * len(m.line_ids))
            posting_ids.extend(m.item_ids)
            posting_tx.extend(run.transactions[i] for i in m.item_ids)
            posting_matches.extend([match_id] * len(m.item_ids))
    if not ids:
        return
    script.add(
        "recon_new_matches",
        "INSERT INTO recon_matches (id, run_id, source_id, kind, difference, created_at)"
        " SELECT i, r, s, k, d, $6 FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::bigint[])"
        " AS t(i, r, s, k, d)",
        ids,
        run_ids,
        sources,
        kinds,
        diffs,
        book.now,
    )
    script.add(
        "recon_matched_lines",
        "UPDATE recon_lines AS l SET match_id = t.m FROM unnest($1::bigint[], $2::uuid[]) AS t(i, m) WHERE l.id = t.i",
        line_ids,
        line_matches,
    )
    if posting_ids:
        script.add(
            "recon_new_matched_postings",
            "INSERT INTO recon_matched_postings (posting_id, transaction_id, match_id)"
            " SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::uuid[])",
            posting_ids,
            posting_tx,
            posting_matches,
        )


def _insert_breaks(script: Script, opened: list[ReconBreak]) -> None:
    script.add(
        "recon_new_breaks",
        "INSERT INTO recon_breaks (id, source_id, run_id, reason, line_id, posting_id, transaction_id, amount,"
        " expected, detail, opened_at) SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[],"
        " $5::bigint[], $6::bigint[], $7::uuid[], $8::bigint[], $9::bigint[], $10::text[], $11::timestamptz[])",
        *[
            [getattr(b, name) for b in opened]
            for name in (
                "id",
                "source_id",
                "run_id",
                "reason",
                "line_id",
                "posting_id",
                "transaction_id",
                "amount",
                "expected",
                "detail",
                "opened_at",
            )
        ],
    )
