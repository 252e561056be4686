"""``audit_runs``: each ``ledger audit`` records its verdict; ``admin_audit`` records dead-letter actions too;
a BRIN index on the postings' time for ``GET /v1/flows``.

``GET /v1/admin/operations`` shows the latest run. A run stores counts per check, never the findings'
subjects or details (ids and amounts stay in the report of the run itself). ``admin_audit`` was about
keys only: replaying and purging dead letters over HTTP are admin actions as well, and name no key.

Revision ID: 0010
Revises: 0009
"""

from migrations.sql import run

revision = "0010"
down_revision = "0009"

UPGRADE = r"""
CREATE TABLE audit_runs (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ran_at    timestamptz NOT NULL DEFAULT now(),
    ok        boolean NOT NULL,
    checks    integer NOT NULL CHECK (checks >= 0),
    findings  integer NOT NULL CHECK (findings >= 0),
    postings  bigint NOT NULL CHECK (postings >= 0),
    seconds   double precision NOT NULL CHECK (seconds >= 0),
    -- {check name: number of findings}, only checks that found something.
    summary   jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(summary) = 'object'),
    CONSTRAINT ok_means_no_findings CHECK (ok = (findings = 0))
);
CREATE INDEX audit_runs_latest ON audit_runs (ran_at DESC, id DESC);

-- GET /v1/flows reads postings by period. Postings are appended in time order, so a BRIN index finds a
-- period's pages at a few kilobytes per million rows and almost no cost per insert (a b-tree would be
-- another index written by every posting).
CREATE INDEX postings_created_at ON postings USING brin (created_at);

ALTER TABLE admin_audit DROP CONSTRAINT admin_audit_action_check,
    ADD CONSTRAINT admin_audit_action_check CHECK (action IN (
        'key.created', 'key.revoked', 'key.limits_changed', 'dead_letter.replayed', 'dead_letter.purged')),
    ALTER COLUMN key_id DROP NOT NULL,
    ADD CONSTRAINT admin_audit_key_actions_name_a_key CHECK (key_id IS NOT NULL OR action LIKE 'dead_letter.%');
"""

# Fails, as it should, once dead-letter actions were recorded: admin_audit is append-only.
DOWNGRADE = r"""
ALTER TABLE admin_audit DROP CONSTRAINT admin_audit_key_actions_name_a_key,
    ALTER COLUMN key_id SET NOT NULL,
    DROP CONSTRAINT admin_audit_action_check,
    ADD CONSTRAINT admin_audit_action_check CHECK (action IN ('key.created', 'key.revoked', 'key.limits_changed'));
DROP INDEX postings_created_at;
DROP TABLE audit_runs;
"""


def upgrade() -> None:
    run(UPGRADE)


def downgrade() -> None:
    run(DOWNGRADE)
