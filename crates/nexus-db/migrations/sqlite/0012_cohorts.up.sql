-- SQLite twin of postgres/0012_cohorts.up.sql (UUIDs as BLOBs, timestamps, dates and
-- JSON as TEXT).
CREATE TABLE cohorts (
    id           BLOB PRIMARY KEY NOT NULL,
    slug         TEXT NOT NULL,
    title        TEXT NOT NULL,
    course_id    BLOB NOT NULL REFERENCES courses (id) ON DELETE RESTRICT,
    version_id   BLOB NOT NULL REFERENCES course_versions (id) ON DELETE RESTRICT,
    starts_on    TEXT NOT NULL,
    ends_on      TEXT NOT NULL,
    timezone     TEXT NOT NULL,
    peer_reviews INTEGER NOT NULL CHECK (peer_reviews BETWEEN 0 AND 5),
    enrolment    TEXT NOT NULL CHECK (enrolment IN ('open', 'invite')),
    created_by   BLOB REFERENCES users (id) ON DELETE SET NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    CONSTRAINT cohorts_slug_key UNIQUE (slug)
);
CREATE INDEX cohorts_course_idx ON cohorts (course_id);
CREATE INDEX cohorts_version_idx ON cohorts (version_id);
CREATE INDEX cohorts_created_by_idx ON cohorts (created_by);
CREATE INDEX cohorts_running_idx ON cohorts (ends_on, starts_on);

CREATE TABLE cohort_deadlines (
    cohort_id   BLOB NOT NULL REFERENCES cohorts (id) ON DELETE CASCADE,
    deliverable TEXT NOT NULL,
    due_at      TEXT NOT NULL,
    set_by      BLOB REFERENCES users (id) ON DELETE SET NULL,
    set_at      TEXT NOT NULL,
    PRIMARY KEY (cohort_id, deliverable)
);
CREATE INDEX cohort_deadlines_set_by_idx ON cohort_deadlines (set_by);

CREATE TABLE enrolments (
    cohort_id    BLOB NOT NULL REFERENCES cohorts (id) ON DELETE CASCADE,
    user_id      BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('learner', 'mentor')),
    status       TEXT NOT NULL CHECK (status IN ('active', 'withdrawn')),
    enrolled_at  TEXT NOT NULL,
    withdrawn_at TEXT,
    PRIMARY KEY (cohort_id, user_id)
);
CREATE INDEX enrolments_user_idx ON enrolments (user_id, cohort_id);

CREATE TABLE submissions (
    id          BLOB PRIMARY KEY NOT NULL,
    cohort_id   BLOB NOT NULL REFERENCES cohorts (id) ON DELETE CASCADE,
    deliverable TEXT NOT NULL,
    learner_id  BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status      TEXT NOT NULL CHECK (status IN ('submitted', 'in_review', 'reviewed',
                                                'revision_requested', 'resubmitted')),
    revision    INTEGER NOT NULL,
    late        BOOLEAN NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    CONSTRAINT submissions_learner_key UNIQUE (cohort_id, deliverable, learner_id)
);
CREATE INDEX submissions_cohort_idx ON submissions (cohort_id, id);
CREATE INDEX submissions_cohort_deliverable_idx ON submissions (cohort_id, deliverable, id);
CREATE INDEX submissions_cohort_status_idx ON submissions (cohort_id, status, id);
CREATE INDEX submissions_learner_idx ON submissions (learner_id, id);

CREATE TABLE submission_revisions (
    id               BLOB PRIMARY KEY NOT NULL,
    submission_id    BLOB NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    revision         INTEGER NOT NULL,
    summary          TEXT NOT NULL,
    links            TEXT NOT NULL,
    notes            TEXT NOT NULL,
    late             BOOLEAN NOT NULL,
    evidence_missing TEXT NOT NULL,
    submitted_at     TEXT NOT NULL,
    CONSTRAINT submission_revisions_revision_key UNIQUE (submission_id, revision)
);

CREATE TABLE review_assignments (
    id            BLOB PRIMARY KEY NOT NULL,
    submission_id BLOB NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    cohort_id     BLOB NOT NULL REFERENCES cohorts (id) ON DELETE CASCADE,
    reviewer_id   BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    author_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status        TEXT NOT NULL CHECK (status IN ('open', 'done')),
    assigned_at   TEXT NOT NULL,
    done_at       TEXT,
    CONSTRAINT review_assignments_pair_key UNIQUE (submission_id, reviewer_id)
);
CREATE INDEX review_assignments_reviewer_idx ON review_assignments (reviewer_id, status, id);
CREATE INDEX review_assignments_cohort_idx ON review_assignments (cohort_id, reviewer_id, status);
CREATE INDEX review_assignments_author_idx ON review_assignments (author_id, reviewer_id);

CREATE TABLE reviews (
    id            BLOB PRIMARY KEY NOT NULL,
    submission_id BLOB NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    revision_id   BLOB NOT NULL REFERENCES submission_revisions (id) ON DELETE CASCADE,
    revision      INTEGER NOT NULL,
    reviewer_id   BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role          TEXT NOT NULL CHECK (role IN ('mentor', 'peer')),
    scores        TEXT NOT NULL,
    total         REAL NOT NULL,
    feedback      TEXT NOT NULL,
    revision_requested BOOLEAN NOT NULL,
    helpful       BOOLEAN,
    created_at    TEXT NOT NULL,
    CONSTRAINT reviews_reviewer_key UNIQUE (revision_id, reviewer_id)
);
CREATE INDEX reviews_submission_idx ON reviews (submission_id, id);
CREATE INDEX reviews_reviewer_idx ON reviews (reviewer_id, id);

CREATE TABLE deadline_reminders (
    cohort_id   BLOB NOT NULL REFERENCES cohorts (id) ON DELETE CASCADE,
    deliverable TEXT NOT NULL,
    user_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    lead_hours  INTEGER NOT NULL,
    sent_at     TEXT NOT NULL,
    PRIMARY KEY (cohort_id, deliverable, user_id, lead_hours)
);
CREATE INDEX deadline_reminders_user_idx ON deadline_reminders (user_id);
