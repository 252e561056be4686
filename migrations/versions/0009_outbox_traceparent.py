"""The outbox row carries the W3C ``traceparent`` of the command that wrote it (NULL with tracing off).

The relay's publish span is its child and the published event carries the relay span's ``traceparent``,
so a subscriber continues the command's trace (ledger_common/tracing.py). Nullable without a default:
adding it rewrites nothing, and rows written with tracing off stay NULL.

Revision ID: 0009
Revises: 0008
"""

from migrations.sql import run

revision = "0009"
down_revision = "0008"

UPGRADE = r"""
ALTER TABLE outbox ADD COLUMN traceparent text;
"""

DOWNGRADE = r"""
ALTER TABLE outbox DROP COLUMN traceparent;
"""


def upgrade() -> None:
    run(UPGRADE)


def downgrade() -> None:
    run(DOWNGRADE)
