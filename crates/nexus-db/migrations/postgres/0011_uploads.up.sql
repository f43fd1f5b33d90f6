-- Uploads: files kept in the object store (a directory, or an S3-compatible bucket), one
-- row each. The row is written only once its object is fully stored, so a row always
-- names a complete object; `storage_key` is the object's key in the store, kept here so
-- that the layout of keys can change without touching old files.
--
-- When an account goes, its uploads stay with no owner (SET NULL) rather than vanishing
-- with it: the rows still name their objects, so the files can be removed from the store
-- too, where a cascade would leave them there with nothing pointing at them.
CREATE TABLE uploads (
    id           UUID PRIMARY KEY,
    owner_id     UUID REFERENCES users (id) ON DELETE SET NULL,
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL CHECK (size > 0),
    sha256       TEXT NOT NULL CHECK (length(sha256) = 64),
    storage_key  TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    CONSTRAINT uploads_storage_key_key UNIQUE (storage_key)
);
-- Reads and deletes go by id (the primary key). An owner's uploads, for ON DELETE SET
-- NULL when the account goes (and for listing them, newest first, by id).
CREATE INDEX uploads_owner_idx ON uploads (owner_id, id);
