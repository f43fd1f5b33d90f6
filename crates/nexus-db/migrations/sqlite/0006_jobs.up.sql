-- SQLite twin of postgres/0006_jobs.up.sql: UUIDs are 16-byte BLOBs, JSON is TEXT and
-- timestamps RFC 3339 TEXT, as sqlx encodes them for SQLite.
CREATE TABLE outbox_events (
    id          BLOB PRIMARY KEY NOT NULL,
    event_type  TEXT NOT NULL,
    payload     TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    relayed_at  TEXT
);
CREATE INDEX outbox_events_pending_idx ON outbox_events (occurred_at) WHERE relayed_at IS NULL;

CREATE TABLE jobs (
    id            BLOB PRIMARY KEY NOT NULL,
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'dead')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    max_attempts  INTEGER NOT NULL CHECK (max_attempts > 0),
    -- Microseconds since the Unix epoch: compared in SQL on both backends, where
    -- SQLite's TEXT timestamps (variable fractional digits) do not order reliably.
    run_at_us     INTEGER NOT NULL,
    lease_until_us INTEGER,
    worker        TEXT,
    last_error    TEXT,
    dedupe_key    TEXT,
    published_at  TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    finished_at   TEXT,
    CONSTRAINT jobs_dedupe_key_key UNIQUE (dedupe_key)
);
CREATE INDEX jobs_due_idx ON jobs (run_at_us) WHERE state = 'queued';
CREATE INDEX jobs_lease_idx ON jobs (lease_until_us) WHERE state = 'running';
CREATE INDEX jobs_state_kind_idx ON jobs (state, kind, id);

CREATE TABLE job_effects (
    key        TEXT PRIMARY KEY NOT NULL,
    job_id     BLOB NOT NULL,
    created_at TEXT NOT NULL
);

ALTER TABLE users ADD COLUMN email_notifications BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE users ADD COLUMN email_digest BOOLEAN NOT NULL DEFAULT TRUE;
