-- PostgreSQL bounds its search index's pending list here; FTS5 has no such list, so the
-- SQLite twin changes nothing and only keeps the two migration histories in step.
SELECT 1;
