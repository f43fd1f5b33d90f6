-- Collaborator matching: what each learner offers and looks for, requests to build
-- something together, and blocks.
CREATE TABLE collaboration_profiles (
    user_id      UUID PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    track        TEXT NOT NULL CHECK (track IN ('backend', 'frontend', 'fullstack', 'mobile', 'devops')),
    -- [text] and [topic slug], as the learner sent them (after validation).
    stack        JSONB NOT NULL,
    topics       JSONB NOT NULL,
    weekly_hours INTEGER NOT NULL CHECK (weekly_hours BETWEEN 1 AND 80),
    timezone     TEXT NOT NULL,
    looking_for  TEXT NOT NULL,
    open         BOOLEAN NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
-- Matching reads the open profiles only.
CREATE INDEX collaboration_profiles_open_idx ON collaboration_profiles (open, user_id);

CREATE TABLE collaborations (
    id            UUID PRIMARY KEY,
    requester_id  UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    partner_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_title TEXT NOT NULL,
    message       TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'declined', 'cancelled')),
    created_at    TIMESTAMPTZ NOT NULL,
    responded_at  TIMESTAMPTZ,
    CHECK (requester_id <> partner_id)
);
-- One pending request between two learners at a time, whichever of them asked: the
-- pair is indexed in a fixed order, so two requests crossing each other cannot both land.
CREATE UNIQUE INDEX collaborations_pending_key
    ON collaborations (LEAST(requester_id, partner_id), GREATEST(requester_id, partner_id))
    WHERE status = 'pending';
-- Each side's list, newest first; the pair lookups of blocks and portfolios.
CREATE INDEX collaborations_requester_idx ON collaborations (requester_id, id);
CREATE INDEX collaborations_partner_idx ON collaborations (partner_id, id);

CREATE TABLE collaboration_blocks (
    blocker_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id),
    CHECK (blocker_id <> blocked_id)
);
CREATE INDEX collaboration_blocks_blocked_idx ON collaboration_blocks (blocked_id, blocker_id);
