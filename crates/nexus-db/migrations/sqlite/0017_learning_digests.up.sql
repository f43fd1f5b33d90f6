-- SQLite twin of postgres/0017_learning_digests.up.sql (UUIDs as BLOBs, timestamps as
-- TEXT).
ALTER TABLE users ADD COLUMN email_learning_digest BOOLEAN NOT NULL DEFAULT TRUE;

CREATE TABLE digests_sent (
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind    TEXT NOT NULL CHECK (kind IN ('mentor', 'learner', 'topics')),
    scope   TEXT NOT NULL,
    period  TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    PRIMARY KEY (user_id, kind, scope, period)
);
