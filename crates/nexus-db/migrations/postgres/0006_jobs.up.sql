-- Background work. `outbox_events` is the transactional outbox: a domain event is written
-- in the same transaction as the change that causes it, and a relay later turns it into
-- jobs. `jobs` is the ledger of every job on every queue backend: on the table queue it
-- is the queue itself; with RabbitMQ it is the record the broker's messages point at
-- (`published_at` says the current attempt has been handed to the broker).
CREATE TABLE outbox_events (
    id          UUID PRIMARY KEY,
    event_type  TEXT NOT NULL,
    payload     JSONB NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    relayed_at  TIMESTAMPTZ
);
CREATE INDEX outbox_events_pending_idx ON outbox_events (occurred_at) WHERE relayed_at IS NULL;

CREATE TABLE jobs (
    id            UUID PRIMARY KEY,
    kind          TEXT NOT NULL,
    payload       JSONB NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'dead')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    max_attempts  INTEGER NOT NULL CHECK (max_attempts > 0),
    -- Microseconds since the Unix epoch: compared in SQL on both backends, where
    -- SQLite's TEXT timestamps (variable fractional digits) do not order reliably.
    run_at_us     BIGINT NOT NULL,
    lease_until_us BIGINT,
    worker        TEXT,
    last_error    TEXT,
    -- Makes enqueueing idempotent: an event relayed twice, or a schedule fired by two
    -- workers for the same period, inserts one job.
    dedupe_key    TEXT,
    published_at  TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ,
    CONSTRAINT jobs_dedupe_key_key UNIQUE (dedupe_key)
);
CREATE INDEX jobs_due_idx ON jobs (run_at_us) WHERE state = 'queued';
CREATE INDEX jobs_lease_idx ON jobs (lease_until_us) WHERE state = 'running';
CREATE INDEX jobs_state_kind_idx ON jobs (state, kind, id);

-- Effects a job has already had, keyed by what the effect is (not by the attempt), so a
-- job that runs twice after a crash acts once.
CREATE TABLE job_effects (
    key        TEXT PRIMARY KEY,
    job_id     UUID NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- Non-essential email can be turned off; verification and reset mail always goes.
ALTER TABLE users ADD COLUMN email_notifications BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE users ADD COLUMN email_digest BOOLEAN NOT NULL DEFAULT TRUE;
