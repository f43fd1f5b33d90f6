-- Learning: courses and their immutable versions. A course row holds what lists show of
-- its current version; every version keeps its whole document (as written, JSON text,
-- so that a cohort reads back exactly what it started on) and, for the cohort and
-- submission tables to come, one row per deliverable it defines.
CREATE TABLE courses (
    id             UUID PRIMARY KEY,
    slug           TEXT NOT NULL,
    title          TEXT NOT NULL,
    summary        TEXT NOT NULL,
    level          TEXT NOT NULL CHECK (level IN ('beginner', 'intermediate', 'advanced')),
    duration_weeks INTEGER NOT NULL,
    version        INTEGER NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    CONSTRAINT courses_slug_key UNIQUE (slug)
);
-- The course list pages by id (newest first) on the primary key.

CREATE TABLE course_versions (
    id         UUID PRIMARY KEY,
    course_id  UUID NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    title      TEXT NOT NULL,
    document   TEXT NOT NULL,
    created_by UUID REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT course_versions_course_version_key UNIQUE (course_id, version)
);
-- A course's history, newest first, paged by id; and the versions a user made, for
-- ON DELETE SET NULL when the user goes.
CREATE INDEX course_versions_course_idx ON course_versions (course_id, id);
CREATE INDEX course_versions_created_by_idx ON course_versions (created_by);

CREATE TABLE course_deliverables (
    version_id UUID NOT NULL REFERENCES course_versions (id) ON DELETE CASCADE,
    slug       TEXT NOT NULL,
    -- The week it is due at the end of: its own week, or a project's due_week.
    due_week   INTEGER NOT NULL,
    -- The project it belongs to; NULL for a weekly deliverable.
    project    TEXT,
    rubric     TEXT NOT NULL,
    PRIMARY KEY (version_id, slug)
);
