"""The hash chain in SQL too, so ``ledger audit`` checks every posting set-based.

``ledger_entry_hash`` computes exactly what ``contracts/chain.py`` computes (tests hold them equal).

Revision ID: 0005
Revises: 0004
"""

from alembic import op

from migrations.sql import statements

revision = "0005"
down_revision = "0004"

UPGRADE = r"""
CREATE FUNCTION ledger_entry_hash(previous bytea, account_id uuid, transaction_id uuid, kind text, currency text,
                                  amount numeric, balance_after numeric, created_at timestamptz)
RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT sha256(previous || convert_to(
        account_id::text || '|' || transaction_id::text || '|' || kind || '|' || currency || '|'
        || amount::text || '|' || balance_after::text || '|'
        || (extract(epoch FROM created_at) * 1000000)::bigint::text, 'UTF8'))
$$;
"""

DOWNGRADE = r"""
DROP FUNCTION ledger_entry_hash;
"""


def upgrade() -> None:
    for statement in statements(UPGRADE):
        op.execute(statement)


def downgrade() -> None:
    for statement in statements(DOWNGRADE):
        op.execute(statement)
