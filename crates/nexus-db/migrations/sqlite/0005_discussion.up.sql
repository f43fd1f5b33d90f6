-- SQLite twin of postgres/0005_discussion.up.sql: BLOB UUIDs and TEXT timestamps.
-- Discussion around notes: comments with one level of replies, edit proposals, inaccuracy
-- reports, followed topics and bookmarks. Rows are ordered by their UUIDv7 id, which
-- follows creation time, so "oldest first" and "newest first" need no timestamp index.

-- A deleted comment keeps its row (with the text erased) so that its replies keep their
-- place in the thread.
CREATE TABLE comments (
    id         BLOB PRIMARY KEY NOT NULL,
    note_id    BLOB NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    parent_id  BLOB REFERENCES comments (id) ON DELETE CASCADE,
    author_id  BLOB NOT NULL REFERENCES users (id),
    body_md    TEXT NOT NULL,
    body_html  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT
);
-- Threads of a note are paged by id; replies are fetched by parent.
CREATE INDEX comments_note_id_idx ON comments (note_id, id);
CREATE INDEX comments_parent_id_idx ON comments (parent_id, id);
CREATE INDEX comments_author_id_idx ON comments (author_id);

CREATE TABLE note_proposals (
    id           BLOB PRIMARY KEY NOT NULL,
    note_id      BLOB NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    proposer_id  BLOB NOT NULL REFERENCES users (id),
    base_version INTEGER NOT NULL,
    title        TEXT NOT NULL,
    body_md      TEXT NOT NULL,
    message      TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('open', 'accepted', 'rejected')),
    decided_by   BLOB REFERENCES users (id),
    reason       TEXT,
    -- The note revision an accepted proposal became.
    revision     INTEGER,
    created_at   TEXT NOT NULL,
    decided_at   TEXT
);
CREATE INDEX note_proposals_note_id_idx ON note_proposals (note_id, id);
CREATE INDEX note_proposals_proposer_id_idx ON note_proposals (proposer_id, id);
CREATE INDEX note_proposals_decided_by_idx ON note_proposals (decided_by);

CREATE TABLE note_reports (
    id          BLOB PRIMARY KEY NOT NULL,
    note_id     BLOB NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    reporter_id BLOB NOT NULL REFERENCES users (id),
    reason      TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
    resolved_by BLOB REFERENCES users (id),
    resolution  TEXT,
    created_at  TEXT NOT NULL,
    resolved_at TEXT
);
CREATE INDEX note_reports_note_id_idx ON note_reports (note_id);
CREATE INDEX note_reports_reporter_id_idx ON note_reports (reporter_id);
CREATE INDEX note_reports_resolved_by_idx ON note_reports (resolved_by);
-- The moderation queue: reports of one status, paged by id.
CREATE INDEX note_reports_status_id_idx ON note_reports (status, id);

CREATE TABLE topic_follows (
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    topic_id   BLOB NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, topic_id)
);
CREATE INDEX topic_follows_topic_id_idx ON topic_follows (topic_id);

-- The id orders a user's bookmarks newest first and serves as their cursor.
CREATE TABLE bookmarks (
    id         BLOB PRIMARY KEY NOT NULL,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    note_id    BLOB NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    CONSTRAINT bookmarks_user_note_key UNIQUE (user_id, note_id)
);
CREATE INDEX bookmarks_user_id_idx ON bookmarks (user_id, id);
CREATE INDEX bookmarks_note_id_idx ON bookmarks (note_id);
