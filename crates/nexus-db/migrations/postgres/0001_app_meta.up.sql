-- Facts about this database itself: which product owns it and when its schema was made.
-- Readiness reads it to prove migrations ran, not just that the server answers.
CREATE TABLE app_meta (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
INSERT INTO app_meta (key, value) VALUES ('product', 'nexus');
