//! Webhook endpoints, the event types they receive, their circuit breakers and the log
//! of deliveries.
//!
//! The breaker lives in the endpoint's row so that every worker sees one state: each
//! transition is a single conditional `UPDATE`, and the half-open probe is taken by the
//! one delivery whose `UPDATE` wins, however many workers try at once.

use chrono::{DateTime, Utc};
use nexus_core::error::AppResult;
use uuid::Uuid;

use crate::Backend;
use crate::exec::{Exec, Order, placeholders, query};
use crate::jobs::micros;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookRow {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub url: String,
    pub description: String,
    pub secret: String,
    pub breaker_state: String,
    pub consecutive_failures: i32,
    pub open_until_us: Option<i64>,
    pub probe_job: Option<Uuid>,
    pub probe_until_us: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const WEBHOOK_COLUMNS: &str = "id, owner_id, url, description, secret, breaker_state, \
     consecutive_failures, open_until_us, probe_job, probe_until_us, created_at, updated_at";

pub struct NewWebhook<'a> {
    pub id: Uuid,
    pub owner: Uuid,
    pub url: &'a str,
    pub description: &'a str,
    pub secret: &'a str,
    pub events: &'a [String],
}

/// Endpoints `owner` has. Run inside the registering transaction (`&mut tx`) so the
/// per-owner limit holds against concurrent registrations (the transaction holds the
/// writer lock on SQLite; on PostgreSQL the owner's row is locked first).
pub async fn count_for_owner(x: impl Into<Exec<'_>>, owner: Uuid) -> AppResult<i64> {
    let mut x = x.into();
    if x.backend() == Backend::Postgres {
        x.execute(query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE").bind(owner))
            .await?;
    }
    x.scalar(query("SELECT COUNT(*) FROM webhooks WHERE owner_id = $1").bind(owner))
        .await
}

pub async fn insert(
    x: impl Into<Exec<'_>>,
    hook: &NewWebhook<'_>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let mut x = x.into();
    x.execute(
        query(
            "INSERT INTO webhooks (id, owner_id, url, description, secret, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(hook.id)
        .bind(hook.owner)
        .bind(hook.url)
        .bind(hook.description)
        .bind(hook.secret)
        .bind(now),
    )
    .await?;
    for event in hook.events {
        x.execute(
            query("INSERT INTO webhook_events (webhook_id, event_type) VALUES ($1, $2)")
                .bind(hook.id)
                .bind(event),
        )
        .await?;
    }
    Ok(())
}

pub async fn find(x: impl Into<Exec<'_>>, id: Uuid) -> AppResult<Option<WebhookRow>> {
    x.into()
        .fetch_optional(
            query(format!(
                "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1"
            ))
            .bind(id),
        )
        .await
}

/// An owner's endpoints, oldest first (there are at most `webhooks.max_per_owner`).
pub async fn list_for_owner(x: impl Into<Exec<'_>>, owner: Uuid) -> AppResult<Vec<WebhookRow>> {
    x.into()
        .fetch_all(
            query(format!(
                "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE owner_id = $1 ORDER BY id"
            ))
            .bind(owner),
        )
        .await
}

/// The event types of each of `ids`, as `(webhook, type)` pairs.
pub async fn event_types(x: impl Into<Exec<'_>>, ids: &[Uuid]) -> AppResult<Vec<(Uuid, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // At most max_per_owner ids: one placeholder each keeps the statement portable.
    let sql = format!(
        "SELECT webhook_id, event_type FROM webhook_events WHERE webhook_id IN ({}) \
         ORDER BY webhook_id, event_type",
        placeholders(1, ids.len())
    );
    x.into().fetch_all(query(sql).bind_all(ids)).await
}

/// Endpoints subscribed to `event_type` whose owner is not disabled, with the owner's
/// role (an admin-only event reaches an endpoint only while its owner is an admin), in
/// pages by id.
pub async fn subscribed(
    x: impl Into<Exec<'_>>,
    event_type: &str,
    after: Option<Uuid>,
    limit: i64,
) -> AppResult<Vec<(Uuid, String)>> {
    let sql = "SELECT e.webhook_id, u.role FROM webhook_events e \
               JOIN webhooks w ON w.id = e.webhook_id \
               JOIN users u ON u.id = w.owner_id \
               WHERE e.event_type = $1 AND u.disabled_at IS NULL";
    let q = query(sql).bind(event_type);
    x.into()
        .fetch_all(q.page("e.webhook_id", Order::Oldest, after, limit))
        .await
}

/// Which of `event_types` some endpoint is subscribed to, read inside the outbox relay's
/// transaction (`&mut tx`): events of the other types need no fan-out job at all.
pub async fn types_with_subscribers(
    x: impl Into<Exec<'_>>,
    event_types: &[&str],
) -> AppResult<Vec<String>> {
    if event_types.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT DISTINCT event_type FROM webhook_events WHERE event_type IN ({})",
        placeholders(1, event_types.len())
    );
    x.into()
        .scalars(query(sql).bind_all(event_types.iter().copied()))
        .await
}

pub async fn delete(x: impl Into<Exec<'_>>, id: Uuid) -> AppResult<bool> {
    let n = x
        .into()
        .execute(query("DELETE FROM webhooks WHERE id = $1").bind(id))
        .await?;
    Ok(n == 1)
}

// ---- the circuit breaker ----------------------------------------------------------------

/// Takes the half-open probe for `job` if the breaker is open and its cool-down is over,
/// or if a previous probe's holder vanished (its `probe_until_us` passed). `true` for
/// exactly one caller per probe.
pub async fn take_probe(
    x: impl Into<Exec<'_>>,
    id: Uuid,
    job: Uuid,
    now: DateTime<Utc>,
    probe_until: DateTime<Utc>,
) -> AppResult<bool> {
    let sql = "UPDATE webhooks SET breaker_state = 'half_open', probe_job = $2, \
               probe_until_us = $4, updated_at = $5 \
               WHERE id = $1 AND ( \
                 (breaker_state = 'open' AND open_until_us <= $3) \
                 OR (breaker_state = 'half_open' AND (probe_until_us <= $3 OR probe_job = $2)))";
    x.into()
        .changed_one(query(sql).args((id, job, micros(now), micros(probe_until), now)))
        .await
}

/// A delivery succeeded: the breaker closes and the failure count restarts. Writes only
/// when something changes, so a healthy endpoint costs no update per delivery.
pub async fn record_success(x: impl Into<Exec<'_>>, id: Uuid, now: DateTime<Utc>) -> AppResult<()> {
    let sql = "UPDATE webhooks SET breaker_state = 'closed', consecutive_failures = 0, \
               open_until_us = NULL, probe_job = NULL, probe_until_us = NULL, updated_at = $2 \
               WHERE id = $1 AND (breaker_state <> 'closed' OR consecutive_failures <> 0)";
    x.into().run(query(sql).args((id, now))).await
}

/// A delivery failed: one more consecutive failure. The breaker opens (until
/// `open_until`) when the count reaches `threshold`, or at once when the failure was the
/// half-open probe. Returns the state after the update.
pub async fn record_failure(
    x: impl Into<Exec<'_>>,
    id: Uuid,
    threshold: i32,
    now: DateTime<Utc>,
    open_until: DateTime<Utc>,
) -> AppResult<Option<String>> {
    let sql = "UPDATE webhooks SET consecutive_failures = consecutive_failures + 1, \
               breaker_state = CASE WHEN breaker_state = 'half_open' \
                   OR consecutive_failures + 1 >= $2 THEN 'open' ELSE breaker_state END, \
               open_until_us = CASE WHEN breaker_state = 'half_open' \
                   OR consecutive_failures + 1 >= $2 THEN $4 ELSE open_until_us END, \
               probe_job = NULL, probe_until_us = NULL, updated_at = $3 \
               WHERE id = $1 RETURNING breaker_state";
    x.into()
        .scalar_optional(query(sql).args((id, threshold, now, micros(open_until))))
        .await
}

// ---- the delivery log -------------------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub job_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub attempt: i32,
    pub outcome: String,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub created_at: DateTime<Utc>,
}

pub async fn insert_delivery(x: impl Into<Exec<'_>>, d: &DeliveryRow) -> AppResult<()> {
    let sql = "INSERT INTO webhook_deliveries (id, webhook_id, job_id, event_id, event_type, \
               attempt, outcome, status_code, error, duration_ms, created_at) \
               SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 \
               WHERE EXISTS (SELECT 1 FROM webhooks WHERE id = $2)";
    let args = (
        d.id,
        d.webhook_id,
        d.job_id,
        d.event_id,
        &d.event_type,
        d.attempt,
        &d.outcome,
        d.status_code,
        d.error.as_deref(),
        d.duration_ms,
        d.created_at,
    );
    x.into().run(query(sql).args(args)).await
}

/// An endpoint's deliveries, newest first, before the cursor's id.
pub async fn deliveries(
    x: impl Into<Exec<'_>>,
    webhook: Uuid,
    before: Option<Uuid>,
    limit: u32,
) -> AppResult<Vec<DeliveryRow>> {
    let sql = "SELECT id, webhook_id, job_id, event_id, event_type, attempt, outcome, \
               status_code, error, duration_ms, created_at FROM webhook_deliveries \
               WHERE webhook_id = $1";
    let q = query(sql).bind(webhook);
    x.into()
        .fetch_all(q.page("id", Order::Newest, before, limit))
        .await
}
