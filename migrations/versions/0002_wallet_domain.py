"""Wallet domain: currencies, wallets, account limits and holds, payment intents, hash chain, events.

Amounts become numeric(38,0) (assets with up to 18 decimals need more than 64 bits). Every existing
user account gets a wallet of its own (same id); system accounts join the treasury wallet. Existing
postings get their hash chain computed here, and existing outbox rows are copied to ``events``.

Revision ID: 0002
Revises: 0001
"""

from contracts.ids import SYSTEM_ROLES, system_wallet_id
from migrations.sql import run

revision = "0002"
down_revision = "0001"

_SYSTEM_WALLETS = ",\n".join(
    f"('{system_wallet_id(role)}', 'system:{role}', 'system', '{role}')" for role in SYSTEM_ROLES
)

UPGRADE = rf"""
CREATE DOMAIN ledger_amount AS numeric(38, 0);

CREATE TABLE currencies (
    code       text PRIMARY KEY CHECK (code ~ '^[A-Z][A-Z0-9]{{2,11}}$'),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    exponent   smallint NOT NULL CHECK (exponent BETWEEN 0 AND 18),
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO currencies (code, name, exponent) VALUES
    ('USD', 'US dollar', 2), ('EUR', 'Euro', 2), ('GBP', 'Pound sterling', 2), ('CHF', 'Swiss franc', 2),
    ('CAD', 'Canadian dollar', 2), ('AUD', 'Australian dollar', 2), ('JPY', 'Japanese yen', 0),
    ('KRW', 'South Korean won', 0), ('INR', 'Indian rupee', 2), ('BRL', 'Brazilian real', 2),
    ('KWD', 'Kuwaiti dinar', 3), ('BHD', 'Bahraini dinar', 3);
INSERT INTO currencies (code, name, exponent)
    SELECT DISTINCT currency, currency, 2 FROM accounts ON CONFLICT (code) DO NOTHING;

-- A currency's exponent gives every stored amount its meaning: it can never change or disappear.
CREATE FUNCTION ledger_currency_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.code <> OLD.code OR NEW.exponent <> OLD.exponent THEN
        RAISE EXCEPTION 'a currency''s code and exponent cannot change'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER currencies_fixed BEFORE UPDATE OR DELETE ON currencies
    FOR EACH ROW EXECUTE FUNCTION ledger_currency_fixed();

CREATE TABLE wallets (
    id            uuid PRIMARY KEY,
    owner_id      text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('user', 'merchant', 'group', 'system')),
    handle        text UNIQUE CHECK (handle ~ '^[a-z0-9_]{{2,32}}$'),
    external_ref  text UNIQUE,
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'frozen', 'closed')),
    allow_credits boolean NOT NULL DEFAULT true,
    metadata      jsonb NOT NULL DEFAULT '{{}}' CHECK (jsonb_typeof(metadata) = 'object'),
    last_sequence bigint NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX wallets_owner ON wallets (owner_id);
CREATE INDEX wallets_metadata ON wallets USING gin (metadata jsonb_path_ops);
INSERT INTO wallets (id, owner_id, kind, handle) VALUES
{_SYSTEM_WALLETS};
INSERT INTO wallets (id, owner_id, kind, created_at)
    SELECT id, id::text, 'user', created_at FROM accounts WHERE kind = 'user';

ALTER TABLE accounts
    DROP CONSTRAINT balance_above_minimum,
    ALTER COLUMN balance TYPE ledger_amount,
    ALTER COLUMN min_balance TYPE ledger_amount,
    ADD COLUMN wallet_id uuid REFERENCES wallets(id),
    ADD COLUMN held ledger_amount NOT NULL DEFAULT 0 CHECK (held >= 0),
    ADD COLUMN status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'frozen', 'closed')),
    ADD COLUMN allow_credits boolean NOT NULL DEFAULT true,
    ADD COLUMN max_per_transaction ledger_amount CHECK (max_per_transaction > 0),
    ADD COLUMN daily_debit_amount ledger_amount CHECK (daily_debit_amount > 0),
    ADD COLUMN daily_debit_count integer CHECK (daily_debit_count > 0),
    ADD COLUMN last_hash bytea NOT NULL DEFAULT decode(repeat('00', 32), 'hex'),  -- the chain's genesis
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
    ADD CONSTRAINT accounts_currency_fk FOREIGN KEY (currency) REFERENCES currencies(code),
    -- Available funds (posted minus held) never go below the minimum (negative = a credit line).
    ADD CONSTRAINT available_above_minimum CHECK (min_balance IS NULL OR balance - held >= min_balance);
UPDATE accounts SET wallet_id = CASE WHEN kind = 'user' THEN id ELSE '{system_wallet_id("treasury")}'::uuid END;
ALTER TABLE accounts ALTER COLUMN wallet_id SET NOT NULL,
    ADD CONSTRAINT one_account_per_currency UNIQUE (wallet_id, currency);

ALTER TABLE transactions
    ADD COLUMN currency text,
    ADD COLUMN amount ledger_amount,
    ADD COLUMN description text,
    ADD COLUMN metadata jsonb NOT NULL DEFAULT '{{}}' CHECK (jsonb_typeof(metadata) = 'object'),
    ADD COLUMN reverses_id uuid UNIQUE REFERENCES transactions(id),
    ADD COLUMN hold_id uuid,
    ADD COLUMN intent_id uuid;
CREATE INDEX transactions_metadata ON transactions USING gin (metadata jsonb_path_ops);
CREATE INDEX transactions_principal ON transactions (principal, created_at) WHERE principal IS NOT NULL;
CREATE INDEX transactions_intent ON transactions (intent_id) WHERE intent_id IS NOT NULL;

ALTER TABLE postings
    ALTER COLUMN amount TYPE ledger_amount,
    ALTER COLUMN balance_after TYPE ledger_amount,
    ADD COLUMN hash bytea;
-- Rolling 24 h debit limits read an account's recent debits.
CREATE INDEX postings_recent_debits ON postings (account_id, created_at) WHERE amount < 0;

-- Chain the postings that already exist (the same canonical text as contracts/chain.py).
ALTER TABLE postings DISABLE TRIGGER postings_immutable;
DO $$
DECLARE p record; prev bytea; current_account uuid;
BEGIN
    FOR p IN SELECT po.id, po.account_id, po.transaction_id, t.kind, po.currency, po.amount, po.balance_after,
                    po.created_at
               FROM postings po JOIN transactions t ON t.id = po.transaction_id ORDER BY po.account_id, po.id
    LOOP
        IF current_account IS DISTINCT FROM p.account_id THEN
            prev := decode(repeat('00', 32), 'hex');
            current_account := p.account_id;
        END IF;
        prev := sha256(prev || convert_to(p.account_id::text || '|' || p.transaction_id::text || '|' || p.kind
                || '|' || p.currency || '|' || p.amount::text || '|' || p.balance_after::text || '|'
                || (extract(epoch FROM p.created_at) * 1000000)::bigint::text, 'UTF8'));
        UPDATE postings SET hash = prev WHERE id = p.id;
        UPDATE accounts SET last_hash = prev WHERE id = p.account_id;
    END LOOP;
END $$;
ALTER TABLE postings ENABLE TRIGGER postings_immutable;
ALTER TABLE postings ALTER COLUMN hash SET NOT NULL;

CREATE TABLE holds (
    id                   uuid PRIMARY KEY,
    account_id           uuid NOT NULL REFERENCES accounts(id),
    currency             text NOT NULL REFERENCES currencies(code),
    amount               ledger_amount NOT NULL CHECK (amount > 0),
    captured_amount      ledger_amount NOT NULL DEFAULT 0,
    status               text NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'captured', 'released', 'expired')),
    expires_at           timestamptz,
    recipient_account_id uuid REFERENCES accounts(id),
    intent_id            uuid,
    command_id           text NOT NULL,
    transaction_id       uuid REFERENCES transactions(id),
    description          text,
    metadata             jsonb NOT NULL DEFAULT '{{}}',
    created_at           timestamptz NOT NULL DEFAULT now(),
    finished_at          timestamptz,
    -- Captures can never take more than was held.
    CONSTRAINT capture_within_hold CHECK (captured_amount >= 0 AND captured_amount <= amount),
    CONSTRAINT finished_when_not_pending CHECK ((status = 'pending') = (finished_at IS NULL)),
    CONSTRAINT captured_only_when_captured CHECK (status = 'captured' OR captured_amount = 0)
);
CREATE INDEX holds_account ON holds (account_id, created_at);
CREATE INDEX holds_due ON holds (expires_at) WHERE status = 'pending' AND expires_at IS NOT NULL;

-- A finished hold is history: it never changes again.
CREATE FUNCTION ledger_hold_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR OLD.status <> 'pending' THEN
        RAISE EXCEPTION 'hold % is % and cannot change', OLD.id, OLD.status
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER holds_final BEFORE UPDATE OR DELETE ON holds FOR EACH ROW EXECUTE FUNCTION ledger_hold_final();

CREATE TABLE payment_intents (
    id                  uuid PRIMARY KEY,
    merchant_account_id uuid NOT NULL REFERENCES accounts(id),
    currency            text NOT NULL REFERENCES currencies(code),
    amount              ledger_amount NOT NULL CHECK (amount > 0),
    description         text,
    status              text NOT NULL DEFAULT 'open'
                        CHECK (status IN ('open', 'authorized', 'paid', 'canceled', 'expired')),
    expires_at          timestamptz,
    payer_account_id    uuid REFERENCES accounts(id),
    hold_id             uuid REFERENCES holds(id),
    paid_amount         ledger_amount NOT NULL DEFAULT 0,
    refunded_amount     ledger_amount NOT NULL DEFAULT 0,
    metadata            jsonb NOT NULL DEFAULT '{{}}',
    command_id          text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    -- Refunds never total more than was paid, and nothing pays more than was asked.
    CONSTRAINT refunds_within_paid CHECK (refunded_amount >= 0 AND refunded_amount <= paid_amount),
    CONSTRAINT paid_within_amount CHECK (paid_amount >= 0 AND paid_amount <= amount)
);
CREATE INDEX payment_intents_merchant ON payment_intents (merchant_account_id, created_at);
CREATE INDEX payment_intents_due ON payment_intents (expires_at) WHERE status = 'open' AND expires_at IS NOT NULL;

-- Every event ever emitted, kept for the event-stream endpoints; the outbox is only the queue to the broker.
CREATE TABLE events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id    uuid NOT NULL UNIQUE,
    type        text NOT NULL,
    command_id  text NOT NULL,
    account_id  uuid,
    wallet_id   uuid,
    sequence    bigint,
    occurred_at timestamptz NOT NULL,
    body        bytea NOT NULL
);
CREATE INDEX events_wallet ON events (wallet_id, id);
CREATE INDEX events_account ON events (account_id, sequence);
CREATE INDEX events_command ON events (command_id);
INSERT INTO events (event_id, type, command_id, account_id, wallet_id, sequence, occurred_at, body)
    SELECT o.event_id, o.routing_key, o.command_id, (j.b->>'account_id')::uuid, a.wallet_id, (j.b->>'sequence')::bigint,
           (j.b->>'occurred_at')::timestamptz, o.body
      FROM outbox o CROSS JOIN LATERAL (SELECT convert_from(o.body, 'UTF8')::jsonb AS b) AS j
      LEFT JOIN accounts a ON a.id = (j.b->>'account_id')::uuid
     ORDER BY o.id;
CREATE TRIGGER events_immutable BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

ALTER TABLE commands ADD COLUMN principal text;
"""  # noqa: S608 - only constants are formatted in

DOWNGRADE = r"""
DROP TABLE events, payment_intents, holds;
DROP FUNCTION ledger_hold_final;
ALTER TABLE commands DROP COLUMN principal;
DROP INDEX postings_recent_debits;
ALTER TABLE postings DROP COLUMN hash, ALTER COLUMN amount TYPE bigint, ALTER COLUMN balance_after TYPE bigint;
ALTER TABLE transactions DROP COLUMN currency, DROP COLUMN amount, DROP COLUMN description, DROP COLUMN metadata,
    DROP COLUMN reverses_id, DROP COLUMN hold_id, DROP COLUMN intent_id;
ALTER TABLE accounts DROP CONSTRAINT available_above_minimum, DROP CONSTRAINT one_account_per_currency,
    DROP CONSTRAINT accounts_currency_fk, DROP COLUMN wallet_id, DROP COLUMN held, DROP COLUMN status,
    DROP COLUMN allow_credits, DROP COLUMN max_per_transaction, DROP COLUMN daily_debit_amount,
    DROP COLUMN daily_debit_count, DROP COLUMN last_hash, DROP COLUMN updated_at,
    ALTER COLUMN balance TYPE bigint, ALTER COLUMN min_balance TYPE bigint,
    ADD CONSTRAINT balance_above_minimum CHECK (min_balance IS NULL OR balance >= min_balance);
DROP TABLE wallets, currencies;
DROP FUNCTION ledger_currency_fixed;
DROP DOMAIN ledger_amount;
"""


def upgrade() -> None:
    run(UPGRADE)


def downgrade() -> None:
    run(DOWNGRADE)
