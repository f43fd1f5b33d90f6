-- The knowledge hub: topics, notes with their topics, tags, revisions and links, and
-- full-text search. Notes are ordered by id, which is a UUIDv7 and so follows creation
-- time: "newest first" needs no separate timestamp index.
CREATE TABLE topics (
    id          UUID PRIMARY KEY,
    slug        TEXT NOT NULL,
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    CONSTRAINT topics_slug_key UNIQUE (slug)
);

CREATE TABLE notes (
    id           UUID PRIMARY KEY,
    slug         TEXT NOT NULL,
    author_id    UUID NOT NULL REFERENCES users (id),
    kind         TEXT NOT NULL CHECK (kind IN ('concept', 'challenge', 'practice', 'guide', 'takeaway')),
    status       TEXT NOT NULL CHECK (status IN ('draft', 'published', 'archived')),
    title        TEXT NOT NULL,
    summary      TEXT NOT NULL,
    body_md      TEXT NOT NULL,
    body_html    TEXT NOT NULL,
    body_text    TEXT NOT NULL,
    problem      TEXT,
    solution     TEXT,
    outcome      TEXT,
    version      INTEGER NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    published_at TIMESTAMPTZ,
    -- Title weighs more than body (weights A and B), so title matches rank first.
    search       TSVECTOR GENERATED ALWAYS AS (
                     setweight(to_tsvector('english', title), 'A') ||
                     setweight(to_tsvector('english', body_text), 'B')) STORED,
    CONSTRAINT notes_slug_key UNIQUE (slug)
);
CREATE INDEX notes_author_id_idx ON notes (author_id, id);
CREATE INDEX notes_status_id_idx ON notes (status, id);
CREATE INDEX notes_status_updated_idx ON notes (status, updated_at, id);
CREATE INDEX notes_search_idx ON notes USING GIN (search);

CREATE TABLE note_topics (
    note_id  UUID NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    topic_id UUID NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    PRIMARY KEY (note_id, topic_id)
);
CREATE INDEX note_topics_topic_id_idx ON note_topics (topic_id, note_id);

CREATE TABLE note_tags (
    note_id UUID NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    tag     TEXT NOT NULL,
    PRIMARY KEY (note_id, tag)
);
CREATE INDEX note_tags_tag_idx ON note_tags (tag, note_id);

CREATE TABLE note_revisions (
    note_id    UUID NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    number     INTEGER NOT NULL,
    editor_id  UUID NOT NULL REFERENCES users (id),
    message    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    title      TEXT NOT NULL,
    body_md    TEXT NOT NULL,
    problem    TEXT,
    solution   TEXT,
    outcome    TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (note_id, number)
);
CREATE INDEX note_revisions_editor_id_idx ON note_revisions (editor_id);

-- A link from a note's body to a slug. `target_id` is set when a note has that slug, and
-- filled in when one is created later, so links may point ahead of their notes.
CREATE TABLE note_links (
    source_id  UUID NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    target_slug TEXT NOT NULL,
    target_id  UUID REFERENCES notes (id) ON DELETE SET NULL,
    PRIMARY KEY (source_id, target_slug)
);
CREATE INDEX note_links_target_id_idx ON note_links (target_id);
CREATE INDEX note_links_target_slug_idx ON note_links (target_slug);
