-- SQLite twin of postgres/0014_progress.up.sql (UUIDs as BLOBs, timestamps as TEXT).
CREATE TABLE retrospectives (
    cohort_id  BLOB NOT NULL REFERENCES cohorts (id) ON DELETE CASCADE,
    learner_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    week       INTEGER NOT NULL CHECK (week >= 1),
    retain     TEXT NOT NULL,
    improve    TEXT NOT NULL,
    scale      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (cohort_id, learner_id, week)
);
CREATE INDEX retrospectives_learner_idx ON retrospectives (learner_id);

CREATE TABLE ledger_items (
    id         BLOB PRIMARY KEY NOT NULL,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    cohort_id  BLOB REFERENCES cohorts (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('defect', 'risk', 'debt')),
    title      TEXT NOT NULL,
    detail     TEXT NOT NULL,
    severity   TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
    week       INTEGER NOT NULL CHECK (week >= 1),
    status     TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    closed_at  TEXT
);
CREATE INDEX ledger_items_user_idx ON ledger_items (user_id, id);
CREATE INDEX ledger_items_user_status_idx ON ledger_items (user_id, status, id);
CREATE INDEX ledger_items_cohort_idx ON ledger_items (cohort_id, user_id);
