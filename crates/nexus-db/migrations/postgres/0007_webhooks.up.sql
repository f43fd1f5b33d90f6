-- Webhooks: endpoints that users and admins register for a set of event types, the state
-- of each endpoint's circuit breaker, and the log of every delivery attempt.
CREATE TABLE webhooks (
    id            UUID PRIMARY KEY,
    owner_id      UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    url           TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    -- The HMAC key deliveries are signed with. It must be readable to sign, so it is
    -- stored as is (like any API credential held for an outbound call) and shown to the
    -- owner once, when the endpoint is created.
    secret        TEXT NOT NULL,
    -- closed: deliveries go; open: they wait until open_until_us; half_open: one probe
    -- (probe_job) is in flight and the rest wait for its outcome.
    breaker_state TEXT NOT NULL DEFAULT 'closed'
                  CHECK (breaker_state IN ('closed', 'open', 'half_open')),
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    open_until_us BIGINT,
    probe_job     UUID,
    probe_until_us BIGINT,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhooks_owner_idx ON webhooks (owner_id, id);

-- Which event types an endpoint receives; the fan-out looks endpoints up by type.
CREATE TABLE webhook_events (
    webhook_id UUID NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    PRIMARY KEY (webhook_id, event_type)
);
CREATE INDEX webhook_events_type_idx ON webhook_events (event_type, webhook_id);

CREATE TABLE webhook_deliveries (
    id          UUID PRIMARY KEY,
    webhook_id  UUID NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    job_id      UUID NOT NULL,
    event_id    UUID NOT NULL,
    event_type  TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('succeeded', 'failed')),
    status_code INTEGER,
    error       TEXT,
    duration_ms BIGINT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, id);
