//! Stored answers of POSTs made with an `Idempotency-Key`.
//!
//! Claiming a key is one `INSERT … ON CONFLICT DO NOTHING`, which exactly one of several
//! concurrent requests wins on either backend, and the winner alone later writes the
//! answer or releases the claim. In between, the use case records its committed result
//! ([`record_effect`]) in its own transaction, so a key whose effect happened is never
//! released or run again, even if the answer was never stored.

use chrono::{DateTime, Utc};
use nexus_core::error::AppResult;

use crate::exec::{Exec, query};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IdempotencyRow {
    pub fingerprint: String,
    /// `None` while the first request is still running.
    pub status: Option<i32>,
    /// JSON array of `[name, value]` pairs.
    pub headers: Option<String>,
    pub body: Option<Vec<u8>>,
    /// The use case's committed result (JSON), once its transaction committed.
    pub effect: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Claims `key` for `scope`; `false` when a row already exists (running or finished).
pub async fn claim(
    x: impl Into<Exec<'_>>,
    scope: &str,
    key: &str,
    fingerprint: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> AppResult<bool> {
    let sql = "INSERT INTO idempotency_keys (scope, key, fingerprint, created_at, expires_at) \
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope, key) DO NOTHING";
    x.into()
        .changed_one(query(sql).args((scope, key, fingerprint, now, expires_at)))
        .await
}

pub async fn find(
    x: impl Into<Exec<'_>>,
    scope: &str,
    key: &str,
) -> AppResult<Option<IdempotencyRow>> {
    let sql = "SELECT fingerprint, status, headers, body, effect, created_at, expires_at \
               FROM idempotency_keys WHERE scope = $1 AND key = $2";
    x.into().fetch_optional(query(sql).args((scope, key))).await
}

/// Stores the answer of a claimed key.
pub async fn complete(
    x: impl Into<Exec<'_>>,
    scope: &str,
    key: &str,
    status: i32,
    headers: &str,
    body: &[u8],
) -> AppResult<()> {
    let sql = "UPDATE idempotency_keys SET status = $3, headers = $4, body = $5 \
               WHERE scope = $1 AND key = $2";
    x.into()
        .run(query(sql).args((scope, key, status, headers, body)))
        .await
}

/// Stores the answer of a claimed key together with the request's final fingerprint: a
/// request that streams its body is claimed before its body is read, with a fingerprint
/// of what came before it, and completed with one that covers the body too.
pub async fn complete_as(
    x: impl Into<Exec<'_>>,
    scope: &str,
    key: &str,
    fingerprint: &str,
    status: i32,
    headers: &str,
    body: &[u8],
) -> AppResult<()> {
    let sql = "UPDATE idempotency_keys SET fingerprint = $3, status = $4, headers = $5, \
               body = $6 WHERE scope = $1 AND key = $2";
    x.into()
        .run(query(sql).args((scope, key, fingerprint, status, headers, body)))
        .await
}

/// Records the result a use case committed under a claimed key; called inside the use
/// case's transaction, so the result exists exactly when the effect does.
pub async fn record_effect(
    x: impl Into<Exec<'_>>,
    scope: &str,
    key: &str,
    effect: &str,
) -> AppResult<()> {
    let sql = "UPDATE idempotency_keys SET effect = $3 WHERE scope = $1 AND key = $2";
    x.into().run(query(sql).args((scope, key, effect))).await
}

/// Gives up a claim whose request ended without an answer worth replaying, so that a
/// retry runs afresh. A claim whose effect committed is kept: running it again would act
/// twice.
pub async fn release(x: impl Into<Exec<'_>>, scope: &str, key: &str) -> AppResult<()> {
    let sql = "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 \
               AND status IS NULL AND effect IS NULL";
    x.into().run(query(sql).args((scope, key))).await
}

/// Removes the row of `key` if it has expired, or if it is a claim older than
/// `abandoned_before` (its process died mid-request) whose effect never committed.
/// `true` when a row went.
pub async fn remove_if_dead(
    x: impl Into<Exec<'_>>,
    scope: &str,
    key: &str,
    now: DateTime<Utc>,
    abandoned_before: DateTime<Utc>,
) -> AppResult<bool> {
    let removed = x
        .into()
        .execute(
            query(
                "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 \
                 AND (expires_at <= $3 OR (status IS NULL AND effect IS NULL AND created_at < $4))",
            )
            .bind(scope)
            .bind(key)
            .bind(now)
            .bind(abandoned_before),
        )
        .await?;
    Ok(removed > 0)
}

/// Deletes every expired key; returns how many.
pub async fn delete_expired(x: impl Into<Exec<'_>>, now: DateTime<Utc>) -> AppResult<u64> {
    x.into()
        .execute(query("DELETE FROM idempotency_keys WHERE expires_at <= $1").bind(now))
        .await
}
