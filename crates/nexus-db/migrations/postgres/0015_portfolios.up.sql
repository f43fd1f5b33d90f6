-- Portfolios: a learner's opt-in public page of reviewed evidence.
--
-- One portfolio per user; its entries cite the user's own submissions (checked by the use
-- case: own, with a mentor review). An entry or a whole portfolio may be private; what a
-- public entry of a public portfolio cites is what strangers may read, uploads included
-- (the upload read rule asks portfolio_entries through its submission index).
CREATE TABLE portfolios (
    user_id    UUID PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    visibility TEXT NOT NULL CHECK (visibility IN ('private', 'public')),
    headline   TEXT NOT NULL,
    bio        TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE portfolio_entries (
    user_id       UUID NOT NULL REFERENCES portfolios (user_id) ON DELETE CASCADE,
    submission_id UUID NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    narrative     TEXT NOT NULL,
    visibility    TEXT NOT NULL CHECK (visibility IN ('private', 'public')),
    PRIMARY KEY (user_id, submission_id)
);
-- Whether an upload is cited by a public entry: from the submission to its entries.
CREATE INDEX portfolio_entries_submission_idx ON portfolio_entries (submission_id);
