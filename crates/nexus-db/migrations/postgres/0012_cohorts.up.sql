-- Learning: cohorts that run a course version, who is in them, what learners hand in and
-- how it is reviewed.
--
-- A cohort keeps the course version it was made on (version_id), so a course that moves
-- on never changes a running cohort's deliverables, rubrics or deadlines. Deadlines are
-- derived from starts_on and the cohort's IANA time zone; cohort_deadlines holds only the
-- overrides an admin set.
CREATE TABLE cohorts (
    id           UUID PRIMARY KEY,
    slug         TEXT NOT NULL,
    title        TEXT NOT NULL,
    course_id    UUID NOT NULL REFERENCES courses (id) ON DELETE RESTRICT,
    version_id   UUID NOT NULL REFERENCES course_versions (id) ON DELETE RESTRICT,
    starts_on    DATE NOT NULL,
    -- The day of the last computed deadline: reminders skip cohorts that ended.
    ends_on      DATE NOT NULL,
    timezone     TEXT NOT NULL,
    peer_reviews INTEGER NOT NULL CHECK (peer_reviews BETWEEN 0 AND 5),
    enrolment    TEXT NOT NULL CHECK (enrolment IN ('open', 'invite')),
    created_by   UUID REFERENCES users (id) ON DELETE SET NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    CONSTRAINT cohorts_slug_key UNIQUE (slug)
);
-- The cohort list pages by id on the primary key; a course's cohorts; the foreign keys'
-- other ends.
CREATE INDEX cohorts_course_idx ON cohorts (course_id);
CREATE INDEX cohorts_version_idx ON cohorts (version_id);
CREATE INDEX cohorts_created_by_idx ON cohorts (created_by);
-- Reminder passes: the cohorts whose calendar is still running.
CREATE INDEX cohorts_running_idx ON cohorts (ends_on, starts_on);

CREATE TABLE cohort_deadlines (
    cohort_id   UUID NOT NULL REFERENCES cohorts (id) ON DELETE CASCADE,
    deliverable TEXT NOT NULL,
    due_at      TIMESTAMPTZ NOT NULL,
    set_by      UUID REFERENCES users (id) ON DELETE SET NULL,
    set_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (cohort_id, deliverable)
);
CREATE INDEX cohort_deadlines_set_by_idx ON cohort_deadlines (set_by);

CREATE TABLE enrolments (
    cohort_id    UUID NOT NULL REFERENCES cohorts (id) ON DELETE CASCADE,
    user_id      UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('learner', 'mentor')),
    status       TEXT NOT NULL CHECK (status IN ('active', 'withdrawn')),
    enrolled_at  TIMESTAMPTZ NOT NULL,
    withdrawn_at TIMESTAMPTZ,
    PRIMARY KEY (cohort_id, user_id)
);
-- A cohort's members page by user id on the primary key; a user's cohorts.
CREATE INDEX enrolments_user_idx ON enrolments (user_id, cohort_id);

-- One submission per learner and deliverable; every hand-in is a revision of it.
CREATE TABLE submissions (
    id          UUID PRIMARY KEY,
    cohort_id   UUID NOT NULL REFERENCES cohorts (id) ON DELETE CASCADE,
    deliverable TEXT NOT NULL,
    learner_id  UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status      TEXT NOT NULL CHECK (status IN ('submitted', 'in_review', 'reviewed',
                                                'revision_requested', 'resubmitted')),
    revision    INTEGER NOT NULL,
    late        BOOLEAN NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    CONSTRAINT submissions_learner_key UNIQUE (cohort_id, deliverable, learner_id)
);
-- Mentors' lists: a cohort's submissions, by deliverable and by status, newest first.
CREATE INDEX submissions_cohort_idx ON submissions (cohort_id, id);
CREATE INDEX submissions_cohort_deliverable_idx ON submissions (cohort_id, deliverable, id);
CREATE INDEX submissions_cohort_status_idx ON submissions (cohort_id, status, id);
-- A learner's own list.
CREATE INDEX submissions_learner_idx ON submissions (learner_id, id);

CREATE TABLE submission_revisions (
    id               UUID PRIMARY KEY,
    submission_id    UUID NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    revision         INTEGER NOT NULL,
    summary          TEXT NOT NULL,
    -- [{url, label}] and [note slug], as the learner sent them (after validation).
    links            JSONB NOT NULL,
    notes            JSONB NOT NULL,
    late             BOOLEAN NOT NULL,
    evidence_missing JSONB NOT NULL,
    submitted_at     TIMESTAMPTZ NOT NULL,
    CONSTRAINT submission_revisions_revision_key UNIQUE (submission_id, revision)
);

-- Peer review assignments: who reviews whose submission.
CREATE TABLE review_assignments (
    id            UUID PRIMARY KEY,
    submission_id UUID NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    cohort_id     UUID NOT NULL REFERENCES cohorts (id) ON DELETE CASCADE,
    reviewer_id   UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The submission's author, kept here so "the same pair twice" is one indexed lookup.
    author_id     UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status        TEXT NOT NULL CHECK (status IN ('open', 'done')),
    assigned_at   TIMESTAMPTZ NOT NULL,
    done_at       TIMESTAMPTZ,
    CONSTRAINT review_assignments_pair_key UNIQUE (submission_id, reviewer_id)
);
-- A reviewer's list; open counts per reviewer in a cohort (balancing); earlier pairs.
CREATE INDEX review_assignments_reviewer_idx ON review_assignments (reviewer_id, status, id);
CREATE INDEX review_assignments_cohort_idx ON review_assignments (cohort_id, reviewer_id, status);
CREATE INDEX review_assignments_author_idx ON review_assignments (author_id, reviewer_id);

CREATE TABLE reviews (
    id            UUID PRIMARY KEY,
    submission_id UUID NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    revision_id   UUID NOT NULL REFERENCES submission_revisions (id) ON DELETE CASCADE,
    revision      INTEGER NOT NULL,
    reviewer_id   UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role          TEXT NOT NULL CHECK (role IN ('mentor', 'peer')),
    -- [{criterion, score, comment}] in the rubric's order.
    scores        JSONB NOT NULL,
    total         DOUBLE PRECISION NOT NULL,
    feedback      TEXT NOT NULL,
    revision_requested BOOLEAN NOT NULL,
    -- The author's rating of a peer review: NULL until rated.
    helpful       BOOLEAN,
    created_at    TIMESTAMPTZ NOT NULL,
    CONSTRAINT reviews_reviewer_key UNIQUE (revision_id, reviewer_id)
);
CREATE INDEX reviews_submission_idx ON reviews (submission_id, id);
CREATE INDEX reviews_reviewer_idx ON reviews (reviewer_id, id);

-- Deadline reminders sent: one row per (cohort, deliverable, learner, lead time), written
-- in the transaction that queues the email, so no reminder goes twice.
CREATE TABLE deadline_reminders (
    cohort_id   UUID NOT NULL REFERENCES cohorts (id) ON DELETE CASCADE,
    deliverable TEXT NOT NULL,
    user_id     UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    lead_hours  INTEGER NOT NULL,
    sent_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (cohort_id, deliverable, user_id, lead_hours)
);
CREATE INDEX deadline_reminders_user_idx ON deadline_reminders (user_id);
