-- Learning: what a learner keeps beside their hand-ins, and what progress reads.
--
-- A retrospective is one per learner, cohort and week (retain / improve / scale), written
-- and rewritten by the learner. The risk ledger is a learner's list of defects, risks and
-- debt; an item may belong to a cohort (then it counts in that cohort's progress) or be
-- personal (cohort_id NULL).
CREATE TABLE retrospectives (
    cohort_id  UUID NOT NULL REFERENCES cohorts (id) ON DELETE CASCADE,
    learner_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    week       INTEGER NOT NULL CHECK (week >= 1),
    retain     TEXT NOT NULL,
    improve    TEXT NOT NULL,
    scale      TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (cohort_id, learner_id, week)
);
-- The foreign key's other end (a deleted user).
CREATE INDEX retrospectives_learner_idx ON retrospectives (learner_id);

CREATE TABLE ledger_items (
    id         UUID PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    cohort_id  UUID REFERENCES cohorts (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('defect', 'risk', 'debt')),
    title      TEXT NOT NULL,
    detail     TEXT NOT NULL,
    severity   TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
    week       INTEGER NOT NULL CHECK (week >= 1),
    status     TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    closed_at  TIMESTAMPTZ
);
-- A user's list, newest first, with or without a status filter.
CREATE INDEX ledger_items_user_idx ON ledger_items (user_id, id);
CREATE INDEX ledger_items_user_status_idx ON ledger_items (user_id, status, id);
-- Progress reads a cohort's items in one statement.
CREATE INDEX ledger_items_cohort_idx ON ledger_items (cohort_id, user_id);
