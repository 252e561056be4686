"""Core ledger: accounts, transactions, immutable postings, commands, outbox.

Revision ID: 0001
Revises:
"""

from migrations.sql import run

revision = "0001"
down_revision = None

UPGRADE = r"""
CREATE TABLE accounts (
    id          uuid PRIMARY KEY,
    currency    text NOT NULL CHECK (currency ~ '^[A-Z][A-Z0-9]{2,11}$'),
    kind        text NOT NULL CHECK (kind IN ('user', 'system')),
    balance     bigint NOT NULL DEFAULT 0,
    -- NULL means unbounded (system accounts issue and absorb money); users default to no overdraft.
    min_balance bigint DEFAULT 0,
    last_sequence bigint NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT balance_above_minimum CHECK (min_balance IS NULL OR balance >= min_balance),
    CONSTRAINT system_accounts_unbounded CHECK (kind = 'user' OR min_balance IS NULL)
);

CREATE TABLE transactions (
    id          uuid PRIMARY KEY,
    command_id  text NOT NULL UNIQUE,
    kind        text NOT NULL,
    principal   text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE postings (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id uuid NOT NULL REFERENCES transactions(id),
    account_id     uuid NOT NULL REFERENCES accounts(id),
    currency       text NOT NULL,
    amount         bigint NOT NULL CHECK (amount <> 0),
    balance_after  bigint NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX postings_account_id_id ON postings (account_id, id);
CREATE INDEX postings_transaction_id ON postings (transaction_id);

-- Entries are immutable: corrections are new transactions, never edits.
CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % is not allowed: ledger entries are immutable', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER postings_immutable BEFORE UPDATE OR DELETE ON postings
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER postings_no_truncate BEFORE TRUNCATE ON postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER transactions_immutable BEFORE UPDATE OR DELETE ON transactions
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

-- Double entry, enforced at commit: each transaction's postings sum to zero per currency.
CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE bad record;
BEGIN
    SELECT currency, sum(amount) AS total INTO bad FROM postings
     WHERE transaction_id = NEW.transaction_id GROUP BY currency HAVING sum(amount) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'transaction % is unbalanced in %: postings sum to %',
            NEW.transaction_id, bad.currency, bad.total USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER postings_balanced AFTER INSERT ON postings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();

-- Idempotency record: one row per command id, holding the outcome replayed to retries.
CREATE TABLE commands (
    command_id     text PRIMARY KEY,
    command_type   text NOT NULL,
    payload_digest text NOT NULL,
    status         text NOT NULL CHECK (status IN ('applied', 'refused')),
    result         jsonb NOT NULL,
    transaction_id uuid REFERENCES transactions(id),
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- Transactional outbox: written in the command's transaction, published by the relay.
CREATE TABLE outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        uuid NOT NULL UNIQUE,
    command_id      text NOT NULL,
    routing_key     text NOT NULL,
    -- Rows of one partition are published in id order by one relay at a time.
    partition       smallint NOT NULL CHECK (partition >= 0),
    body            bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    sent_at         timestamptz,
    dead_at         timestamptz
);
CREATE INDEX outbox_pending ON outbox (id) WHERE sent_at IS NULL AND dead_at IS NULL;
CREATE INDEX outbox_command_id ON outbox (command_id);

CREATE FUNCTION ledger_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ledger_outbox', '');
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_outbox_notify();
"""

DOWNGRADE = r"""
DROP TABLE outbox, commands, postings, transactions, accounts;
DROP FUNCTION ledger_outbox_notify, ledger_check_balanced, ledger_refuse_change;
"""


def upgrade() -> None:
    run(UPGRADE)


def downgrade() -> None:
    run(DOWNGRADE)
