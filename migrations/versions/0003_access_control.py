"""Access control: API keys, their limits, a shared rate-limit bucket, and the admin audit trail.

Revision ID: 0003
Revises: 0002
"""

from migrations.sql import run

revision = "0003"
down_revision = "0002"

UPGRADE = r"""
CREATE TABLE api_keys (
    id             uuid PRIMARY KEY,
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- Shown to humans: lk_live_<public_id> or lk_test_<public_id>; the bearer token is
    -- <prefix>_<secret>. Requests are looked up by public_id, then the secret's hash is compared.
    prefix         text NOT NULL CHECK (prefix ~ '^lk_(live|test)_[0-9a-f]{12}$'),
    public_id      text NOT NULL UNIQUE CHECK (public_id ~ '^[0-9a-f]{12}$'),
    -- HMAC-SHA-256(API_KEY_PEPPER, public_id || '.' || secret): the secret itself is never stored.
    secret_hash    bytea NOT NULL CHECK (length(secret_hash) = 32),
    scopes         text[] NOT NULL CHECK (
        cardinality(scopes) > 0
        AND scopes <@ ARRAY['read', 'transfer', 'holds', 'payments', 'refunds', 'deposit', 'wallets', 'admin']
    ),
    -- Set: the key acts as this one wallet. NULL: a service key across wallets.
    wallet_id      uuid REFERENCES wallets(id),
    rate_per_second double precision CHECK (rate_per_second > 0),
    rate_burst     integer CHECK (rate_burst >= 1),
    created_at     timestamptz NOT NULL DEFAULT now(),
    created_by     text NOT NULL,
    revoked_at     timestamptz,
    -- Touched at most once a minute per key by the authentication query.
    last_used_at   timestamptz,
    CONSTRAINT rate_limit_complete CHECK ((rate_per_second IS NULL) = (rate_burst IS NULL))
);
CREATE INDEX api_keys_wallet_id ON api_keys (wallet_id) WHERE wallet_id IS NOT NULL;

-- Money a key may move out, per currency; enforced by the worker when it applies a command.
CREATE TABLE api_key_spending_limits (
    key_id              uuid NOT NULL REFERENCES api_keys(id),
    currency            text NOT NULL CHECK (currency ~ '^[A-Z][A-Z0-9]{2,11}$'),
    per_transaction_max bigint CHECK (per_transaction_max > 0),
    -- Sum over any rolling 24 hours.
    per_day_max         bigint CHECK (per_day_max > 0),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key_id, currency),
    CONSTRAINT some_limit CHECK (per_transaction_max IS NOT NULL OR per_day_max IS NOT NULL)
);

-- Token buckets shared by every gateway process. Unlogged: after a crash the buckets start full,
-- which only forgives a few requests; in exchange each request writes no WAL.
CREATE UNLOGGED TABLE api_key_buckets (
    key_id     uuid PRIMARY KEY,
    tokens     double precision NOT NULL,
    updated_at timestamptz NOT NULL
);

-- Take one token from a key's bucket in one round trip. Returns 0 when the request may proceed,
-- otherwise the seconds until a token is available. The row lock serialises concurrent requests of
-- one key across all gateways; the database clock is the only clock, so gateways never disagree.
CREATE FUNCTION ledger_take_token(p_key uuid, p_rate double precision, p_burst integer)
RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE
    now_ts timestamptz := clock_timestamp();
    have   double precision;
BEGIN
    INSERT INTO api_key_buckets AS b (key_id, tokens, updated_at) VALUES (p_key, p_burst, now_ts)
    ON CONFLICT (key_id) DO UPDATE
       SET tokens = least(p_burst::double precision,
                          b.tokens + p_rate * greatest(0, extract(epoch FROM now_ts - b.updated_at))),
           updated_at = now_ts
    RETURNING tokens INTO have;
    IF have >= 1 THEN
        UPDATE api_key_buckets SET tokens = have - 1 WHERE key_id = p_key;
        RETURN 0;
    END IF;
    RETURN (1 - have) / p_rate;
END $$;

-- Who did what to access control, append-only (the same events also go out through the outbox).
CREATE TABLE admin_audit (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    principal   text NOT NULL,
    action      text NOT NULL CHECK (action IN ('key.created', 'key.revoked', 'key.limits_changed')),
    key_id      uuid NOT NULL REFERENCES api_keys(id),
    details     jsonb NOT NULL
);
CREATE INDEX admin_audit_key_id ON admin_audit (key_id, id);
CREATE TRIGGER admin_audit_immutable BEFORE UPDATE OR DELETE ON admin_audit
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER admin_audit_no_truncate BEFORE TRUNCATE ON admin_audit
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
"""

DOWNGRADE = r"""
DROP TABLE admin_audit, api_key_buckets, api_key_spending_limits, api_keys;
DROP FUNCTION ledger_take_token;
"""


def upgrade() -> None:
    run(UPGRADE)


def downgrade() -> None:
    run(DOWNGRADE)
