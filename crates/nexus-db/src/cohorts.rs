//! Queries for cohorts, their deadline overrides and their members.

use chrono::{DateTime, NaiveDate, Utc};
use nexus_core::error::AppResult;
use nexus_core::learning::{CohortRole, EnrolmentPolicy, EnrolmentStatus};
use uuid::Uuid;

use crate::exec::{Exec, Order, query};

/// A cohort with the course version it runs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CohortRow {
    pub id: Uuid,
    pub slug: String,
    pub title: String,
    pub course_id: Uuid,
    pub course_slug: String,
    pub version_id: Uuid,
    pub course_version: i32,
    pub starts_on: NaiveDate,
    pub timezone: String,
    pub peer_reviews: i32,
    pub enrolment: EnrolmentPolicy,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) const COHORT_COLUMNS: &str = "SELECT c.id, c.slug, c.title, c.course_id, co.slug AS course_slug, \
     c.version_id, v.version AS course_version, c.starts_on, c.timezone, c.peer_reviews, \
     c.enrolment, c.created_at, c.updated_at FROM cohorts c \
     JOIN courses co ON co.id = c.course_id JOIN course_versions v ON v.id = c.version_id";

/// What a new cohort is made of.
pub struct NewCohort<'a> {
    pub id: Uuid,
    pub slug: &'a str,
    pub title: &'a str,
    pub course_id: Uuid,
    pub version_id: Uuid,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub timezone: &'a str,
    pub peer_reviews: i32,
    pub enrolment: EnrolmentPolicy,
    pub created_by: Uuid,
    pub now: DateTime<Utc>,
}

pub async fn insert_cohort(x: impl Into<Exec<'_>>, c: &NewCohort<'_>) -> AppResult<()> {
    let sql = "INSERT INTO cohorts (id, slug, title, course_id, version_id, starts_on, ends_on, \
               timezone, peer_reviews, enrolment, created_by, created_at, updated_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)";
    let args = (
        c.id,
        c.slug,
        c.title,
        c.course_id,
        c.version_id,
        c.starts_on,
        c.ends_on,
        c.timezone,
        c.peer_reviews,
        c.enrolment,
        c.created_by,
        c.now,
    );
    x.into().run(query(sql).args(args)).await
}

pub async fn cohort_by_slug(x: impl Into<Exec<'_>>, slug: &str) -> AppResult<Option<CohortRow>> {
    x.into()
        .fetch_optional(query(format!("{COHORT_COLUMNS} WHERE c.slug = $1")).bind(slug))
        .await
}

pub async fn cohort_by_id(x: impl Into<Exec<'_>>, id: Uuid) -> AppResult<Option<CohortRow>> {
    x.into()
        .fetch_optional(query(format!("{COHORT_COLUMNS} WHERE c.id = $1")).bind(id))
        .await
}

/// Cohorts newest first; only one course's when `course` is given.
pub async fn list_cohorts(
    x: impl Into<Exec<'_>>,
    course: Option<Uuid>,
    after: Option<Uuid>,
    limit: u32,
) -> AppResult<Vec<CohortRow>> {
    let q = query(format!(
        "{COHORT_COLUMNS} WHERE ($1 IS NULL OR c.course_id = $1)"
    ))
    .bind(course)
    .page("c.id", Order::Newest, after, limit);
    x.into().fetch_all(q).await
}

/// Cohorts whose calendar runs at `now`: started by `horizon` (the last day a reminder
/// looks ahead to), and not ended before `since` (a day before today, so that a deadline
/// late in a far time zone is still seen) unless a moved deadline is still ahead.
pub async fn running_cohorts(
    x: impl Into<Exec<'_>>,
    now: DateTime<Utc>,
    since: NaiveDate,
    horizon: NaiveDate,
    after: Option<Uuid>,
    limit: u32,
) -> AppResult<Vec<CohortRow>> {
    let q = query(format!(
        "{COHORT_COLUMNS} WHERE c.starts_on <= $1 AND (c.ends_on >= $2 OR EXISTS ( \
         SELECT 1 FROM cohort_deadlines d WHERE d.cohort_id = c.id AND d.due_at >= $3))"
    ))
    .args((horizon, since, now))
    .page("c.id", Order::Oldest, after, limit);
    x.into().fetch_all(q).await
}

/// A user's membership with its cohort.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MembershipRow {
    #[sqlx(flatten)]
    pub cohort: CohortRow,
    pub role: CohortRole,
    pub status: EnrolmentStatus,
    pub enrolled_at: DateTime<Utc>,
}

/// The cohorts `user` is (or was) a member of, newest cohort first.
pub async fn memberships(
    x: impl Into<Exec<'_>>,
    user: Uuid,
    after: Option<Uuid>,
    limit: u32,
) -> AppResult<Vec<MembershipRow>> {
    let columns = COHORT_COLUMNS.replacen("SELECT ", "SELECT e.role, e.status, e.enrolled_at, ", 1);
    let q = query(format!(
        "{columns} JOIN enrolments e ON e.cohort_id = c.id WHERE e.user_id = $1"
    ))
    .bind(user)
    .page("c.id", Order::Newest, after, limit);
    x.into().fetch_all(q).await
}

/// One overridden deadline.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeadlineRow {
    pub deliverable: String,
    pub due_at: DateTime<Utc>,
}

pub async fn deadlines(x: impl Into<Exec<'_>>, cohort: Uuid) -> AppResult<Vec<DeadlineRow>> {
    x.into()
        .fetch_all(
            query("SELECT deliverable, due_at FROM cohort_deadlines WHERE cohort_id = $1")
                .bind(cohort),
        )
        .await
}

pub async fn set_deadline(
    x: impl Into<Exec<'_>>,
    cohort: Uuid,
    deliverable: &str,
    due_at: DateTime<Utc>,
    by: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let sql = "INSERT INTO cohort_deadlines (cohort_id, deliverable, due_at, set_by, set_at) \
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT (cohort_id, deliverable) \
               DO UPDATE SET due_at = excluded.due_at, set_by = excluded.set_by, \
               set_at = excluded.set_at";
    x.into()
        .run(query(sql).args((cohort, deliverable, due_at, by, now)))
        .await
}

pub async fn clear_deadline(
    x: impl Into<Exec<'_>>,
    cohort: Uuid,
    deliverable: &str,
) -> AppResult<bool> {
    x.into()
        .changed_one(
            query("DELETE FROM cohort_deadlines WHERE cohort_id = $1 AND deliverable = $2")
                .args((cohort, deliverable)),
        )
        .await
}

/// A member of a cohort, with who they are.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EnrolmentRow {
    pub user_id: Uuid,
    pub handle: String,
    pub display_name: String,
    pub role: CohortRole,
    pub status: EnrolmentStatus,
    pub enrolled_at: DateTime<Utc>,
    pub withdrawn_at: Option<DateTime<Utc>>,
}

const ENROLMENT_COLUMNS: &str = "SELECT e.user_id, u.handle, u.display_name, e.role, e.status, \
     e.enrolled_at, e.withdrawn_at FROM enrolments e JOIN users u ON u.id = e.user_id";

pub async fn enrolment(
    x: impl Into<Exec<'_>>,
    cohort: Uuid,
    user: Uuid,
) -> AppResult<Option<EnrolmentRow>> {
    x.into()
        .fetch_optional(
            query(format!(
                "{ENROLMENT_COLUMNS} WHERE e.cohort_id = $1 AND e.user_id = $2"
            ))
            .args((cohort, user)),
        )
        .await
}

/// Makes `user` an active member with `role`: a new row, or a withdrawn member back.
/// `false` when they are already active (nothing changes).
pub async fn enrol(
    x: impl Into<Exec<'_>>,
    cohort: Uuid,
    user: Uuid,
    role: CohortRole,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let sql = "INSERT INTO enrolments (cohort_id, user_id, role, status, enrolled_at) \
               VALUES ($1, $2, $3, 'active', $4) ON CONFLICT (cohort_id, user_id) DO UPDATE \
               SET role = excluded.role, status = 'active', enrolled_at = excluded.enrolled_at, \
               withdrawn_at = NULL WHERE enrolments.status = 'withdrawn'";
    x.into()
        .changed_one(query(sql).args((cohort, user, role, now)))
        .await
}

pub async fn withdraw(
    x: impl Into<Exec<'_>>,
    cohort: Uuid,
    user: Uuid,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    x.into()
        .changed_one(
            query(
                "UPDATE enrolments SET status = 'withdrawn', withdrawn_at = $3 \
                 WHERE cohort_id = $1 AND user_id = $2 AND status = 'active'",
            )
            .args((cohort, user, now)),
        )
        .await
}

/// A cohort's members in the order they joined (by user id), filtered by role and
/// status.
pub async fn list_enrolments(
    x: impl Into<Exec<'_>>,
    cohort: Uuid,
    role: Option<CohortRole>,
    status: Option<EnrolmentStatus>,
    after: Option<Uuid>,
    limit: u32,
) -> AppResult<Vec<EnrolmentRow>> {
    let q = query(format!(
        "{ENROLMENT_COLUMNS} WHERE e.cohort_id = $1 AND ($2 IS NULL OR e.role = $2) \
         AND ($3 IS NULL OR e.status = $3)"
    ))
    .args((cohort, role, status))
    .page("e.user_id", Order::Oldest, after, limit);
    x.into().fetch_all(q).await
}

/// The active members of a cohort with `role` (all of them: reminders and peer
/// assignment walk the whole cohort).
pub async fn active_members(
    x: impl Into<Exec<'_>>,
    cohort: Uuid,
    role: CohortRole,
) -> AppResult<Vec<Uuid>> {
    x.into()
        .scalars(
            query(
                "SELECT user_id FROM enrolments WHERE cohort_id = $1 AND role = $2 \
                 AND status = 'active' ORDER BY user_id",
            )
            .args((cohort, role)),
        )
        .await
}

/// The cohorts running at `now` (as [`running_cohorts`] reads it) in which `user` is an
/// active member with `role` since `now` or earlier: whom a weekly digest concerns.
pub async fn running_cohorts_of(
    x: impl Into<Exec<'_>>,
    user: Uuid,
    role: CohortRole,
    now: DateTime<Utc>,
    since: NaiveDate,
    horizon: NaiveDate,
) -> AppResult<Vec<CohortRow>> {
    let q = query(format!(
        "{COHORT_COLUMNS} JOIN enrolments e ON e.cohort_id = c.id \
         WHERE e.user_id = $1 AND e.role = $2 AND e.status = 'active' AND e.enrolled_at <= $3 \
         AND c.starts_on <= $4 AND (c.ends_on >= $5 OR EXISTS ( \
         SELECT 1 FROM cohort_deadlines d WHERE d.cohort_id = c.id AND d.due_at >= $3)) \
         ORDER BY c.slug"
    ))
    .args((user, role, now, horizon, since));
    x.into().fetch_all(q).await
}

/// The active members of a cohort with `role` who joined at `at` or earlier.
pub async fn members_enrolled_by(
    x: impl Into<Exec<'_>>,
    cohort: Uuid,
    role: CohortRole,
    at: DateTime<Utc>,
) -> AppResult<Vec<Uuid>> {
    x.into()
        .scalars(
            query(
                "SELECT user_id FROM enrolments WHERE cohort_id = $1 AND role = $2 \
                 AND status = 'active' AND enrolled_at <= $3 ORDER BY user_id",
            )
            .args((cohort, role, at)),
        )
        .await
}
