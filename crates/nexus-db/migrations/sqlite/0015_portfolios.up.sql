-- SQLite twin of postgres/0015_portfolios.up.sql (UUIDs as BLOBs, timestamps as TEXT).
CREATE TABLE portfolios (
    user_id    BLOB PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    visibility TEXT NOT NULL CHECK (visibility IN ('private', 'public')),
    headline   TEXT NOT NULL,
    bio        TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE portfolio_entries (
    user_id       BLOB NOT NULL REFERENCES portfolios (user_id) ON DELETE CASCADE,
    submission_id BLOB NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    narrative     TEXT NOT NULL,
    visibility    TEXT NOT NULL CHECK (visibility IN ('private', 'public')),
    PRIMARY KEY (user_id, submission_id)
);
CREATE INDEX portfolio_entries_submission_idx ON portfolio_entries (submission_id);
