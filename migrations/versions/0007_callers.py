"""Callers: idempotency per principal, and AMQP publishers with their own scopes.

- A command id is unique within its principal: two callers sending the same ``Idempotency-Key`` send
  two commands. ``commands`` is keyed by (principal, command_id); so is the one transaction a command
  posts. Commands recorded before had no principal when an AMQP publisher sent them: ``''``.
- ``events.principal`` lets a command's events be found by the same key (``ledger audit``).
- ``broker_publishers``: the scopes and optional wallet of each broker user allowed to publish
  commands (``ledger broker-setup --publisher NAME --scope ...``); the worker reads them with the
  batch, as it reads API keys.

Revision ID: 0007
Revises: 0006
"""

from migrations.sql import run

revision = "0007"
down_revision = "0006"

UPGRADE = r"""
UPDATE commands SET principal = '' WHERE principal IS NULL;
ALTER TABLE commands ALTER COLUMN principal SET NOT NULL, ALTER COLUMN principal SET DEFAULT '';
ALTER TABLE commands DROP CONSTRAINT commands_pkey;
ALTER TABLE commands ADD PRIMARY KEY (principal, command_id);

-- Immutable tables: the backfill is the migration's, once (as 0002 rewrote the postings' hashes).
ALTER TABLE transactions DISABLE TRIGGER transactions_immutable;
UPDATE transactions SET principal = '' WHERE principal IS NULL;
ALTER TABLE transactions ENABLE TRIGGER transactions_immutable;
ALTER TABLE transactions ALTER COLUMN principal SET NOT NULL, ALTER COLUMN principal SET DEFAULT '';
ALTER TABLE transactions DROP CONSTRAINT transactions_command_id_key;
ALTER TABLE transactions ADD CONSTRAINT transactions_command UNIQUE (principal, command_id);

ALTER TABLE events ADD COLUMN principal text NOT NULL DEFAULT '';
ALTER TABLE events DISABLE TRIGGER events_immutable;
UPDATE events SET principal = coalesce(convert_from(body, 'UTF8')::jsonb->>'principal', '');
ALTER TABLE events ENABLE TRIGGER events_immutable;
DROP INDEX events_command;
CREATE INDEX events_command ON events (principal, command_id);

-- Two scopes split off: naming system accounts (treasury) and reversals (reverse).
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check CHECK (
    cardinality(scopes) > 0 AND scopes <@ ARRAY['read', 'transfer', 'holds', 'payments', 'refunds', 'deposit',
                                                'wallets', 'admin', 'treasury', 'reverse']
);

CREATE TABLE broker_publishers (
    name       text PRIMARY KEY CHECK (name <> ''),
    scopes     text[] NOT NULL CHECK (scopes <@ ARRAY['read', 'transfer', 'holds', 'payments', 'refunds', 'deposit',
                                                      'wallets', 'admin', 'treasury', 'reverse']),
    wallet_id  uuid REFERENCES wallets(id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
"""

DOWNGRADE = r"""
DROP TABLE broker_publishers;
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check CHECK (
    cardinality(scopes) > 0
    AND scopes <@ ARRAY['read', 'transfer', 'holds', 'payments', 'refunds', 'deposit', 'wallets', 'admin']
);
DROP INDEX events_command;
CREATE INDEX events_command ON events (command_id);
ALTER TABLE events DROP COLUMN principal;
ALTER TABLE transactions DROP CONSTRAINT transactions_command;
ALTER TABLE transactions ADD CONSTRAINT transactions_command_id_key UNIQUE (command_id);
ALTER TABLE transactions ALTER COLUMN principal DROP NOT NULL, ALTER COLUMN principal DROP DEFAULT;
ALTER TABLE commands DROP CONSTRAINT commands_pkey;
ALTER TABLE commands ADD PRIMARY KEY (command_id);
ALTER TABLE commands ALTER COLUMN principal DROP NOT NULL, ALTER COLUMN principal DROP DEFAULT;
"""


def upgrade() -> None:
    run(UPGRADE)


def downgrade() -> None:
    run(DOWNGRADE)
