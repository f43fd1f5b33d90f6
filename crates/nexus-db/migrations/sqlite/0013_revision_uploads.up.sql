-- SQLite twin of postgres/0013_revision_uploads.up.sql.
CREATE TABLE revision_uploads (
    revision_id BLOB NOT NULL REFERENCES submission_revisions (id) ON DELETE CASCADE,
    upload_id   BLOB NOT NULL REFERENCES uploads (id) ON DELETE RESTRICT,
    position    INTEGER NOT NULL,
    PRIMARY KEY (revision_id, upload_id)
);
CREATE INDEX revision_uploads_upload_idx ON revision_uploads (upload_id);
