-- SQLite twin of postgres/0007_webhooks.up.sql (UUIDs as BLOBs, timestamps as TEXT).
CREATE TABLE webhooks (
    id            BLOB PRIMARY KEY NOT NULL,
    owner_id      BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    url           TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    secret        TEXT NOT NULL,
    breaker_state TEXT NOT NULL DEFAULT 'closed'
                  CHECK (breaker_state IN ('closed', 'open', 'half_open')),
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    open_until_us INTEGER,
    probe_job     BLOB,
    probe_until_us INTEGER,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX webhooks_owner_idx ON webhooks (owner_id, id);

CREATE TABLE webhook_events (
    webhook_id BLOB NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    PRIMARY KEY (webhook_id, event_type)
);
CREATE INDEX webhook_events_type_idx ON webhook_events (event_type, webhook_id);

CREATE TABLE webhook_deliveries (
    id          BLOB PRIMARY KEY NOT NULL,
    webhook_id  BLOB NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    job_id      BLOB NOT NULL,
    event_id    BLOB NOT NULL,
    event_type  TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('succeeded', 'failed')),
    status_code INTEGER,
    error       TEXT,
    duration_ms INTEGER NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, id);
