-- Accounts, sessions (refresh-token families), personal access tokens and single-use
-- email tokens. Secrets are never stored: only SHA-256 hashes of tokens and argon2id
-- hashes of passwords.
CREATE TABLE users (
    id                UUID PRIMARY KEY,
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
    email_verified_at TIMESTAMPTZ,
    disabled_at       TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email_normalized),
    CONSTRAINT users_handle_key UNIQUE (handle)
);
CREATE INDEX users_role_idx ON users (role, id);

-- One row per sign-in; its refresh tokens form one rotation family.
CREATE TABLE sessions (
    id           UUID PRIMARY KEY,
    user_id      UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ,
    revoked_why  TEXT
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

CREATE TABLE refresh_tokens (
    token_hash  TEXT PRIMARY KEY,
    session_id  UUID NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL,
    rotated_at  TIMESTAMPTZ
);
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);

CREATE TABLE personal_access_tokens (
    id            UUID PRIMARY KEY,
    user_id       UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL,
    token_prefix  TEXT NOT NULL,
    scope         TEXT NOT NULL CHECK (scope IN ('read', 'write')),
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ,
    last_used_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ,
    CONSTRAINT personal_access_tokens_hash_key UNIQUE (token_hash)
);
CREATE INDEX personal_access_tokens_user_id_idx ON personal_access_tokens (user_id, id);

CREATE TABLE email_tokens (
    token_hash  TEXT PRIMARY KEY,
    user_id     UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL CHECK (purpose IN ('verify', 'reset')),
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ
);
CREATE INDEX email_tokens_user_id_idx ON email_tokens (user_id, purpose);
