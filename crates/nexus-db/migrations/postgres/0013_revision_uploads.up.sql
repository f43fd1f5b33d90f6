-- The files each submission revision cites, in the order the learner gave them. An
-- upload that a revision cites cannot be deleted (RESTRICT): the revision is evidence
-- that was reviewed, and it must stay readable.
CREATE TABLE revision_uploads (
    revision_id UUID NOT NULL REFERENCES submission_revisions (id) ON DELETE CASCADE,
    upload_id   UUID NOT NULL REFERENCES uploads (id) ON DELETE RESTRICT,
    position    INTEGER NOT NULL,
    PRIMARY KEY (revision_id, upload_id)
);
-- Who may read an upload: the revisions that cite it.
CREATE INDEX revision_uploads_upload_idx ON revision_uploads (upload_id);
