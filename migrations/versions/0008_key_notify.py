"""API keys verified from the gateway's memory: change notifications and rate-limit leases.

- ``ledger_api_keys`` notifications: every change to a key row that matters to authentication
  (anything but ``last_used_at``), and its deletion, notifies the key's ``public_id``; a ``TRUNCATE``
  notifies ``*``. Gateways listen and forget that key (http_gateway/keycache.py), so a revocation,
  a new scope or a new rate applies on their next request without a database read per request.
- ``ledger_take_tokens(key, rate, burst, want)``: take up to ``want`` tokens from the key's bucket at
  once (a lease the gateway spends from memory), or none and the seconds until one is there.
  0003's ``ledger_take_token`` stays for gateways of the previous release during a rolling upgrade.

Revision ID: 0008
Revises: 0007
"""

from migrations.sql import run

revision = "0008"
down_revision = "0007"

UPGRADE = r"""
CREATE FUNCTION ledger_notify_api_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('ledger_api_keys', '*');
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('ledger_api_keys', OLD.public_id);
    ELSIF to_jsonb(OLD) - 'last_used_at' IS DISTINCT FROM to_jsonb(NEW) - 'last_used_at' THEN
        PERFORM pg_notify('ledger_api_keys', OLD.public_id);
        IF NEW.public_id IS DISTINCT FROM OLD.public_id THEN
            PERFORM pg_notify('ledger_api_keys', NEW.public_id);
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER api_keys_notify AFTER UPDATE OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION ledger_notify_api_key();
CREATE TRIGGER api_keys_notify_truncate AFTER TRUNCATE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_notify_api_key();

-- Up to p_want tokens (at least 1) from the bucket: (granted, 0) or (0, seconds until one is there).
-- The same bucket as ledger_take_token: the row lock serialises every gateway, the database clock
-- is the only clock, and a token is taken once whoever spends it.
CREATE FUNCTION ledger_take_tokens(p_key uuid, p_rate double precision, p_burst integer, p_want integer,
                                   OUT granted integer, OUT retry_after double precision)
LANGUAGE plpgsql AS $$
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
        granted := least(greatest(p_want, 1), floor(have)::integer);
        retry_after := 0;
        UPDATE api_key_buckets SET tokens = have - granted WHERE key_id = p_key;
    ELSE
        granted := 0;
        retry_after := (1 - have) / p_rate;
    END IF;
END $$;
"""

DOWNGRADE = r"""
DROP FUNCTION ledger_take_tokens;
DROP TRIGGER api_keys_notify_truncate ON api_keys;
DROP TRIGGER api_keys_notify ON api_keys;
DROP FUNCTION ledger_notify_api_key;
"""


def upgrade() -> None:
    run(UPGRADE)


def downgrade() -> None:
    run(DOWNGRADE)
