//! Queries for what progress reads (a cohort's hand-ins, reviews, retrospectives and
//! ledger items, each in one statement whatever the number of learners) and for the two
//! things a learner keeps beside their hand-ins: weekly retrospectives and the risk
//! ledger.

use chrono::{DateTime, Utc};
use nexus_core::error::AppResult;
use nexus_core::learning::{LedgerKind, LedgerStatus, ReviewerRole, Severity};
use sqlx::types::Json;
use uuid::Uuid;

use crate::exec::{Exec, Order, query};

/// A learner of a cohort, as a progress row names them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LearnerRow {
    pub user_id: Uuid,
    pub handle: String,
    pub display_name: String,
}

/// The cohort's active learners, by handle.
pub async fn active_learners(x: impl Into<Exec<'_>>, cohort: Uuid) -> AppResult<Vec<LearnerRow>> {
    x.into()
        .fetch_all(
            query(
                "SELECT e.user_id, u.handle, u.display_name FROM enrolments e \
                 JOIN users u ON u.id = e.user_id WHERE e.cohort_id = $1 \
                 AND e.role = 'learner' AND e.status = 'active' ORDER BY u.handle",
            )
            .bind(cohort),
        )
        .await
}

/// A hand-in as progress sees it: its latest revision's missing evidence.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HandInFact {
    pub learner_id: Uuid,
    pub deliverable: String,
    pub revision: i32,
    pub evidence_missing: Json<Vec<String>>,
}

/// Every submission of the cohort (of one learner when `learner` is given).
pub async fn hand_ins(
    x: impl Into<Exec<'_>>,
    cohort: Uuid,
    learner: Option<Uuid>,
) -> AppResult<Vec<HandInFact>> {
    x.into()
        .fetch_all(
            query(
                "SELECT s.learner_id, s.deliverable, s.revision, r.evidence_missing \
                 FROM submissions s JOIN submission_revisions r \
                 ON r.submission_id = s.id AND r.revision = s.revision \
                 WHERE s.cohort_id = $1 AND ($2 IS NULL OR s.learner_id = $2)",
            )
            .args((cohort, learner)),
        )
        .await
}

/// A review as progress sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReviewFact {
    pub learner_id: Uuid,
    pub deliverable: String,
    pub revision: i32,
    pub role: ReviewerRole,
    /// `[{criterion, score, comment}]`.
    pub scores: Json<serde_json::Value>,
    pub total: f64,
    pub created_at: DateTime<Utc>,
}

/// Every review written in the cohort (on one learner's work when `learner` is given),
/// oldest first.
pub async fn review_facts(
    x: impl Into<Exec<'_>>,
    cohort: Uuid,
    learner: Option<Uuid>,
) -> AppResult<Vec<ReviewFact>> {
    x.into()
        .fetch_all(
            query(
                "SELECT s.learner_id, s.deliverable, r.revision, r.role, r.scores, r.total, \
                 r.created_at FROM reviews r JOIN submissions s ON s.id = r.submission_id \
                 WHERE s.cohort_id = $1 AND ($2 IS NULL OR s.learner_id = $2) \
                 ORDER BY r.created_at, r.id",
            )
            .args((cohort, learner)),
        )
        .await
}

/// The weeks each learner wrote a retrospective for.
pub async fn retrospective_weeks(
    x: impl Into<Exec<'_>>,
    cohort: Uuid,
    learner: Option<Uuid>,
) -> AppResult<Vec<(Uuid, i32)>> {
    x.into()
        .fetch_all(
            query(
                "SELECT learner_id, week FROM retrospectives WHERE cohort_id = $1 \
                 AND ($2 IS NULL OR learner_id = $2)",
            )
            .args((cohort, learner)),
        )
        .await
}

/// A ledger item as progress sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LedgerFact {
    pub user_id: Uuid,
    pub title: String,
    pub severity: Severity,
    pub week: i32,
    pub status: LedgerStatus,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// Every ledger item kept for the cohort (by one learner when `learner` is given).
pub async fn ledger_facts(
    x: impl Into<Exec<'_>>,
    cohort: Uuid,
    learner: Option<Uuid>,
) -> AppResult<Vec<LedgerFact>> {
    x.into()
        .fetch_all(
            query(
                "SELECT user_id, title, severity, week, status, created_at, closed_at \
                 FROM ledger_items WHERE cohort_id = $1 AND ($2 IS NULL OR user_id = $2) \
                 ORDER BY id",
            )
            .args((cohort, learner)),
        )
        .await
}

/// A learner's retrospective of one week.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RetrospectiveRow {
    pub week: i32,
    pub retain: String,
    pub improve: String,
    pub scale: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub struct NewRetrospective<'a> {
    pub cohort: Uuid,
    pub learner: Uuid,
    pub week: i32,
    pub retain: &'a str,
    pub improve: &'a str,
    pub scale: &'a str,
    pub now: DateTime<Utc>,
}

/// Writes the week's retrospective, replacing the one there was (whose `created_at`
/// stays).
pub async fn put_retrospective(x: impl Into<Exec<'_>>, r: &NewRetrospective<'_>) -> AppResult<()> {
    let sql = "INSERT INTO retrospectives (cohort_id, learner_id, week, retain, improve, scale, \
               created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
               ON CONFLICT (cohort_id, learner_id, week) DO UPDATE SET retain = $4, \
               improve = $5, scale = $6, updated_at = $7";
    let args = (
        r.cohort, r.learner, r.week, r.retain, r.improve, r.scale, r.now,
    );
    x.into().run(query(sql).args(args)).await
}

pub async fn retrospective(
    x: impl Into<Exec<'_>>,
    cohort: Uuid,
    learner: Uuid,
    week: i32,
) -> AppResult<Option<RetrospectiveRow>> {
    x.into()
        .fetch_optional(
            query(
                "SELECT week, retain, improve, scale, created_at, updated_at \
                 FROM retrospectives WHERE cohort_id = $1 AND learner_id = $2 AND week = $3",
            )
            .args((cohort, learner, week)),
        )
        .await
}

/// One item of a learner's risk ledger.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LedgerRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub cohort_id: Option<Uuid>,
    pub cohort_slug: Option<String>,
    pub kind: LedgerKind,
    pub title: String,
    pub detail: String,
    pub severity: Severity,
    pub week: i32,
    pub status: LedgerStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

const LEDGER_COLUMNS: &str = "SELECT l.id, l.user_id, l.cohort_id, c.slug AS cohort_slug, \
     l.kind, l.title, l.detail, l.severity, l.week, l.status, l.created_at, l.updated_at, \
     l.closed_at FROM ledger_items l LEFT JOIN cohorts c ON c.id = l.cohort_id";

/// A ledger item as it is written: new, or changed (then `id` names it and
/// `created_at` is not written).
pub struct LedgerWrite<'a> {
    pub id: Uuid,
    pub user: Uuid,
    pub cohort: Option<Uuid>,
    pub kind: LedgerKind,
    pub title: &'a str,
    pub detail: &'a str,
    pub severity: Severity,
    pub week: i32,
    pub status: LedgerStatus,
    pub closed_at: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

pub async fn insert_ledger_item(x: impl Into<Exec<'_>>, l: &LedgerWrite<'_>) -> AppResult<()> {
    let sql = "INSERT INTO ledger_items (id, user_id, cohort_id, kind, title, detail, severity, \
               week, status, created_at, updated_at, closed_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)";
    let args = (
        l.id,
        l.user,
        l.cohort,
        l.kind,
        l.title,
        l.detail,
        l.severity,
        l.week,
        l.status,
        l.now,
        l.closed_at,
    );
    x.into().run(query(sql).args(args)).await
}

/// Rewrites an item of `l.user`'s; `false` when they have no such item.
pub async fn update_ledger_item(x: impl Into<Exec<'_>>, l: &LedgerWrite<'_>) -> AppResult<bool> {
    let sql = "UPDATE ledger_items SET cohort_id = $3, kind = $4, title = $5, detail = $6, \
               severity = $7, week = $8, status = $9, updated_at = $10, closed_at = $11 \
               WHERE id = $1 AND user_id = $2";
    let args = (
        l.id,
        l.user,
        l.cohort,
        l.kind,
        l.title,
        l.detail,
        l.severity,
        l.week,
        l.status,
        l.now,
        l.closed_at,
    );
    x.into().changed_one(query(sql).args(args)).await
}

/// An item of `user`'s ledger; `None` for anyone else's.
pub async fn ledger_item(
    x: impl Into<Exec<'_>>,
    user: Uuid,
    id: Uuid,
) -> AppResult<Option<LedgerRow>> {
    x.into()
        .fetch_optional(
            query(format!(
                "{LEDGER_COLUMNS} WHERE l.id = $1 AND l.user_id = $2"
            ))
            .args((id, user)),
        )
        .await
}

/// Removes an item of `user`'s; `false` when they have no such item.
pub async fn delete_ledger_item(x: impl Into<Exec<'_>>, user: Uuid, id: Uuid) -> AppResult<bool> {
    x.into()
        .changed_one(
            query("DELETE FROM ledger_items WHERE id = $1 AND user_id = $2").args((id, user)),
        )
        .await
}

/// Filters of a ledger list.
#[derive(Debug, Default)]
pub struct LedgerFilter {
    pub cohort: Option<Uuid>,
    pub kind: Option<LedgerKind>,
    pub severity: Option<Severity>,
    pub status: Option<LedgerStatus>,
    pub week: Option<i32>,
}

/// A user's ledger, newest first.
pub async fn list_ledger(
    x: impl Into<Exec<'_>>,
    user: Uuid,
    f: &LedgerFilter,
    after: Option<Uuid>,
    limit: u32,
) -> AppResult<Vec<LedgerRow>> {
    let q = query(format!(
        "{LEDGER_COLUMNS} WHERE l.user_id = $1 AND ($2 IS NULL OR l.cohort_id = $2) \
         AND ($3 IS NULL OR l.kind = $3) AND ($4 IS NULL OR l.severity = $4) \
         AND ($5 IS NULL OR l.status = $5) AND ($6 IS NULL OR l.week = $6)"
    ))
    .args((user, f.cohort, f.kind, f.severity, f.status, f.week))
    .page("l.id", Order::Newest, after, limit);
    x.into().fetch_all(q).await
}
