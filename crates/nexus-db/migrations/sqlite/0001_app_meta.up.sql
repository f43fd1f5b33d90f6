-- Facts about this database itself: which product owns it and when its schema was made.
-- Readiness reads it to prove migrations ran, not just that the server answers.
CREATE TABLE app_meta (
    key        TEXT PRIMARY KEY NOT NULL,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
INSERT INTO app_meta (key, value) VALUES ('product', 'nexus');
