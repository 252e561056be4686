"""Reconciliation: statement sources, imported statement files and lines, runs, matches and breaks.

- ``recon_sources``: one per bank account or PSP; its column mapping and matching rules are declared once
  (``ledger_common.recon.sources.SourceConfig``, stored as JSON) and the ledger account it mirrors.
- ``recon_files``: one per imported file, unique by the SHA-256 of its bytes per source, so importing the
  same file again changes nothing.
- ``recon_lines``: each statement line with its mapped ledger account, its amount in minor units (read with
  the currency's exponent), value date, reference and description. Lines are facts from outside: they never
  change except for the match that settles them (``match_id``).
- ``recon_runs``, ``recon_matches``: what each ``recon.run`` command matched (one-to-one, one-to-many,
  many-to-one, a reversal pair, an adjustment); its lines point at it, ``recon_matched_postings`` its postings.
- ``recon_breaks``: what did not match, with a reason, ``opened_at`` (its age), a state (open, explained,
  resolved) and the transaction that resolved it. At most one open break per reason and item.
- The ``reconcile`` scope joins the closed list of scopes keys and broker publishers may hold.

Revision ID: 0013
Revises: 0012
"""

from migrations.sql import run

revision = "0013"
down_revision = "0012"

_SCOPES = "'read', 'transfer', 'holds', 'payments', 'refunds', 'deposit', 'wallets', 'admin', 'treasury', 'reverse'"

UPGRADE = rf"""
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check CHECK (
    cardinality(scopes) > 0 AND scopes <@ ARRAY[{_SCOPES}, 'reconcile']
);
ALTER TABLE broker_publishers DROP CONSTRAINT broker_publishers_scopes_check;
ALTER TABLE broker_publishers ADD CONSTRAINT broker_publishers_scopes_check CHECK (
    scopes <@ ARRAY[{_SCOPES}, 'reconcile']
);

CREATE TABLE recon_sources (
    id         uuid PRIMARY KEY,
    name       text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{{0,63}}$'),
    account_id uuid NOT NULL REFERENCES accounts(id),
    currency   text NOT NULL REFERENCES currencies(code),
    config     jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE recon_files (
    id          uuid PRIMARY KEY,
    source_id   uuid NOT NULL REFERENCES recon_sources(id),
    sha256      bytea NOT NULL CHECK (length(sha256) = 32),
    name        text NOT NULL,
    line_count  bigint NOT NULL DEFAULT 0,
    imported_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source_id, sha256)
);

CREATE TABLE recon_lines (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    file_id         uuid NOT NULL REFERENCES recon_files(id),
    source_id       uuid NOT NULL REFERENCES recon_sources(id),
    line_no         bigint NOT NULL,
    account_id      uuid NOT NULL,
    currency        text NOT NULL,
    amount          bigint NOT NULL,
    value_date      date NOT NULL,
    reference       text NOT NULL DEFAULT '',
    description     text NOT NULL DEFAULT '',
    closing_balance bigint,
    match_id        uuid,
    UNIQUE (file_id, line_no)
);
CREATE INDEX recon_lines_open ON recon_lines (source_id, id) WHERE match_id IS NULL;
CREATE INDEX recon_lines_day ON recon_lines (source_id, value_date);

CREATE TABLE recon_runs (
    id          uuid PRIMARY KEY,
    source_id   uuid NOT NULL REFERENCES recon_sources(id),
    command_id  text NOT NULL,
    principal   text NOT NULL DEFAULT '',
    summary     jsonb NOT NULL,
    finished_at timestamptz NOT NULL
);

CREATE TABLE recon_matches (
    id              uuid PRIMARY KEY,
    run_id          uuid REFERENCES recon_runs(id),
    source_id       uuid NOT NULL REFERENCES recon_sources(id),
    kind            text NOT NULL CHECK (kind IN ('one_to_one', 'one_to_many', 'many_to_one', 'reversal',
                                                   'adjustment')),
    difference      bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL
);
CREATE INDEX recon_matches_source ON recon_matches (source_id, created_at);

-- A match's two sides: its lines (recon_lines.match_id) and its postings, each matched at most once.
CREATE INDEX recon_lines_match ON recon_lines (match_id) WHERE match_id IS NOT NULL;
CREATE TABLE recon_matched_postings (
    posting_id     bigint PRIMARY KEY,
    transaction_id uuid NOT NULL,
    match_id       uuid NOT NULL REFERENCES recon_matches(id)
);
CREATE INDEX recon_matched_postings_match ON recon_matched_postings (match_id);

CREATE TABLE recon_breaks (
    id                       uuid PRIMARY KEY,
    source_id                uuid NOT NULL REFERENCES recon_sources(id),
    run_id                   uuid REFERENCES recon_runs(id),
    reason                   text NOT NULL CHECK (reason IN ('statement_line_unmatched',
                                 'ledger_transaction_unmatched', 'amount_differs', 'date_outside_window',
                                 'duplicate')),
    line_id                  bigint REFERENCES recon_lines(id),
    posting_id               bigint,
    transaction_id           uuid,
    amount                   bigint,
    expected                 bigint,
    detail                   text NOT NULL DEFAULT '',
    state                    text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'explained', 'resolved')),
    opened_at                timestamptz NOT NULL,
    closed_at                timestamptz,
    explanation              text,
    resolution               text CHECK (resolution IN ('matched', 'superseded', 'adjusted',
                                 'dismissed')),
    resolving_transaction_id uuid,
    closed_by                text,
    CHECK (line_id IS NOT NULL OR posting_id IS NOT NULL),
    CHECK ((state = 'open') = (closed_at IS NULL))
);
CREATE UNIQUE INDEX recon_breaks_one_open ON recon_breaks (source_id, reason, coalesce(line_id, 0),
    coalesce(posting_id, 0)) WHERE state = 'open';
CREATE INDEX recon_breaks_state ON recon_breaks (source_id, state, opened_at);
CREATE INDEX recon_breaks_posting ON recon_breaks (posting_id) WHERE posting_id IS NOT NULL;
CREATE INDEX recon_breaks_line ON recon_breaks (line_id) WHERE line_id IS NOT NULL;
CREATE INDEX recon_breaks_resolving ON recon_breaks (resolving_transaction_id)
    WHERE resolving_transaction_id IS NOT NULL;
"""

DOWNGRADE = rf"""
DROP TABLE recon_breaks, recon_matched_postings, recon_matches, recon_runs, recon_lines, recon_files,
    recon_sources;
ALTER TABLE broker_publishers DROP CONSTRAINT broker_publishers_scopes_check;
ALTER TABLE broker_publishers ADD CONSTRAINT broker_publishers_scopes_check CHECK (scopes <@ ARRAY[{_SCOPES}]);
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check CHECK (
    cardinality(scopes) > 0 AND scopes <@ ARRAY[{_SCOPES}]
);
"""


def upgrade() -> None:
    run(UPGRADE)


def downgrade() -> None:
    run(DOWNGRADE)
