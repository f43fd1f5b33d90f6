-- SQLite twin of postgres/0002_identity.up.sql: UUIDs are 16-byte BLOBs and
-- timestamps RFC 3339 TEXT, as sqlx encodes them for SQLite.
-- Accounts, sessions (refresh-token families), personal access tokens and single-use
-- email tokens. Secrets are never stored: only SHA-256 hashes of tokens and argon2id
-- hashes of passwords.
CREATE TABLE users (
    id                BLOB PRIMARY KEY NOT NULL,
    email             TEXT NOT NULL,
    email_normalized  TEXT NOT NULL,
    handle            TEXT NOT NULL,
    display_name      TEXT NOT NULL,
    bio               TEXT NOT NULL DEFAULT '',
    track             TEXT NOT NULL DEFAULT 'other'
                      CHECK (track IN ('backend', 'frontend', 'fullstack', 'other')),
    role              TEXT NOT NULL DEFAULT 'learner'
                      CHECK (role IN ('learner', 'mentor', 'admin')),
    password_hash     TEXT NOT NULL,
    email_verified_at TEXT,
    disabled_at       TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email_normalized),
    CONSTRAINT users_handle_key UNIQUE (handle)
);
CREATE INDEX users_role_idx ON users (role, id);

-- One row per sign-in; its refresh tokens form one rotation family.
CREATE TABLE sessions (
    id           BLOB PRIMARY KEY NOT NULL,
    user_id      BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    revoked_at   TEXT,
    revoked_why  TEXT
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

CREATE TABLE refresh_tokens (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    session_id  BLOB NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL,
    rotated_at  TEXT
);
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);

CREATE TABLE personal_access_tokens (
    id            BLOB PRIMARY KEY NOT NULL,
    user_id       BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL,
    token_prefix  TEXT NOT NULL,
    scope         TEXT NOT NULL CHECK (scope IN ('read', 'write')),
    created_at    TEXT NOT NULL,
    expires_at    TEXT,
    last_used_at  TEXT,
    revoked_at    TEXT,
    CONSTRAINT personal_access_tokens_hash_key UNIQUE (token_hash)
);
CREATE INDEX personal_access_tokens_user_id_idx ON personal_access_tokens (user_id, id);

CREATE TABLE email_tokens (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    user_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL CHECK (purpose IN ('verify', 'reset')),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
);
CREATE INDEX email_tokens_user_id_idx ON email_tokens (user_id, purpose);
