//! Reads behind the weekly learning digests: what awaits a cohort's mentors (hand-ins
//! without a mentor review, late hand-ins, missed deadlines) and what happened to a
//! learner's work (reviews received). Each reads one cohort, or one learner, in one
//! statement, and only active learners' work.

use chrono::{DateTime, Utc};
use nexus_core::error::AppResult;
use nexus_core::learning::ReviewerRole;
use uuid::Uuid;

use crate::exec::{Exec, query};

/// A hand-in as a mentor digest names it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HandInRef {
    pub submission_id: Uuid,
    pub learner_handle: String,
    pub deliverable: String,
    pub revision: i32,
    pub submitted_at: DateTime<Utc>,
}

/// Hand-ins whose latest revision, handed in before `before`, has no mentor review yet;
/// oldest first, because the longest waiting should be reviewed first.
pub async fn awaiting_review(
    x: impl Into<Exec<'_>>,
    cohort: Uuid,
    before: DateTime<Utc>,
) -> AppResult<Vec<HandInRef>> {
    x.into()
        .fetch_all(
            query(
                "SELECT s.id AS submission_id, u.handle AS learner_handle, s.deliverable, \
                 r.revision, r.submitted_at FROM submissions s \
                 JOIN submission_revisions r ON r.submission_id = s.id AND r.revision = s.revision \
                 JOIN enrolments e ON e.cohort_id = s.cohort_id AND e.user_id = s.learner_id \
                 JOIN users u ON u.id = s.learner_id \
                 WHERE s.cohort_id = $1 AND e.role = 'learner' AND e.status = 'active' \
                 AND r.submitted_at < $2 AND NOT EXISTS (SELECT 1 FROM reviews v \
                 WHERE v.revision_id = r.id AND v.role = 'mentor') \
                 ORDER BY r.submitted_at, u.handle",
            )
            .args((cohort, before)),
        )
        .await
}

/// Revisions handed in late within `[since, until)`, in the order they came.
pub async fn late_hand_ins(
    x: impl Into<Exec<'_>>,
    cohort: Uuid,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> AppResult<Vec<HandInRef>> {
    x.into()
        .fetch_all(
            query(
                "SELECT s.id AS submission_id, u.handle AS learner_handle, s.deliverable, \
                 r.revision, r.submitted_at FROM submission_revisions r \
                 JOIN submissions s ON s.id = r.submission_id \
                 JOIN enrolments e ON e.cohort_id = s.cohort_id AND e.user_id = s.learner_id \
                 JOIN users u ON u.id = s.learner_id \
                 WHERE s.cohort_id = $1 AND e.role = 'learner' AND e.status = 'active' \
                 AND r.late AND r.submitted_at >= $2 AND r.submitted_at < $3 \
                 ORDER BY r.submitted_at, u.handle",
            )
            .args((cohort, since, until)),
        )
        .await
}

/// Handles of the cohort's active learners (joined by `at`) who have not handed in
/// `deliverable`, by handle.
pub async fn missing_hand_ins(
    x: impl Into<Exec<'_>>,
    cohort: Uuid,
    deliverable: &str,
    at: DateTime<Utc>,
) -> AppResult<Vec<String>> {
    x.into()
        .scalars(
            query(
                "SELECT u.handle FROM enrolments e JOIN users u ON u.id = e.user_id \
                 WHERE e.cohort_id = $1 AND e.role = 'learner' AND e.status = 'active' \
                 AND e.enrolled_at <= $3 AND NOT EXISTS (SELECT 1 FROM submissions s \
                 WHERE s.cohort_id = e.cohort_id AND s.deliverable = $2 \
                 AND s.learner_id = e.user_id) ORDER BY u.handle",
            )
            .args((cohort, deliverable, at)),
        )
        .await
}

/// The deliverables `learner` has handed in to `cohort`.
pub async fn handed_in(
    x: impl Into<Exec<'_>>,
    cohort: Uuid,
    learner: Uuid,
) -> AppResult<Vec<String>> {
    x.into()
        .scalars(
            query(
                "SELECT deliverable FROM submissions WHERE cohort_id = $1 AND learner_id = $2 \
                 ORDER BY deliverable",
            )
            .args((cohort, learner)),
        )
        .await
}

/// A review a learner received, as their digest names it (not who wrote it: peers
/// review without being named to the author).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReceivedReview {
    pub submission_id: Uuid,
    pub cohort_slug: String,
    pub deliverable: String,
    pub revision: i32,
    pub role: ReviewerRole,
    pub total: f64,
    pub revision_requested: bool,
    pub created_at: DateTime<Utc>,
}

/// Reviews written in `[since, until)` of `learner`'s hand-ins to cohorts they are
/// still an active learner of, in the order they came.
pub async fn reviews_received(
    x: impl Into<Exec<'_>>,
    learner: Uuid,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> AppResult<Vec<ReceivedReview>> {
    x.into()
        .fetch_all(
            query(
                "SELECT s.id AS submission_id, c.slug AS cohort_slug, s.deliverable, \
                 v.revision, v.role, v.total, v.revision_requested, v.created_at \
                 FROM reviews v JOIN submissions s ON s.id = v.submission_id \
                 JOIN cohorts c ON c.id = s.cohort_id \
                 JOIN enrolments e ON e.cohort_id = s.cohort_id AND e.user_id = s.learner_id \
                 WHERE s.learner_id = $1 AND e.status = 'active' AND e.role = 'learner' \
                 AND v.created_at >= $2 AND v.created_at < $3 ORDER BY v.created_at, v.id",
            )
            .args((learner, since, until)),
        )
        .await
}

/// An open peer review assignment of a reviewer.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OpenAssignment {
    pub submission_id: Uuid,
    pub cohort_slug: String,
    pub deliverable: String,
    pub assigned_at: DateTime<Utc>,
}

/// `reviewer`'s open assignments made before `before`, in cohorts they are still an
/// active learner of, oldest first.
pub async fn open_assignments(
    x: impl Into<Exec<'_>>,
    reviewer: Uuid,
    before: DateTime<Utc>,
) -> AppResult<Vec<OpenAssignment>> {
    x.into()
        .fetch_all(
            query(
                "SELECT a.submission_id, c.slug AS cohort_slug, s.deliverable, a.assigned_at \
                 FROM review_assignments a JOIN submissions s ON s.id = a.submission_id \
                 JOIN cohorts c ON c.id = a.cohort_id \
                 JOIN enrolments e ON e.cohort_id = a.cohort_id AND e.user_id = a.reviewer_id \
                 WHERE a.reviewer_id = $1 AND a.status = 'open' AND e.status = 'active' \
                 AND a.assigned_at < $2 ORDER BY a.assigned_at, a.id",
            )
            .args((reviewer, before)),
        )
        .await
}
