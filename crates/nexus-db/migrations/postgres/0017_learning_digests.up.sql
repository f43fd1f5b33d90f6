-- Learning digests: the weekly mentor digest (one per cohort a mentor mentors) and the
-- weekly learner digest, with a preference of their own, and the ledger that makes each
-- go once per person and period.
ALTER TABLE users ADD COLUMN email_learning_digest BOOLEAN NOT NULL DEFAULT TRUE;

-- One row per periodic email sent (or per part of one claimed): written in the
-- transaction that queues the email, so two workers, a retried job or a restart find
-- the row and send nothing twice. `kind` is `mentor` (scope: the cohort's id),
-- `learner` or `topics` (scope ''): `topics` says who carried a person's followed-topic
-- notes for the period, so the hub's digest and the learner digest never both do.
-- `period` is the ISO week of the fire time, e.g. `2027-W10`.
CREATE TABLE digests_sent (
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind    TEXT NOT NULL CHECK (kind IN ('mentor', 'learner', 'topics')),
    scope   TEXT NOT NULL,
    period  TEXT NOT NULL,
    sent_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, kind, scope, period)
);
