DROP TABLE bookmarks;
DROP TABLE topic_follows;
DROP TABLE note_reports;
DROP TABLE note_proposals;
DROP TABLE comments;
