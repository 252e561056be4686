"""The event log: every event gets a global ``position`` (1, 2, 3 … without gaps) in commit order.

``events.xid`` is the writing transaction's id (``pg_current_xact_id()``, a default: nothing that writes
events changes). The relay's sequencer (``ledger_common/event_log.py``) numbers, in rounds, the events
that became visible since the snapshot it stored last; ``event_log`` keeps each position, the event's
wallet (for wallet-filtered readers) and when it was logged (for readers that start at a time). Events
written before this migration are numbered here, in id order, and the migration's snapshot is the first
round's. ``event_stream_state`` is where the stream publisher records how far it has published.

Both new tables are append-only like ``events``; the state rows change, never disappear.

Revision ID: 0012
Revises: 0011
"""

from migrations.sql import run

revision = "0012"
down_revision = "0011"

UPGRADE = r"""
-- Nullable and without a rewrite: rows written before now keep NULL (they are numbered below).
ALTER TABLE events ADD COLUMN xid xid8;
ALTER TABLE events ALTER COLUMN xid SET DEFAULT pg_current_xact_id();
CREATE INDEX events_xid ON events (xid);

CREATE TABLE event_log (
    position  bigint PRIMARY KEY CHECK (position > 0),
    event_pk  bigint NOT NULL UNIQUE REFERENCES events(id),
    wallet_id uuid,
    logged_at timestamptz NOT NULL
);
CREATE INDEX event_log_wallet ON event_log (wallet_id, position) WHERE wallet_id IS NOT NULL;
CREATE INDEX event_log_logged_at ON event_log (logged_at, position);
CREATE TRIGGER event_log_immutable BEFORE UPDATE OR DELETE ON event_log
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER event_log_no_truncate BEFORE TRUNCATE ON event_log
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- One row: the last position given, and the snapshot of the round that gave it.
CREATE TABLE event_log_state (
    one       boolean PRIMARY KEY DEFAULT true CHECK (one),
    head      bigint NOT NULL CHECK (head >= 0),
    snapshot  pg_snapshot NOT NULL,
    logged_at timestamptz NOT NULL
);

-- One statement, one snapshot: what it numbers is exactly what its stored snapshot saw.
WITH logged AS (
    INSERT INTO event_log (position, event_pk, wallet_id, logged_at)
    SELECT row_number() OVER (ORDER BY id), id, wallet_id, occurred_at FROM events ORDER BY id
    RETURNING position
)
INSERT INTO event_log_state (head, snapshot, logged_at)
SELECT (SELECT count(*) FROM logged), pg_current_snapshot(),
       coalesce((SELECT max(occurred_at) FROM events), statement_timestamp());

-- How far the stream publisher got, and which relay publishes (a lease, renewed while it publishes).
CREATE TABLE event_stream_state (
    one         boolean PRIMARY KEY DEFAULT true CHECK (one),
    published   bigint NOT NULL DEFAULT 0 CHECK (published >= 0),
    owner       text,
    renewed_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO event_stream_state DEFAULT VALUES;

-- Named readers report the last position they handled (HTTP cursors, SDK readers): lag and alerts.
CREATE TABLE event_readers (
    name       text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    principal  text NOT NULL,
    transport  text NOT NULL CHECK (transport IN ('http', 'amqp')),
    position   bigint NOT NULL CHECK (position >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_readers_principal ON event_readers (principal);
"""

DOWNGRADE = r"""
DROP TABLE event_readers, event_stream_state, event_log_state, event_log;
DROP INDEX events_xid;
ALTER TABLE events DROP COLUMN xid;
"""


def upgrade() -> None:
    run(UPGRADE)


def downgrade() -> None:
    run(DOWNGRADE)
