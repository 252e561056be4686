"""What each API key spent, for its rolling 24 h spending limits (enforced by the worker).

Revision ID: 0004
Revises: 0003
"""

from migrations.sql import run

revision = "0004"
down_revision = "0003"

UPGRADE = r"""
ALTER TABLE api_key_spending_limits
    ALTER COLUMN per_transaction_max TYPE ledger_amount,
    ALTER COLUMN per_day_max TYPE ledger_amount;

-- One row per command a key sent that committed funds (a debit or a hold); never changed.
CREATE TABLE key_spend (
    key_id     uuid NOT NULL REFERENCES api_keys(id),
    currency   text NOT NULL,
    amount     ledger_amount NOT NULL CHECK (amount > 0),
    command_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX key_spend_window ON key_spend (key_id, currency, created_at);
CREATE TRIGGER key_spend_immutable BEFORE UPDATE OR DELETE ON key_spend
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
"""

DOWNGRADE = r"""
DROP TABLE key_spend;
ALTER TABLE api_key_spending_limits
    ALTER COLUMN per_transaction_max TYPE bigint,
    ALTER COLUMN per_day_max TYPE bigint;
"""


def upgrade() -> None:
    run(UPGRADE)


def downgrade() -> None:
    run(DOWNGRADE)
