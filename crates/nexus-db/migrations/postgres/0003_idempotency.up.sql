-- Answers to POSTs that carried an Idempotency-Key, kept so that a retry replays the
-- first answer instead of acting twice. `scope` is the principal (`u:<user id>`, or
-- `ip:<address>` for anonymous callers) so one client's key never reaches another's
-- answer. A row without `status` is a request still running.
CREATE TABLE idempotency_keys (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    status       INTEGER,
    headers      TEXT,
    body         BYTEA,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at);
