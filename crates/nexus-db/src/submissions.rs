//! Queries for submissions, their revisions, peer review assignments and reviews.

use chrono::{DateTime, Utc};
use nexus_core::error::AppResult;
use nexus_core::learning::{AssignmentStatus, ReviewerRole, SubmissionStatus};
use sqlx::types::Json;
use uuid::Uuid;

use crate::exec::{Exec, Order, query};

/// A submission with its cohort and learner named.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SubmissionRow {
    pub id: Uuid,
    pub cohort_id: Uuid,
    pub cohort_slug: String,
    pub deliverable: String,
    pub learner_id: Uuid,
    pub learner_handle: String,
    pub status: SubmissionStatus,
    pub revision: i32,
    pub late: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const SUBMISSION_COLUMNS: &str = "SELECT s.id, s.cohort_id, c.slug AS cohort_slug, s.deliverable, \
     s.learner_id, u.handle AS learner_handle, s.status, s.revision, s.late, s.created_at, \
     s.updated_at FROM submissions s JOIN cohorts c ON c.id = s.cohort_id \
     JOIN users u ON u.id = s.learner_id";

pub async fn submission(x: impl Into<Exec<'_>>, id: Uuid) -> AppResult<Option<SubmissionRow>> {
    x.into()
        .fetch_optional(query(format!("{SUBMISSION_COLUMNS} WHERE s.id = $1")).bind(id))
        .await
}

pub async fn learner_submission(
    x: impl Into<Exec<'_>>,
    cohort: Uuid,
    deliverable: &str,
    learner: Uuid,
) -> AppResult<Option<SubmissionRow>> {
    x.into()
        .fetch_optional(
            query(format!(
                "{SUBMISSION_COLUMNS} WHERE s.cohort_id = $1 AND s.deliverable = $2 \
                 AND s.learner_id = $3"
            ))
            .args((cohort, deliverable, learner)),
        )
        .await
}

pub async fn insert_submission(
    x: impl Into<Exec<'_>>,
    id: Uuid,
    cohort: Uuid,
    deliverable: &str,
    learner: Uuid,
    late: bool,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let sql = "INSERT INTO submissions (id, cohort_id, deliverable, learner_id, status, revision, \
               late, created_at, updated_at) VALUES ($1, $2, $3, $4, 'submitted', 1, $5, $6, $6)";
    x.into()
        .run(query(sql).args((id, cohort, deliverable, learner, late, now)))
        .await
}

/// Moves a submission to its next revision, if it is still at `expected` (a concurrent
/// hand-in of the same learner makes this change nothing).
pub async fn advance_submission(
    x: impl Into<Exec<'_>>,
    id: Uuid,
    expected: i32,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    x.into()
        .changed_one(
            query(
                "UPDATE submissions SET revision = revision + 1, status = 'resubmitted', \
                 updated_at = $3 WHERE id = $1 AND revision = $2",
            )
            .args((id, expected, now)),
        )
        .await
}

pub async fn set_status(
    x: impl Into<Exec<'_>>,
    id: Uuid,
    status: SubmissionStatus,
    now: DateTime<Utc>,
) -> AppResult<()> {
    x.into()
        .run(
            query("UPDATE submissions SET status = $2, updated_at = $3 WHERE id = $1")
                .args((id, status, now)),
        )
        .await
}

/// One hand-in.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RevisionRow {
    pub id: Uuid,
    pub revision: i32,
    pub summary: String,
    /// `[{url, label}]`.
    pub links: Json<serde_json::Value>,
    pub notes: Json<Vec<String>>,
    pub late: bool,
    pub evidence_missing: Json<Vec<String>>,
    pub submitted_at: DateTime<Utc>,
}

/// What a new revision holds.
pub struct NewRevision<'a> {
    pub id: Uuid,
    pub submission: Uuid,
    pub revision: i32,
    pub summary: &'a str,
    pub links: serde_json::Value,
    pub notes: serde_json::Value,
    pub late: bool,
    pub evidence_missing: serde_json::Value,
    pub now: DateTime<Utc>,
}

pub async fn insert_revision(x: impl Into<Exec<'_>>, r: NewRevision<'_>) -> AppResult<()> {
    let sql = "INSERT INTO submission_revisions (id, submission_id, revision, summary, links, \
               notes, late, evidence_missing, submitted_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    let args = (
        r.id,
        r.submission,
        r.revision,
        r.summary,
        r.links,
        r.notes,
        r.late,
        r.evidence_missing,
        r.now,
    );
    x.into().run(query(sql).args(args)).await
}

const REVISION_COLUMNS: &str = "SELECT id, revision, summary, links, notes, late, \
     evidence_missing, submitted_at FROM submission_revisions";

pub async fn revision(
    x: impl Into<Exec<'_>>,
    submission: Uuid,
    revision: i32,
) -> AppResult<Option<RevisionRow>> {
    x.into()
        .fetch_optional(
            query(format!(
                "{REVISION_COLUMNS} WHERE submission_id = $1 AND revision = $2"
            ))
            .args((submission, revision)),
        )
        .await
}

/// A submission's revisions, newest first, paged by id.
pub async fn revisions(
    x: impl Into<Exec<'_>>,
    submission: Uuid,
    after: Option<Uuid>,
    limit: u32,
) -> AppResult<Vec<RevisionRow>> {
    let q = query(format!("{REVISION_COLUMNS} WHERE submission_id = $1"))
        .bind(submission)
        .page("id", Order::Newest, after, limit);
    x.into().fetch_all(q).await
}

/// Filters of a submissions list.
#[derive(Debug, Default)]
pub struct SubmissionFilter<'a> {
    pub cohort: Option<Uuid>,
    pub learner: Option<Uuid>,
    pub deliverable: Option<&'a str>,
    pub status: Option<SubmissionStatus>,
}

/// Submissions newest first.
pub async fn list_submissions(
    x: impl Into<Exec<'_>>,
    f: &SubmissionFilter<'_>,
    after: Option<Uuid>,
    limit: u32,
) -> AppResult<Vec<SubmissionRow>> {
    let q = query(format!(
        "{SUBMISSION_COLUMNS} WHERE ($1 IS NULL OR s.cohort_id = $1) \
         AND ($2 IS NULL OR s.learner_id = $2) AND ($3 IS NULL OR s.deliverable = $3) \
         AND ($4 IS NULL OR s.status = $4)"
    ))
    .args((f.cohort, f.learner, f.deliverable, f.status))
    .page("s.id", Order::Newest, after, limit);
    x.into().fetch_all(q).await
}

/// The authors of a deliverable's submissions in a cohort, first hand-in first.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Submitted {
    pub id: Uuid,
    pub learner_id: Uuid,
}

pub async fn submitted(
    x: impl Into<Exec<'_>>,
    cohort: Uuid,
    deliverable: &str,
) -> AppResult<Vec<Submitted>> {
    x.into()
        .fetch_all(
            query(
                "SELECT s.id, s.learner_id FROM submissions s JOIN enrolments e \
                 ON e.cohort_id = s.cohort_id AND e.user_id = s.learner_id \
                 WHERE s.cohort_id = $1 AND s.deliverable = $2 AND e.status = 'active' \
                 AND e.role = 'learner' ORDER BY s.id",
            )
            .args((cohort, deliverable)),
        )
        .await
}

/// Serialises the writes that assign peers in one cohort: every such transaction
/// touches the cohort's row first, so two hand-ins never balance against the same
/// stale counts (a row lock on PostgreSQL; SQLite has one writer anyway).
pub async fn lock_cohort(x: impl Into<Exec<'_>>, cohort: Uuid) -> AppResult<()> {
    x.into()
        .run(query("UPDATE cohorts SET updated_at = updated_at WHERE id = $1").bind(cohort))
        .await
}

/// A peer review assignment.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AssignmentRow {
    pub id: Uuid,
    pub submission_id: Uuid,
    pub reviewer_id: Uuid,
    pub author_id: Uuid,
    pub status: AssignmentStatus,
    pub assigned_at: DateTime<Utc>,
}

const ASSIGNMENT_COLUMNS: &str =
    "SELECT id, submission_id, reviewer_id, author_id, status, assigned_at FROM review_assignments";

/// Every assignment in a cohort (balancing counts open ones per reviewer and earlier
/// pairs).
pub async fn cohort_assignments(
    x: impl Into<Exec<'_>>,
    cohort: Uuid,
) -> AppResult<Vec<AssignmentRow>> {
    x.into()
        .fetch_all(query(format!("{ASSIGNMENT_COLUMNS} WHERE cohort_id = $1")).bind(cohort))
        .await
}

pub async fn assignments_of(
    x: impl Into<Exec<'_>>,
    submission: Uuid,
) -> AppResult<Vec<AssignmentRow>> {
    x.into()
        .fetch_all(
            query(format!(
                "{ASSIGNMENT_COLUMNS} WHERE submission_id = $1 ORDER BY id"
            ))
            .bind(submission),
        )
        .await
}

pub struct NewAssignment {
    pub id: Uuid,
    pub submission: Uuid,
    pub cohort: Uuid,
    pub reviewer: Uuid,
    pub author: Uuid,
    pub now: DateTime<Utc>,
}

pub async fn insert_assignment(x: impl Into<Exec<'_>>, a: &NewAssignment) -> AppResult<()> {
    let sql = "INSERT INTO review_assignments (id, submission_id, cohort_id, reviewer_id, \
               author_id, status, assigned_at) VALUES ($1, $2, $3, $4, $5, 'open', $6)";
    x.into()
        .run(query(sql).args((a.id, a.submission, a.cohort, a.reviewer, a.author, a.now)))
        .await
}

/// Gives an open assignment to another reviewer (balancing, before anyone reviewed).
pub async fn move_assignment(
    x: impl Into<Exec<'_>>,
    id: Uuid,
    reviewer: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    x.into()
        .run(
            query(
                "UPDATE review_assignments SET reviewer_id = $2, assigned_at = $3 \
                 WHERE id = $1 AND status = 'open'",
            )
            .args((id, reviewer, now)),
        )
        .await
}

pub async fn close_assignment(
    x: impl Into<Exec<'_>>,
    submission: Uuid,
    reviewer: Uuid,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    x.into()
        .changed_one(
            query(
                "UPDATE review_assignments SET status = 'done', done_at = $3 \
                 WHERE submission_id = $1 AND reviewer_id = $2 AND status = 'open'",
            )
            .args((submission, reviewer, now)),
        )
        .await
}

/// An assignment as its reviewer's list shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MyAssignmentRow {
    pub id: Uuid,
    pub submission_id: Uuid,
    pub cohort_slug: String,
    pub deliverable: String,
    pub status: AssignmentStatus,
    pub assigned_at: DateTime<Utc>,
}

pub async fn reviewer_assignments(
    x: impl Into<Exec<'_>>,
    reviewer: Uuid,
    status: Option<AssignmentStatus>,
    after: Option<Uuid>,
    limit: u32,
) -> AppResult<Vec<MyAssignmentRow>> {
    let q = query(
        "SELECT a.id, a.submission_id, c.slug AS cohort_slug, s.deliverable, a.status, \
         a.assigned_at FROM review_assignments a JOIN submissions s ON s.id = a.submission_id \
         JOIN cohorts c ON c.id = a.cohort_id WHERE a.reviewer_id = $1 \
         AND ($2 IS NULL OR a.status = $2)",
    )
    .args((reviewer, status))
    .page("a.id", Order::Newest, after, limit);
    x.into().fetch_all(q).await
}

/// A review with its reviewer named.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReviewRow {
    pub id: Uuid,
    pub submission_id: Uuid,
    pub revision: i32,
    pub reviewer_id: Uuid,
    pub reviewer_handle: String,
    pub role: ReviewerRole,
    pub scores: Json<serde_json::Value>,
    pub total: f64,
    pub feedback: String,
    pub revision_requested: bool,
    pub helpful: Option<bool>,
    pub created_at: DateTime<Utc>,
}

const REVIEW_COLUMNS: &str = "SELECT r.id, r.submission_id, r.revision, r.reviewer_id, \
     u.handle AS reviewer_handle, r.role, r.scores, r.total, r.feedback, \
     r.revision_requested, r.helpful, r.created_at FROM reviews r \
     JOIN users u ON u.id = r.reviewer_id";

pub struct NewReview<'a> {
    pub id: Uuid,
    pub submission: Uuid,
    pub revision_id: Uuid,
    pub revision: i32,
    pub reviewer: Uuid,
    pub role: ReviewerRole,
    pub scores: serde_json::Value,
    pub total: f64,
    pub feedback: &'a str,
    pub revision_requested: bool,
    pub now: DateTime<Utc>,
}

pub async fn insert_review(x: impl Into<Exec<'_>>, r: NewReview<'_>) -> AppResult<()> {
    let sql = "INSERT INTO reviews (id, submission_id, revision_id, revision, reviewer_id, role, \
               scores, total, feedback, revision_requested, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
    let args = (
        r.id,
        r.submission,
        r.revision_id,
        r.revision,
        r.reviewer,
        r.role,
        r.scores,
        r.total,
        r.feedback,
        r.revision_requested,
        r.now,
    );
    x.into().run(query(sql).args(args)).await
}

pub async fn review(x: impl Into<Exec<'_>>, id: Uuid) -> AppResult<Option<ReviewRow>> {
    x.into()
        .fetch_optional(query(format!("{REVIEW_COLUMNS} WHERE r.id = $1")).bind(id))
        .await
}

/// A submission's reviews, oldest first.
pub async fn reviews_of(x: impl Into<Exec<'_>>, submission: Uuid) -> AppResult<Vec<ReviewRow>> {
    x.into()
        .fetch_all(
            query(format!(
                "{REVIEW_COLUMNS} WHERE r.submission_id = $1 ORDER BY r.id"
            ))
            .bind(submission),
        )
        .await
}

pub async fn rate_review(x: impl Into<Exec<'_>>, id: Uuid, helpful: bool) -> AppResult<()> {
    x.into()
        .run(query("UPDATE reviews SET helpful = $2 WHERE id = $1").args((id, helpful)))
        .await
}

/// Every review written in a cohort (reviewer quality compares peers with mentors on
/// the same revision).
pub async fn cohort_reviews(x: impl Into<Exec<'_>>, cohort: Uuid) -> AppResult<Vec<ReviewRow>> {
    x.into()
        .fetch_all(
            query(format!(
                "{REVIEW_COLUMNS} JOIN submissions s ON s.id = r.submission_id \
                 WHERE s.cohort_id = $1 ORDER BY r.id"
            ))
            .bind(cohort),
        )
        .await
}

/// A note a submission cites, with whose it is and whether anyone may read it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CitedNote {
    pub slug: String,
    pub author_id: Uuid,
    pub published: bool,
}

pub async fn notes_by_slug(x: impl Into<Exec<'_>>, slugs: &[String]) -> AppResult<Vec<CitedNote>> {
    if slugs.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT slug, author_id, status = 'published' AS published FROM notes \
         WHERE slug IN ({})",
        crate::exec::placeholders(1, slugs.len())
    );
    x.into().fetch_all(query(sql).bind_all(slugs)).await
}

/// An uploaded file a submission cites.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CitedUpload {
    pub id: Uuid,
    pub owner_id: Option<Uuid>,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
}

pub async fn uploads_by_id(x: impl Into<Exec<'_>>, ids: &[Uuid]) -> AppResult<Vec<CitedUpload>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id, owner_id, filename, content_type, size FROM uploads WHERE id IN ({})",
        crate::exec::placeholders(1, ids.len())
    );
    x.into().fetch_all(query(sql).bind_all(ids)).await
}

pub async fn cite_uploads(
    x: impl Into<Exec<'_>>,
    revision: Uuid,
    uploads: &[Uuid],
) -> AppResult<()> {
    x.into()
        .insert_rows(
            "INSERT INTO revision_uploads (revision_id, upload_id, position)",
            3,
            &uploads.iter().enumerate().collect::<Vec<_>>(),
            |b, (i, id)| {
                b.bind(revision).bind(**id).bind(*i as i32);
            },
        )
        .await
}

/// The files a revision cites, in the order given.
pub async fn revision_uploads(
    x: impl Into<Exec<'_>>,
    revision: Uuid,
) -> AppResult<Vec<CitedUpload>> {
    x.into()
        .fetch_all(
            query(
                "SELECT u.id, u.owner_id, u.filename, u.content_type, u.size FROM revision_uploads r \
                 JOIN uploads u ON u.id = r.upload_id WHERE r.revision_id = $1 ORDER BY r.position",
            )
            .bind(revision),
        )
        .await
}

/// The submissions any revision of which cites an upload.
pub async fn citing_submissions(x: impl Into<Exec<'_>>, upload: Uuid) -> AppResult<Vec<Uuid>> {
    x.into()
        .scalars(
            query(
                "SELECT DISTINCT v.submission_id FROM revision_uploads r \
                 JOIN submission_revisions v ON v.id = r.revision_id WHERE r.upload_id = $1",
            )
            .bind(upload),
        )
        .await
}

pub async fn is_cited(x: impl Into<Exec<'_>>, upload: Uuid) -> AppResult<bool> {
    Ok(!citing_submissions(x, upload).await?.is_empty())
}

/// Active learners of a cohort who have not handed in `deliverable` (deadline reminders).
pub async fn learners_without_submission(
    x: impl Into<Exec<'_>>,
    cohort: Uuid,
    deliverable: &str,
) -> AppResult<Vec<Uuid>> {
    x.into()
        .scalars(
            query(
                "SELECT e.user_id FROM enrolments e WHERE e.cohort_id = $1 \
                 AND e.role = 'learner' AND e.status = 'active' AND NOT EXISTS ( \
                 SELECT 1 FROM submissions s WHERE s.cohort_id = e.cohort_id \
                 AND s.deliverable = $2 AND s.learner_id = e.user_id) ORDER BY e.user_id",
            )
            .args((cohort, deliverable)),
        )
        .await
}

/// Records a reminder; `false` when it was recorded before (it went already).
pub async fn record_reminder(
    x: impl Into<Exec<'_>>,
    cohort: Uuid,
    deliverable: &str,
    user: Uuid,
    lead_hours: i32,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    x.into()
        .changed_one(
            query(
                "INSERT INTO deadline_reminders (cohort_id, deliverable, user_id, lead_hours, \
                 sent_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .args((cohort, deliverable, user, lead_hours, now)),
        )
        .await
}
