"""Ids belong to the ledger: every currency has its system accounts from now on, an account is a system
account exactly when its wallet is a system wallet, and a new API key is announced to the gateways.

- System accounts were created on first use, so a caller could open an account under the id of one that
  did not exist yet (docs/security.md, "Ids belong to the ledger"). ``currency.register`` now opens them;
  this creates the missing ones of every currency already registered. An id that is already taken is left
  alone here: ``ledger audit`` names it (``system_accounts``) and no flow pays into it.
- ``accounts_kind``: a row is ``kind = 'system'`` exactly when its wallet is a system wallet, whatever its id.
- ``ledger_api_keys`` notifies inserts too, so a gateway forgets an unknown-key entry (http_gateway/keycache.py)
  the moment a key with that public id exists.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

from contracts.ids import SYSTEM_ROLES, system_account_id, system_wallet_id
from migrations.sql import run

revision = "0011"
down_revision = "0010"

UPGRADE = r"""
CREATE FUNCTION ledger_account_kind() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A wallet inserted by the same statement (the worker writes a batch as one) is not visible here: it is
    -- a new customer wallet, since the system wallets exist from migration 0002 on. Its existence is the
    -- foreign key's to check.
    IF (NEW.kind = 'system') <> coalesce((SELECT kind = 'system' FROM wallets WHERE id = NEW.wallet_id), false) THEN
        RAISE EXCEPTION 'account %: a system account exactly when its wallet is a system wallet', NEW.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER accounts_kind BEFORE INSERT OR UPDATE OF kind, wallet_id ON accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_account_kind();

CREATE OR REPLACE FUNCTION ledger_notify_api_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('ledger_api_keys', '*');
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('ledger_api_keys', OLD.public_id);
    ELSIF TG_OP = 'INSERT' THEN
        PERFORM pg_notify('ledger_api_keys', NEW.public_id);
    ELSIF to_jsonb(OLD) - 'last_used_at' IS DISTINCT FROM to_jsonb(NEW) - 'last_used_at' THEN
        PERFORM pg_notify('ledger_api_keys', OLD.public_id);
        IF NEW.public_id IS DISTINCT FROM OLD.public_id THEN
            PERFORM pg_notify('ledger_api_keys', NEW.public_id);
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER api_keys_notify_insert AFTER INSERT ON api_keys
    FOR EACH ROW EXECUTE FUNCTION ledger_notify_api_key();
"""

DOWNGRADE = r"""
DROP TRIGGER api_keys_notify_insert ON api_keys;
DROP TRIGGER accounts_kind ON accounts;
DROP FUNCTION ledger_account_kind;
"""


def upgrade() -> None:
    run(UPGRADE)
    codes = op.get_bind().execute(sa.text("SELECT code FROM currencies")).scalars().all()
    rows = [(system_account_id(code, role), system_wallet_id(role), code) for code in codes for role in SYSTEM_ROLES]
    if rows:
        values = ", ".join(f"('{a}'::uuid, '{w}'::uuid, '{c}')" for a, w, c in rows)  # ids and [A-Z0-9] codes
        op.execute(
            "INSERT INTO accounts (id, wallet_id, currency, kind, min_balance)"  # noqa: S608 - no caller input
            f" SELECT a, w, c, 'system', NULL FROM (VALUES {values}) AS t(a, w, c) ON CONFLICT DO NOTHING"
        )


def downgrade() -> None:
    run(DOWNGRADE)  # the system accounts stay: accounts are never deleted
