-- SQLite twin of postgres/0011_uploads.up.sql (UUIDs as BLOBs, timestamps as TEXT).
CREATE TABLE uploads (
    id           BLOB PRIMARY KEY NOT NULL,
    owner_id     BLOB REFERENCES users (id) ON DELETE SET NULL,
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL CHECK (size > 0),
    sha256       TEXT NOT NULL CHECK (length(sha256) = 64),
    storage_key  TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL
);
CREATE INDEX uploads_owner_idx ON uploads (owner_id, id);
