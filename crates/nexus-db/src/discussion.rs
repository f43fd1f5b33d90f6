//! Queries for comments, edit proposals, inaccuracy reports, followed topics and bookmarks.
//!
//! Every list is keyset-paged by a UUIDv7 id (`after`), so pages stay stable while rows are
//! inserted. Visibility is decided by the service; the queries only filter by what they
//! are given, except where a list must hide notes the caller may no longer see.

use chrono::{DateTime, Utc};
use nexus_core::error::AppResult;
use nexus_core::hub::{ProposalStatus, ReportStatus};
use uuid::Uuid;

use crate::exec::{Exec, Order, placeholders, query};
use crate::hub::{NOTE_SELECT, NoteRow, TOPIC_SELECT, TopicRow};

// ---- comments ---------------------------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CommentRow {
    pub id: Uuid,
    pub note_id: Uuid,
    /// Where the comment is, so its visibility follows the note's.
    pub note_slug: String,
    pub parent_id: Option<Uuid>,
    pub author_id: Uuid,
    pub author_handle: String,
    pub author_name: String,
    pub body_md: String,
    pub body_html: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

const COMMENT_SELECT: &str = "SELECT c.id, c.note_id, n.slug AS note_slug, c.parent_id, \
     c.author_id, u.handle AS author_handle, u.display_name AS author_name, c.body_md, \
     c.body_html, c.created_at, c.updated_at, c.deleted_at \
     FROM comments c JOIN users u ON u.id = c.author_id JOIN notes n ON n.id = c.note_id";

pub struct NewComment<'a> {
    pub id: Uuid,
    pub note: Uuid,
    pub parent: Option<Uuid>,
    pub author: Uuid,
    pub body_md: &'a str,
    pub body_html: &'a str,
    pub now: DateTime<Utc>,
}

pub async fn insert_comment(x: impl Into<Exec<'_>>, c: &NewComment<'_>) -> AppResult<()> {
    let sql = "INSERT INTO comments (id, note_id, parent_id, author_id, body_md, body_html, \
               created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)";
    let args = (
        c.id,
        c.note,
        c.parent,
        c.author,
        c.body_md,
        c.body_html,
        c.now,
    );
    x.into().run(query(sql).args(args)).await
}

pub async fn comment_by_id(x: impl Into<Exec<'_>>, id: Uuid) -> AppResult<Option<CommentRow>> {
    let sql = format!("{COMMENT_SELECT} WHERE c.id = $1");
    x.into().fetch_optional(query(sql).bind(id)).await
}

/// Top-level comments of a note, oldest first, after the cursor.
pub async fn threads(
    x: impl Into<Exec<'_>>,
    note: Uuid,
    after: Option<Uuid>,
    limit: u32,
) -> AppResult<Vec<CommentRow>> {
    let sql = format!("{COMMENT_SELECT} WHERE c.note_id = $1 AND c.parent_id IS NULL");
    let q = query(sql)
        .bind(note)
        .page("c.id", Order::Oldest, after, limit);
    x.into().fetch_all(q).await
}

/// The replies to several comments in one query, oldest first.
pub async fn replies(x: impl Into<Exec<'_>>, parents: &[Uuid]) -> AppResult<Vec<CommentRow>> {
    if parents.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "{COMMENT_SELECT} WHERE c.parent_id IN ({}) ORDER BY c.id",
        placeholders(1, parents.len())
    );
    x.into().fetch_all(query(sql).bind_all(parents)).await
}

/// Replaces the text of a comment that is not deleted; false when it is.
pub async fn update_comment(
    x: impl Into<Exec<'_>>,
    id: Uuid,
    body_md: &str,
    body_html: &str,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let sql = "UPDATE comments SET body_md = $2, body_html = $3, updated_at = $4 \
               WHERE id = $1 AND deleted_at IS NULL";
    let q = query(sql).args((id, body_md, body_html, now));
    x.into().changed_one(q).await
}

/// Erases the text but keeps the row, so replies keep their place. Deleting twice keeps
/// the first deletion time.
pub async fn soft_delete_comment(
    x: impl Into<Exec<'_>>,
    id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let sql = "UPDATE comments SET body_md = '', body_html = '', \
               deleted_at = COALESCE(deleted_at, $2) WHERE id = $1";
    x.into().run(query(sql).args((id, now))).await
}

// ---- edit proposals -----------------------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProposalRow {
    pub id: Uuid,
    pub note_id: Uuid,
    pub note_slug: String,
    pub note_author_id: Uuid,
    pub proposer_id: Uuid,
    pub proposer_handle: String,
    pub proposer_name: String,
    pub base_version: i32,
    pub title: String,
    pub body_md: String,
    pub message: String,
    pub status: ProposalStatus,
    pub decided_by_handle: Option<String>,
    pub reason: Option<String>,
    pub revision: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

const PROPOSAL_SELECT: &str = "SELECT p.id, p.note_id, n.slug AS note_slug, \
     n.author_id AS note_author_id, p.proposer_id, u.handle AS proposer_handle, \
     u.display_name AS proposer_name, p.base_version, p.title, p.body_md, p.message, p.status, \
     d.handle AS decided_by_handle, p.reason, p.revision, p.created_at, p.decided_at \
     FROM note_proposals p JOIN notes n ON n.id = p.note_id JOIN users u ON u.id = p.proposer_id \
     LEFT JOIN users d ON d.id = p.decided_by";

pub struct NewProposal<'a> {
    pub id: Uuid,
    pub note: Uuid,
    pub proposer: Uuid,
    pub base_version: i32,
    pub title: &'a str,
    pub body_md: &'a str,
    pub message: &'a str,
    pub now: DateTime<Utc>,
}

pub async fn insert_proposal(x: impl Into<Exec<'_>>, p: &NewProposal<'_>) -> AppResult<()> {
    let sql = "INSERT INTO note_proposals (id, note_id, proposer_id, base_version, title, \
               body_md, message, status, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8)";
    let args = (
        p.id,
        p.note,
        p.proposer,
        p.base_version,
        p.title,
        p.body_md,
        p.message,
        p.now,
    );
    x.into().run(query(sql).args(args)).await
}

pub async fn proposal_by_id(x: impl Into<Exec<'_>>, id: Uuid) -> AppResult<Option<ProposalRow>> {
    let sql = format!("{PROPOSAL_SELECT} WHERE p.id = $1");
    x.into().fetch_optional(query(sql).bind(id)).await
}

/// Proposals on a note, newest first; only `proposer`'s when given.
pub async fn list_proposals(
    x: impl Into<Exec<'_>>,
    note: Uuid,
    proposer: Option<Uuid>,
    after: Option<Uuid>,
    limit: u32,
) -> AppResult<Vec<ProposalRow>> {
    let sql =
        format!("{PROPOSAL_SELECT} WHERE p.note_id = $1 AND ($2 IS NULL OR p.proposer_id = $2)");
    let q = query(sql).args((note, proposer));
    x.into()
        .fetch_all(q.page("p.id", Order::Newest, after, limit))
        .await
}

pub struct Decision<'a> {
    pub status: ProposalStatus,
    pub by: Uuid,
    pub reason: Option<&'a str>,
    pub revision: Option<i32>,
    pub now: DateTime<Utc>,
}

/// Closes a proposal that is still open; false when someone decided it first.
pub async fn decide_proposal(
    x: impl Into<Exec<'_>>,
    id: Uuid,
    d: &Decision<'_>,
) -> AppResult<bool> {
    let sql = "UPDATE note_proposals SET status = $2, decided_by = $3, reason = $4, \
               revision = $5, decided_at = $6 WHERE id = $1 AND status = 'open'";
    let args = (id, d.status, d.by, d.reason, d.revision, d.now);
    x.into().changed_one(query(sql).args(args)).await
}

// ---- reports --------------------------------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReportRow {
    pub id: Uuid,
    pub note_slug: String,
    pub note_title: String,
    pub reporter_handle: String,
    pub reason: String,
    pub status: ReportStatus,
    pub resolved_by_handle: Option<String>,
    pub resolution: Option<String>,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

const REPORT_SELECT: &str = "SELECT r.id, n.slug AS note_slug, n.title AS note_title, \
     u.handle AS reporter_handle, r.reason, r.status, d.handle AS resolved_by_handle, \
     r.resolution, r.created_at, r.resolved_at \
     FROM note_reports r JOIN notes n ON n.id = r.note_id JOIN users u ON u.id = r.reporter_id \
     LEFT JOIN users d ON d.id = r.resolved_by";

pub async fn insert_report(
    x: impl Into<Exec<'_>>,
    id: Uuid,
    note: Uuid,
    reporter: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let sql = "INSERT INTO note_reports (id, note_id, reporter_id, reason, status, created_at) \
               VALUES ($1, $2, $3, $4, 'open', $5)";
    let q = query(sql).args((id, note, reporter, reason, now));
    x.into().run(q).await
}

pub async fn report_by_id(x: impl Into<Exec<'_>>, id: Uuid) -> AppResult<Option<ReportRow>> {
    let sql = format!("{REPORT_SELECT} WHERE r.id = $1");
    x.into().fetch_optional(query(sql).bind(id)).await
}

/// Reports of one status, oldest first: the moderation queue is worked in arrival order.
pub async fn list_reports(
    x: impl Into<Exec<'_>>,
    status: ReportStatus,
    after: Option<Uuid>,
    limit: u32,
) -> AppResult<Vec<ReportRow>> {
    let sql = format!("{REPORT_SELECT} WHERE r.status = $1");
    let q = query(sql)
        .bind(status)
        .page("r.id", Order::Oldest, after, limit);
    x.into().fetch_all(q).await
}

/// Resolves a report that is still open; false when it already was.
pub async fn resolve_report(
    x: impl Into<Exec<'_>>,
    id: Uuid,
    by: Uuid,
    resolution: &str,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let sql = "UPDATE note_reports SET status = 'resolved', resolved_by = $2, resolution = $3, \
               resolved_at = $4 WHERE id = $1 AND status = 'open'";
    let q = query(sql).args((id, by, resolution, now));
    x.into().changed_one(q).await
}

// ---- follows and feed -----------------------------------------------------------------------

/// Following twice is not an error: the second insert does nothing.
pub async fn follow(
    x: impl Into<Exec<'_>>,
    user: Uuid,
    topic: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let sql = "INSERT INTO topic_follows (user_id, topic_id, created_at) VALUES ($1, $2, $3) \
               ON CONFLICT DO NOTHING";
    x.into().run(query(sql).args((user, topic, now))).await
}

pub async fn unfollow(x: impl Into<Exec<'_>>, user: Uuid, topic: Uuid) -> AppResult<()> {
    let sql = "DELETE FROM topic_follows WHERE user_id = $1 AND topic_id = $2";
    x.into().run(query(sql).args((user, topic))).await
}

pub async fn followed_topics(x: impl Into<Exec<'_>>, user: Uuid) -> AppResult<Vec<TopicRow>> {
    let sql = format!(
        "{TOPIC_SELECT} JOIN topic_follows f ON f.topic_id = t.id WHERE f.user_id = $1 \
         ORDER BY t.slug LIMIT 1000"
    );
    x.into().fetch_all(query(sql).bind(user)).await
}

/// Published notes in any topic `user` follows, newest first. `EXISTS` rather than a join
/// so a note in two followed topics appears once.
pub async fn feed(
    x: impl Into<Exec<'_>>,
    user: Uuid,
    after: Option<Uuid>,
    limit: u32,
) -> AppResult<Vec<NoteRow>> {
    let sql = format!(
        "{NOTE_SELECT} WHERE n.status = 'published' \
         AND EXISTS (SELECT 1 FROM note_topics nt JOIN topic_follows f ON f.topic_id = nt.topic_id \
                     WHERE nt.note_id = n.id AND f.user_id = $1)"
    );
    let q = query(sql)
        .bind(user)
        .page("n.id", Order::Newest, after, limit);
    x.into().fetch_all(q).await
}

// ---- bookmarks ------------------------------------------------------------------------------

/// Bookmarking twice keeps the first bookmark (and its place in the list).
pub async fn bookmark(
    x: impl Into<Exec<'_>>,
    id: Uuid,
    user: Uuid,
    note: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let sql = "INSERT INTO bookmarks (id, user_id, note_id, created_at) VALUES ($1, $2, $3, $4) \
               ON CONFLICT (user_id, note_id) DO NOTHING";
    x.into().run(query(sql).args((id, user, note, now))).await
}

pub async fn unbookmark(x: impl Into<Exec<'_>>, user: Uuid, note: Uuid) -> AppResult<()> {
    let sql = "DELETE FROM bookmarks WHERE user_id = $1 AND note_id = $2";
    x.into().run(query(sql).args((user, note))).await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BookmarkRow {
    pub bookmark_id: Uuid,
    pub bookmarked_at: DateTime<Utc>,
    #[sqlx(flatten)]
    pub note: NoteRow,
}

/// A user's bookmarks, newest first. Notes the user can no longer see (someone else's note
/// archived since) are left out rather than shown; the bookmark stays, harmlessly.
pub async fn bookmarks(
    x: impl Into<Exec<'_>>,
    user: Uuid,
    after: Option<Uuid>,
    limit: u32,
) -> AppResult<Vec<BookmarkRow>> {
    let columns = NOTE_SELECT.strip_prefix("SELECT ").unwrap_or(NOTE_SELECT);
    let sql = format!(
        "SELECT b.id AS bookmark_id, b.created_at AS bookmarked_at, {columns} \
         JOIN bookmarks b ON b.note_id = n.id \
         WHERE b.user_id = $1 AND (n.status = 'published' OR n.author_id = $1)"
    );
    let q = query(sql)
        .bind(user)
        .page("b.id", Order::Newest, after, limit);
    x.into().fetch_all(q).await
}
