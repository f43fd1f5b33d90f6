//! Queries for accounts, sessions, refresh tokens, personal access tokens and email tokens.
//!
//! Every function takes an executor ([`Exec`]): reads usually run on the pool (`&db`),
//! writes in a transaction (`&mut tx`) so the service decides what one transaction
//! covers. Ownership is part of every lookup of a user's object (`WHERE id = $1 AND
//! user_id = $2`), so another user's object is simply not found.

use chrono::{DateTime, Utc};
use nexus_core::error::AppResult;
use nexus_core::identity::{Role, Track};
use uuid::Uuid;

use crate::exec::{Exec, Order, query};

const USER_COLUMNS: &str = "id, email, email_normalized, handle, display_name, bio, track, role, \
     password_hash, email_verified_at, disabled_at, created_at, updated_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub email_normalized: String,
    pub handle: String,
    pub display_name: String,
    pub bio: String,
    pub track: Track,
    pub role: Role,
    pub password_hash: String,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub struct NewUser<'a> {
    pub id: Uuid,
    pub email: &'a str,
    pub email_normalized: &'a str,
    pub handle: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub password_hash: &'a str,
    pub verified_at: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

pub async fn insert_user(x: impl Into<Exec<'_>>, u: &NewUser<'_>) -> AppResult<()> {
    let sql = "INSERT INTO users (id, email, email_normalized, handle, display_name, role, \
               password_hash, email_verified_at, created_at, updated_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)";
    let args = (
        u.id,
        u.email,
        u.email_normalized,
        u.handle,
        u.display_name,
        u.role,
        u.password_hash,
        u.verified_at,
        u.now,
    );
    x.into().run(query(sql).args(args)).await
}

macro_rules! find_user_by {
    ($name:ident, $column:literal, $ty:ty) => {
        pub async fn $name(x: impl Into<Exec<'_>>, value: $ty) -> AppResult<Option<UserRow>> {
            let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE {} = $1", $column);
            x.into().fetch_optional(query(sql).bind(value)).await
        }
    };
}

find_user_by!(user_by_id, "id", Uuid);
find_user_by!(user_by_email, "email_normalized", &str);
find_user_by!(user_by_handle, "handle", &str);

/// Filters of the admin user listing; `after` is the last id of the previous page
/// (ids are UUIDv7, so id order is creation order).
#[derive(Debug, Default)]
pub struct UserFilter<'a> {
    pub role: Option<&'a str>,
    pub disabled: Option<bool>,
    pub handle_prefix: Option<&'a str>,
    pub after: Option<Uuid>,
    pub limit: u32,
}

pub async fn list_users(x: impl Into<Exec<'_>>, f: &UserFilter<'_>) -> AppResult<Vec<UserRow>> {
    // The optional filters are written as `($n IS NULL OR …)` so the statement text is
    // fixed and every value is a bound parameter.
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users \
         WHERE ($1 IS NULL OR role = $1) \
           AND ($2 IS NULL OR (disabled_at IS NOT NULL) = $2) \
           AND ($3 IS NULL OR handle LIKE $3)"
    );
    let prefix = f.handle_prefix.map(|p| {
        let escaped: String = p
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        format!("{escaped}%")
    });
    let q = query(sql).args((f.role, f.disabled, prefix.as_deref()));
    x.into()
        .fetch_all(q.page("id", Order::Oldest, f.after, f.limit))
        .await
}

pub struct ProfileChange<'a> {
    pub display_name: Option<&'a str>,
    pub bio: Option<&'a str>,
    pub track: Option<Track>,
}

pub async fn update_profile(
    x: impl Into<Exec<'_>>,
    user_id: Uuid,
    c: &ProfileChange<'_>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let sql = "UPDATE users SET display_name = COALESCE($2, display_name), \
               bio = COALESCE($3, bio), track = COALESCE($4, track), updated_at = $5 WHERE id = $1";
    x.into()
        .run(query(sql).args((user_id, c.display_name, c.bio, c.track, now)))
        .await
}

/// Which optional emails a user wants (essential ones, such as verification and password
/// reset, are sent regardless).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct EmailPreferencesRow {
    pub email_notifications: bool,
    pub email_digest: bool,
    pub email_learning_digest: bool,
}

pub async fn email_preferences(
    x: impl Into<Exec<'_>>,
    user_id: Uuid,
) -> AppResult<Option<EmailPreferencesRow>> {
    let sql = "SELECT email_notifications, email_digest, email_learning_digest FROM users \
               WHERE id = $1";
    x.into().fetch_optional(query(sql).args(user_id)).await
}

/// Sets the preferences that are `Some`, leaving the others as they are.
pub async fn update_email_preferences(
    x: impl Into<Exec<'_>>,
    user_id: Uuid,
    notifications: Option<bool>,
    digest: Option<bool>,
    learning_digest: Option<bool>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let sql = "UPDATE users SET email_notifications = COALESCE($2, email_notifications), \
               email_digest = COALESCE($3, email_digest), \
               email_learning_digest = COALESCE($4, email_learning_digest), updated_at = $5 \
               WHERE id = $1";
    x.into()
        .run(query(sql).args((user_id, notifications, digest, learning_digest, now)))
        .await
}

pub async fn set_role_and_disabled(
    x: impl Into<Exec<'_>>,
    user_id: Uuid,
    role: Option<&str>,
    disabled: Option<bool>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let sql = "UPDATE users SET role = COALESCE($2, role), \
               disabled_at = CASE WHEN $3 IS NULL THEN disabled_at \
                                  WHEN $3 THEN COALESCE(disabled_at, $4) ELSE NULL END, \
               updated_at = $4 WHERE id = $1";
    x.into()
        .run(query(sql).args((user_id, role, disabled, now)))
        .await
}

pub async fn set_password_hash(
    x: impl Into<Exec<'_>>,
    user_id: Uuid,
    hash: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let sql = "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1";
    x.into().run(query(sql).args((user_id, hash, now))).await
}

pub async fn mark_verified(
    x: impl Into<Exec<'_>>,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let sql = "UPDATE users SET email_verified_at = COALESCE(email_verified_at, $2), updated_at = $2 \
               WHERE id = $1";
    x.into().run(query(sql).args((user_id, now))).await
}

// ---- sessions and refresh tokens ------------------------------------------------------

pub async fn insert_session(
    x: impl Into<Exec<'_>>,
    id: Uuid,
    user_id: Uuid,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> AppResult<()> {
    let sql = "INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)";
    x.into()
        .run(query(sql).args((id, user_id, now, expires_at)))
        .await
}

pub async fn insert_refresh_token(
    x: impl Into<Exec<'_>>,
    token_hash: &str,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let sql = "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES ($1, $2, $3)";
    x.into()
        .run(query(sql).args((token_hash, session_id, now)))
        .await
}

/// A refresh token with the state of its session, read inside the rotating transaction.
#[derive(Debug, sqlx::FromRow)]
pub struct RefreshLookup {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub rotated_at: Option<DateTime<Utc>>,
    pub session_expires_at: DateTime<Utc>,
    pub session_revoked_at: Option<DateTime<Utc>>,
}

pub async fn find_refresh_token(
    x: impl Into<Exec<'_>>,
    token_hash: &str,
) -> AppResult<Option<RefreshLookup>> {
    let sql = "SELECT r.session_id, s.user_id, r.rotated_at, s.expires_at AS session_expires_at, \
               s.revoked_at AS session_revoked_at \
               FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id WHERE r.token_hash = $1";
    x.into().fetch_optional(query(sql).args(token_hash)).await
}

/// Marks a refresh token used. Returns false when another request rotated it first, which
/// the caller treats as reuse.
pub async fn rotate_refresh_token(
    x: impl Into<Exec<'_>>,
    token_hash: &str,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let sql =
        "UPDATE refresh_tokens SET rotated_at = $2 WHERE token_hash = $1 AND rotated_at IS NULL";
    x.into()
        .changed_one(query(sql).args((token_hash, now)))
        .await
}

pub async fn revoke_session(
    x: impl Into<Exec<'_>>,
    session_id: Uuid,
    why: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let sql = "UPDATE sessions SET revoked_at = $2, revoked_why = $3 WHERE id = $1 AND revoked_at IS NULL";
    x.into().run(query(sql).args((session_id, now, why))).await
}

/// Revokes every live session of a user except `keep` (the caller's own, if any).
pub async fn revoke_other_sessions(
    x: impl Into<Exec<'_>>,
    user_id: Uuid,
    keep: Option<Uuid>,
    why: &str,
    now: DateTime<Utc>,
) -> AppResult<u64> {
    let sql = "UPDATE sessions SET revoked_at = $3, revoked_why = $4 \
               WHERE user_id = $1 AND revoked_at IS NULL AND ($2 IS NULL OR id <> $2)";
    x.into()
        .execute(query(sql).args((user_id, keep, now, why)))
        .await
}

/// What an access token's session resolves to on each request: the user and whether the
/// session is still live. One round trip.
#[derive(Debug, sqlx::FromRow)]
pub struct SessionUser {
    pub id: Uuid,
    pub handle: String,
    pub role: Role,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub session_revoked_at: Option<DateTime<Utc>>,
    pub session_expires_at: DateTime<Utc>,
}

pub async fn session_user(
    x: impl Into<Exec<'_>>,
    session_id: Uuid,
    user_id: Uuid,
) -> AppResult<Option<SessionUser>> {
    let sql = "SELECT u.id, u.handle, u.role, u.email_verified_at, u.disabled_at, \
               s.revoked_at AS session_revoked_at, s.expires_at AS session_expires_at \
               FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1 AND s.user_id = $2";
    x.into()
        .fetch_optional(query(sql).args((session_id, user_id)))
        .await
}

// ---- personal access tokens -----------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PatRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub token_prefix: String,
    pub scope: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub struct NewPat<'a> {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub token_prefix: &'a str,
    pub scope: &'a str,
    pub now: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

pub async fn insert_pat(x: impl Into<Exec<'_>>, p: &NewPat<'_>) -> AppResult<()> {
    let sql = "INSERT INTO personal_access_tokens (id, user_id, name, token_hash, token_prefix, scope, \
               created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    let args = (
        p.id,
        p.user_id,
        p.name,
        p.token_hash,
        p.token_prefix,
        p.scope,
        p.now,
        p.expires_at,
    );
    x.into().run(query(sql).args(args)).await
}

const PAT_COLUMNS: &str =
    "id, user_id, name, token_prefix, scope, created_at, expires_at, last_used_at, revoked_at";

/// The caller's live tokens (not revoked), newest first.
pub async fn list_pats(x: impl Into<Exec<'_>>, user_id: Uuid) -> AppResult<Vec<PatRow>> {
    let sql = format!(
        "SELECT {PAT_COLUMNS} FROM personal_access_tokens \
         WHERE user_id = $1 AND revoked_at IS NULL ORDER BY id DESC LIMIT 200"
    );
    x.into().fetch_all(query(sql).bind(user_id)).await
}

/// Revokes one of the owner's tokens. Returns false when the owner has no such live token
/// (including when it belongs to someone else).
pub async fn revoke_pat(
    x: impl Into<Exec<'_>>,
    id: Uuid,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let sql = "UPDATE personal_access_tokens SET revoked_at = $3 \
               WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL";
    x.into()
        .changed_one(query(sql).args((id, user_id, now)))
        .await
}

/// A token presented as a bearer credential, with its owner.
#[derive(Debug, sqlx::FromRow)]
pub struct PatUser {
    pub token_id: Uuid,
    pub scope: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub id: Uuid,
    pub handle: String,
    pub role: Role,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
}

pub async fn pat_user(x: impl Into<Exec<'_>>, token_hash: &str) -> AppResult<Option<PatUser>> {
    let sql = "SELECT t.id AS token_id, t.scope, t.expires_at, t.revoked_at, u.id, u.handle, u.role, \
               u.email_verified_at, u.disabled_at \
               FROM personal_access_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1";
    x.into().fetch_optional(query(sql).args(token_hash)).await
}

pub async fn touch_pat(x: impl Into<Exec<'_>>, id: Uuid, now: DateTime<Utc>) -> AppResult<()> {
    let sql = "UPDATE personal_access_tokens SET last_used_at = $2 WHERE id = $1";
    x.into().run(query(sql).args((id, now))).await
}

// ---- email tokens -------------------------------------------------------------------

pub async fn insert_email_token(
    x: impl Into<Exec<'_>>,
    token_hash: &str,
    user_id: Uuid,
    purpose: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> AppResult<()> {
    let sql = "INSERT INTO email_tokens (token_hash, user_id, purpose, created_at, expires_at) \
               VALUES ($1, $2, $3, $4, $5)";
    x.into()
        .run(query(sql).args((token_hash, user_id, purpose, now, expires_at)))
        .await
}

/// Uses a live email token of `purpose` exactly once: the update succeeds for one caller
/// only. Returns the user it belongs to.
pub async fn consume_email_token(
    x: impl Into<Exec<'_>>,
    token_hash: &str,
    purpose: &str,
    now: DateTime<Utc>,
) -> AppResult<Option<Uuid>> {
    let sql = "UPDATE email_tokens SET used_at = $3 \
               WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 \
               RETURNING user_id";
    x.into()
        .scalar_optional::<Uuid>(query(sql).args((token_hash, purpose, now)))
        .await
}

/// Invalidates a user's other unused tokens of a purpose (a new reset link voids old ones).
pub async fn void_email_tokens(
    x: impl Into<Exec<'_>>,
    user_id: Uuid,
    purpose: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let sql = "UPDATE email_tokens SET used_at = $3 WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL";
    x.into().run(query(sql).args((user_id, purpose, now))).await
}
