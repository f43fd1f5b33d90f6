//! Queries for collaborator matching: profiles, requests between two learners, blocks,
//! and the facts matching weighs (shared cohorts, the topics of published notes).

use chrono::{DateTime, Utc};
use nexus_core::error::AppResult;
use nexus_core::learning::{CollaborationStatus, CollaborationTrack};
use sqlx::types::Json;
use uuid::Uuid;

use crate::exec::{Exec, Order, query};

/// A collaboration profile with its owner named.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProfileRow {
    pub user_id: Uuid,
    pub handle: String,
    pub display_name: String,
    pub track: CollaborationTrack,
    pub stack: Json<Vec<String>>,
    pub topics: Json<Vec<String>>,
    pub weekly_hours: i32,
    pub timezone: String,
    pub looking_for: String,
    pub open: bool,
    pub updated_at: DateTime<Utc>,
}

const PROFILE_COLUMNS: &str = "SELECT p.user_id, u.handle, u.display_name, p.track, p.stack, \
     p.topics, p.weekly_hours, p.timezone, p.looking_for, p.open, p.updated_at \
     FROM collaboration_profiles p JOIN users u ON u.id = p.user_id";

pub async fn profile(x: impl Into<Exec<'_>>, user: Uuid) -> AppResult<Option<ProfileRow>> {
    x.into()
        .fetch_optional(query(format!("{PROFILE_COLUMNS} WHERE p.user_id = $1")).bind(user))
        .await
}

/// What `PUT /me/collaboration-profile` writes.
pub struct ProfileWrite<'a> {
    pub user: Uuid,
    pub track: CollaborationTrack,
    pub stack: serde_json::Value,
    pub topics: serde_json::Value,
    pub weekly_hours: i32,
    pub timezone: &'a str,
    pub looking_for: &'a str,
    pub open: bool,
    pub now: DateTime<Utc>,
}

pub async fn upsert_profile(x: impl Into<Exec<'_>>, p: ProfileWrite<'_>) -> AppResult<()> {
    let sql = "INSERT INTO collaboration_profiles (user_id, track, stack, topics, weekly_hours, \
               timezone, looking_for, open, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
               ON CONFLICT (user_id) DO UPDATE SET track = excluded.track, \
               stack = excluded.stack, topics = excluded.topics, \
               weekly_hours = excluded.weekly_hours, timezone = excluded.timezone, \
               looking_for = excluded.looking_for, open = excluded.open, \
               updated_at = excluded.updated_at";
    let args = (
        p.user,
        p.track,
        p.stack,
        p.topics,
        p.weekly_hours,
        p.timezone,
        p.looking_for,
        p.open,
        p.now,
    );
    x.into().run(query(sql).args(args)).await
}

/// The open profiles of everyone but `user` and those blocked from or by `user`.
pub async fn candidates(x: impl Into<Exec<'_>>, user: Uuid) -> AppResult<Vec<ProfileRow>> {
    x.into()
        .fetch_all(
            query(format!(
                "{PROFILE_COLUMNS} WHERE p.open AND p.user_id <> $1 AND u.disabled_at IS NULL \
                 AND NOT EXISTS (SELECT 1 FROM collaboration_blocks b \
                   WHERE (b.blocker_id = $1 AND b.blocked_id = p.user_id) \
                      OR (b.blocker_id = p.user_id AND b.blocked_id = $1)) \
                 ORDER BY u.handle"
            ))
            .bind(user),
        )
        .await
}

/// A cohort a user is an active learner of, with its start and time zone (for the
/// cohort's current week).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActiveCohortRow {
    pub user_id: Uuid,
    pub slug: String,
    pub starts_on: chrono::NaiveDate,
    pub timezone: String,
}

/// The cohorts `user` and every open profile's owner are active learners of.
pub async fn active_cohorts(x: impl Into<Exec<'_>>, user: Uuid) -> AppResult<Vec<ActiveCohortRow>> {
    x.into()
        .fetch_all(
            query(
                "SELECT e.user_id, c.slug, c.starts_on, c.timezone FROM enrolments e \
                 JOIN cohorts c ON c.id = e.cohort_id \
                 WHERE e.role = 'learner' AND e.status = 'active' AND (e.user_id = $1 \
                   OR e.user_id IN (SELECT user_id FROM collaboration_profiles WHERE open)) \
                 ORDER BY c.slug",
            )
            .bind(user),
        )
        .await
}

/// A topic of a published note, by its author.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuthorTopicRow {
    pub author_id: Uuid,
    pub topic: String,
}

/// The topics of the published notes of `user` and of every open profile's owner.
pub async fn note_topics(x: impl Into<Exec<'_>>, user: Uuid) -> AppResult<Vec<AuthorTopicRow>> {
    x.into()
        .fetch_all(
            query(
                "SELECT DISTINCT n.author_id, t.slug AS topic FROM notes n \
                 JOIN note_topics nt ON nt.note_id = n.id JOIN topics t ON t.id = nt.topic_id \
                 WHERE n.status = 'published' AND (n.author_id = $1 \
                   OR n.author_id IN (SELECT user_id FROM collaboration_profiles WHERE open))",
            )
            .bind(user),
        )
        .await
}

/// Whether either of two users blocked the other.
pub async fn blocked_between(x: impl Into<Exec<'_>>, a: Uuid, b: Uuid) -> AppResult<bool> {
    let found: Option<i32> = x
        .into()
        .scalar_optional(
            query(
                "SELECT 1 FROM collaboration_blocks WHERE (blocker_id = $1 AND blocked_id = $2) \
                 OR (blocker_id = $2 AND blocked_id = $1) LIMIT 1",
            )
            .args((a, b)),
        )
        .await?;
    Ok(found.is_some())
}

/// Blocks `blocked` for `blocker`; `false` when it was blocked already.
pub async fn block(
    x: impl Into<Exec<'_>>,
    blocker: Uuid,
    blocked: Uuid,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    x.into()
        .changed_one(
            query(
                "INSERT INTO collaboration_blocks (blocker_id, blocked_id, created_at) \
                 VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .args((blocker, blocked, now)),
        )
        .await
}

pub async fn unblock(x: impl Into<Exec<'_>>, blocker: Uuid, blocked: Uuid) -> AppResult<bool> {
    x.into()
        .changed_one(
            query("DELETE FROM collaboration_blocks WHERE blocker_id = $1 AND blocked_id = $2")
                .args((blocker, blocked)),
        )
        .await
}

/// A collaboration request with both sides named.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CollaborationRow {
    pub id: Uuid,
    pub requester_id: Uuid,
    pub requester_handle: String,
    pub partner_id: Uuid,
    pub partner_handle: String,
    pub project_title: String,
    pub message: String,
    pub status: CollaborationStatus,
    pub created_at: DateTime<Utc>,
    pub responded_at: Option<DateTime<Utc>>,
}

const COLLABORATION_COLUMNS: &str = "SELECT c.id, c.requester_id, r.handle AS requester_handle, \
     c.partner_id, p.handle AS partner_handle, c.project_title, c.message, c.status, \
     c.created_at, c.responded_at FROM collaborations c JOIN users r ON r.id = c.requester_id \
     JOIN users p ON p.id = c.partner_id";

pub async fn collaboration(
    x: impl Into<Exec<'_>>,
    id: Uuid,
) -> AppResult<Option<CollaborationRow>> {
    x.into()
        .fetch_optional(query(format!("{COLLABORATION_COLUMNS} WHERE c.id = $1")).bind(id))
        .await
}

pub struct NewCollaboration<'a> {
    pub id: Uuid,
    pub requester: Uuid,
    pub partner: Uuid,
    pub project_title: &'a str,
    pub message: &'a str,
    pub now: DateTime<Utc>,
}

pub async fn insert_collaboration(
    x: impl Into<Exec<'_>>,
    c: &NewCollaboration<'_>,
) -> AppResult<()> {
    let sql = "INSERT INTO collaborations (id, requester_id, partner_id, project_title, message, \
               status, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6)";
    x.into()
        .run(query(sql).args((
            c.id,
            c.requester,
            c.partner,
            c.project_title,
            c.message,
            c.now,
        )))
        .await
}

/// Whether a request between the two, in either direction, is pending.
pub async fn pending_between(x: impl Into<Exec<'_>>, a: Uuid, b: Uuid) -> AppResult<bool> {
    let found: Option<i32> = x
        .into()
        .scalar_optional(
            query(
                "SELECT 1 FROM collaborations WHERE status = 'pending' AND \
                 ((requester_id = $1 AND partner_id = $2) OR (requester_id = $2 AND partner_id = $1)) \
                 LIMIT 1",
            )
            .args((a, b)),
        )
        .await?;
    Ok(found.is_some())
}

/// Answers a pending request; `false` when it was no longer pending.
pub async fn respond(
    x: impl Into<Exec<'_>>,
    id: Uuid,
    status: CollaborationStatus,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    x.into()
        .changed_one(
            query(
                "UPDATE collaborations SET status = $2, responded_at = $3 \
                 WHERE id = $1 AND status = 'pending'",
            )
            .args((id, status, now)),
        )
        .await
}

/// Cancels every pending request between the two, in either direction.
pub async fn cancel_pending_between(
    x: impl Into<Exec<'_>>,
    a: Uuid,
    b: Uuid,
    now: DateTime<Utc>,
) -> AppResult<u64> {
    x.into()
        .execute(
            query(
                "UPDATE collaborations SET status = 'cancelled', responded_at = $3 \
                 WHERE status = 'pending' AND ((requester_id = $1 AND partner_id = $2) \
                 OR (requester_id = $2 AND partner_id = $1))",
            )
            .args((a, b, now)),
        )
        .await
}

/// Which of a user's requests a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Those the user received.
    Incoming,
    /// Those the user sent.
    Outgoing,
    Both,
}

/// A user's requests, newest first, paged by id.
pub async fn list_collaborations(
    x: impl Into<Exec<'_>>,
    user: Uuid,
    direction: Direction,
    status: Option<CollaborationStatus>,
    after: Option<Uuid>,
    limit: u32,
) -> AppResult<Vec<CollaborationRow>> {
    let side = match direction {
        Direction::Incoming => "c.partner_id = $1",
        Direction::Outgoing => "c.requester_id = $1",
        Direction::Both => "(c.requester_id = $1 OR c.partner_id = $1)",
    };
    let q = query(format!(
        "{COLLABORATION_COLUMNS} WHERE {side} AND ($2 IS NULL OR c.status = $2)"
    ))
    .args((user, status))
    .page("c.id", Order::Newest, after, limit);
    x.into().fetch_all(q).await
}

/// The accepted collaborations of `user` (either side), oldest first, leaving out pairs
/// where either has since blocked the other.
pub async fn accepted_of(x: impl Into<Exec<'_>>, user: Uuid) -> AppResult<Vec<CollaborationRow>> {
    x.into()
        .fetch_all(
            query(format!(
                "{COLLABORATION_COLUMNS} WHERE (c.requester_id = $1 OR c.partner_id = $1) \
                 AND c.status = 'accepted' AND NOT EXISTS (SELECT 1 FROM collaboration_blocks b \
                   WHERE (b.blocker_id = c.requester_id AND b.blocked_id = c.partner_id) \
                      OR (b.blocker_id = c.partner_id AND b.blocked_id = c.requester_id)) \
                 ORDER BY c.id"
            ))
            .bind(user),
        )
        .await
}
