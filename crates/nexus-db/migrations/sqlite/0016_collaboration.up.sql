-- SQLite twin of postgres/0016_collaboration.up.sql (UUIDs as BLOBs, timestamps and
-- JSON as TEXT).
CREATE TABLE collaboration_profiles (
    user_id      BLOB PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    track        TEXT NOT NULL CHECK (track IN ('backend', 'frontend', 'fullstack', 'mobile', 'devops')),
    -- [text] and [topic slug], as the learner sent them (after validation).
    stack        TEXT NOT NULL,
    topics       TEXT NOT NULL,
    weekly_hours INTEGER NOT NULL CHECK (weekly_hours BETWEEN 1 AND 80),
    timezone     TEXT NOT NULL,
    looking_for  TEXT NOT NULL,
    open         BOOLEAN NOT NULL,
    updated_at   TEXT NOT NULL
);
-- Matching reads the open profiles only.
CREATE INDEX collaboration_profiles_open_idx ON collaboration_profiles (open, user_id);

CREATE TABLE collaborations (
    id            BLOB PRIMARY KEY NOT NULL,
    requester_id  BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    partner_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_title TEXT NOT NULL,
    message       TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'declined', 'cancelled')),
    created_at    TEXT NOT NULL,
    responded_at  TEXT,
    CHECK (requester_id <> partner_id)
);
-- One pending request between two learners at a time, whichever of them asked: the
-- pair is indexed in a fixed order, so two requests crossing each other cannot both land.
CREATE UNIQUE INDEX collaborations_pending_key
    ON collaborations (min(requester_id, partner_id), max(requester_id, partner_id))
    WHERE status = 'pending';
-- Each side's list, newest first; the pair lookups of blocks and portfolios.
CREATE INDEX collaborations_requester_idx ON collaborations (requester_id, id);
CREATE INDEX collaborations_partner_idx ON collaborations (partner_id, id);

CREATE TABLE collaboration_blocks (
    blocker_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id),
    CHECK (blocker_id <> blocked_id)
);
CREATE INDEX collaboration_blocks_blocked_idx ON collaboration_blocks (blocked_id, blocker_id);
