DROP TABLE notes_fts;
DROP TABLE note_links;
DROP TABLE note_revisions;
DROP TABLE note_tags;
DROP TABLE note_topics;
DROP TABLE notes;
DROP TABLE topics;
