"""The outbox is a queue, not a history: the relay deletes rows once the broker confirmed them.

Every event stays in ``events``. Without ``sent_at`` a row in the outbox is waiting (or dead, with
``dead_at``); the table stays the size of the backlog. Its autovacuum is made eager where
autovacuum runs, because the table churns.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

from migrations.sql import statements

revision = "0006"
down_revision = "0005"

UPGRADE = r"""
DELETE FROM outbox WHERE sent_at IS NOT NULL;
DROP INDEX outbox_pending;
ALTER TABLE outbox DROP COLUMN sent_at;
CREATE INDEX outbox_pending ON outbox (id) WHERE dead_at IS NULL;
ALTER TABLE outbox SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,
                        autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 5000);
"""

DOWNGRADE = r"""
ALTER TABLE outbox RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold,
                          autovacuum_vacuum_insert_scale_factor, autovacuum_vacuum_insert_threshold);
DROP INDEX outbox_pending;
ALTER TABLE outbox ADD COLUMN sent_at timestamptz;
CREATE INDEX outbox_pending ON outbox (id) WHERE sent_at IS NULL AND dead_at IS NULL;
"""


def upgrade() -> None:
    for statement in statements(UPGRADE):
        op.execute(statement)


def downgrade() -> None:
    for statement in statements(DOWNGRADE):
        op.execute(statement)
