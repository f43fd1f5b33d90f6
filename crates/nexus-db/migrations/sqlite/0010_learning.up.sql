-- SQLite twin of postgres/0010_learning.up.sql (UUIDs as BLOBs, timestamps as TEXT).
CREATE TABLE courses (
    id             BLOB PRIMARY KEY NOT NULL,
    slug           TEXT NOT NULL UNIQUE,
    title          TEXT NOT NULL,
    summary        TEXT NOT NULL,
    level          TEXT NOT NULL CHECK (level IN ('beginner', 'intermediate', 'advanced')),
    duration_weeks INTEGER NOT NULL,
    version        INTEGER NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

CREATE TABLE course_versions (
    id         BLOB PRIMARY KEY NOT NULL,
    course_id  BLOB NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    title      TEXT NOT NULL,
    document   TEXT NOT NULL,
    created_by BLOB REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    UNIQUE (course_id, version)
);
CREATE INDEX course_versions_course_idx ON course_versions (course_id, id);
CREATE INDEX course_versions_created_by_idx ON course_versions (created_by);

CREATE TABLE course_deliverables (
    version_id BLOB NOT NULL REFERENCES course_versions (id) ON DELETE CASCADE,
    slug       TEXT NOT NULL,
    due_week   INTEGER NOT NULL,
    project    TEXT,
    rubric     TEXT NOT NULL,
    PRIMARY KEY (version_id, slug)
);
