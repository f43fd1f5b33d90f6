//! Discussion around notes: comments, edit proposals, inaccuracy reports, followed topics,
//! bookmarks and the feed.
//!
//! Everything here hangs off a note and follows its visibility: what the caller may not see
//! is 404, as a missing note is. New comments, proposals and reports go to published notes
//! only, so a draft stays private even from someone who guessed its slug.
//!
//! An accepted proposal becomes a note revision through the same path as an edit
//! ([`crate::hub::write_edit_in`]), credited to the proposer, in one transaction with the
//! proposal's decision.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use nexus_core::hub;
use nexus_core::identity::{Checker, Role, bounded_text};
use nexus_core::{AppError, FieldError, error::AppResult};
use nexus_db::discussion as repo;
use nexus_db::hub as notes;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::Services;
use crate::actor::{AuthUser, Principal};
use crate::hub::events::HubEvent;
use crate::hub::{
    Author, Edit, NoteListItem, Prepared, Topic, kind_of, status_of, topic_view, write_edit_in,
};
use crate::page::{self, Page};

/// The longest comment, in characters.
pub const COMMENT_MAX_CHARS: usize = 5000;

// ---- inputs and outputs ---------------------------------------------------------------

/// A comment, with its replies when it starts a thread.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Comment {
    pub id: Uuid,
    /// The comment this one replies to; absent on a thread's first comment.
    pub parent_id: Option<Uuid>,
    /// Absent once the comment is deleted.
    pub author: Option<Author>,
    /// Empty once the comment is deleted.
    pub body_md: String,
    /// The body rendered and sanitised; empty once the comment is deleted.
    pub body_html: String,
    pub deleted: bool,
    /// Whether the text changed after it was posted.
    pub edited: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Replies, oldest first. Replies have none: threads are one level deep.
    #[schema(no_recursion)]
    pub replies: Vec<Comment>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateComment {
    /// Markdown, 1-5000 characters.
    #[schema(
        example = "Is this also true for [[raft]]?",
        min_length = 1,
        max_length = 5000
    )]
    pub body_md: String,
    /// Reply to this comment, which must start a thread on the same note.
    pub parent_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateComment {
    #[schema(min_length = 1, max_length = 5000)]
    pub body_md: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProposalStatus {
    Open,
    Accepted,
    Rejected,
}

/// A suggested change to someone else's note.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Proposal {
    pub id: Uuid,
    /// The note's slug.
    pub note: String,
    pub proposer: Author,
    /// The note version the change was written against.
    pub base_version: i32,
    pub title: String,
    pub body_md: String,
    pub message: String,
    pub status: ProposalStatus,
    /// Handle of who accepted or rejected it.
    pub decided_by: Option<String>,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// The note revision an accepted proposal became.
    pub revision: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProposal {
    /// The note's `version` the change starts from.
    #[schema(minimum = 1)]
    pub base_version: i32,
    /// The new title; the current one when absent.
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    /// The new body; the current one when absent.
    #[schema(max_length = 100000)]
    pub body_md: Option<String>,
    /// What the change does and why.
    #[schema(
        example = "Fix the definition of linearizability",
        min_length = 1,
        max_length = 500
    )]
    pub message: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectProposal {
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportStatus {
    Open,
    Resolved,
}

impl ReportStatus {
    fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Open => "open",
            ReportStatus::Resolved => "resolved",
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReportedNote {
    pub slug: String,
    pub title: String,
}

/// An inaccuracy reported on a note.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Report {
    pub id: Uuid,
    pub note: ReportedNote,
    /// Handle of who reported it.
    pub reporter: String,
    pub reason: String,
    pub status: ReportStatus,
    /// Handle of who resolved it.
    pub resolved_by: Option<String>,
    pub resolution: Option<String>,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateReport {
    /// What is wrong in the note.
    #[schema(
        example = "The complexity of lookup is O(log n), not O(1).",
        min_length = 1,
        max_length = 2000
    )]
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveReport {
    /// What was done about it.
    #[schema(min_length = 1, max_length = 2000)]
    pub resolution: String,
}

/// A bookmarked note.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Bookmark {
    pub bookmarked_at: DateTime<Utc>,
    pub note: NoteListItem,
}

// ---- helpers ----------------------------------------------------------------------------

fn comment_view(c: repo::CommentRow, replies: Vec<Comment>) -> Comment {
    let deleted = c.deleted_at.is_some();
    Comment {
        id: c.id,
        parent_id: c.parent_id,
        author: (!deleted).then_some(Author {
            handle: c.author_handle,
            display_name: c.author_name,
        }),
        body_md: c.body_md,
        body_html: c.body_html,
        deleted,
        edited: !deleted && c.updated_at > c.created_at,
        created_at: c.created_at,
        updated_at: c.updated_at,
        replies,
    }
}

fn proposal_status(s: &str) -> AppResult<ProposalStatus> {
    match s {
        "open" => Ok(ProposalStatus::Open),
        "accepted" => Ok(ProposalStatus::Accepted),
        "rejected" => Ok(ProposalStatus::Rejected),
        other => Err(AppError::Internal(anyhow::anyhow!(
            "unknown proposal status `{other}`"
        ))),
    }
}

fn proposal_view(p: repo::ProposalRow) -> AppResult<Proposal> {
    Ok(Proposal {
        status: proposal_status(&p.status)?,
        id: p.id,
        note: p.note_slug,
        proposer: Author {
            handle: p.proposer_handle,
            display_name: p.proposer_name,
        },
        base_version: p.base_version,
        title: p.title,
        body_md: p.body_md,
        message: p.message,
        decided_by: p.decided_by_handle,
        reason: p.reason,
        revision: p.revision,
        created_at: p.created_at,
        decided_at: p.decided_at,
    })
}

fn report_view(r: repo::ReportRow) -> AppResult<Report> {
    let status = match r.status.as_str() {
        "open" => ReportStatus::Open,
        "resolved" => ReportStatus::Resolved,
        other => {
            return Err(AppError::Internal(anyhow::anyhow!(
                "unknown report status `{other}`"
            )));
        }
    };
    Ok(Report {
        id: r.id,
        note: ReportedNote {
            slug: r.note_slug,
            title: r.note_title,
        },
        reporter: r.reporter_handle,
        reason: r.reason,
        status,
        resolved_by: r.resolved_by_handle,
        resolution: r.resolution,
        created_at: r.created_at,
        resolved_at: r.resolved_at,
    })
}

/// Authors review proposals on their own notes; mentors and admins on every note.
fn may_review(note_author: Uuid, who: &AuthUser) -> bool {
    who.id == note_author || who.role >= Role::Mentor
}

/// Builds a page from `limit + 1` rows already fetched, keeping the rows for a later
/// (asynchronous) conversion.
fn split_page<R>(
    mut rows: Vec<R>,
    limit: u32,
    id_of: impl Fn(&R) -> Uuid,
) -> (Vec<R>, Option<String>) {
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next = if more {
        rows.last().map(|r| page::encode_id_cursor(id_of(r)))
    } else {
        None
    };
    (rows, next)
}

fn user(actor: &AuthUser) -> Principal {
    Principal::User(actor.clone())
}

// ---- use cases ------------------------------------------------------------------------

impl Services {
    /// A published note, or 404 even for its author: drafts and archived notes take no
    /// comments, proposals or reports.
    async fn published_note(&self, who: &Principal, slug: &str) -> AppResult<notes::NoteRow> {
        let note = self.visible_note(who, slug).await?;
        if note.status == "published" {
            Ok(note)
        } else {
            Err(AppError::not_found(format!("no published note `{slug}`")))
        }
    }

    // ---- comments ----

    /// Threads of a note, oldest first, each with all its replies.
    pub async fn comments(
        &self,
        who: &Principal,
        slug: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<Comment>> {
        let limit = page::limit(limit)?;
        let after = page::decode_id_cursor(cursor)?;
        let note = self.visible_note(who, slug).await?;
        let rows = repo::threads(&self.db, note.id, after, limit + 1).await?;
        let (rows, next_cursor) = split_page(rows, limit, |c| c.id);
        let ids: Vec<Uuid> = rows.iter().map(|c| c.id).collect();
        let mut replies: HashMap<Uuid, Vec<Comment>> = HashMap::new();
        for r in repo::replies(&self.db, &ids).await? {
            if let Some(parent) = r.parent_id {
                replies
                    .entry(parent)
                    .or_default()
                    .push(comment_view(r, Vec::new()));
            }
        }
        let items = rows
            .into_iter()
            .map(|thread| {
                let mine = replies.remove(&thread.id).unwrap_or_default();
                comment_view(thread, mine)
            })
            .collect();
        Ok(Page { items, next_cursor })
    }

    /// A comment whose note the caller may see, or 404.
    async fn visible_comment(&self, actor: &AuthUser, id: Uuid) -> AppResult<repo::CommentRow> {
        let missing = || AppError::not_found(format!("no comment {id}"));
        let comment = repo::comment_by_id(&self.db, id)
            .await?
            .ok_or_else(missing)?;
        match self.visible_note(&user(actor), &comment.note_slug).await {
            Ok(_) => Ok(comment),
            Err(AppError::NotFound(_)) => Err(missing()),
            Err(e) => Err(e),
        }
    }

    pub async fn create_comment(
        &self,
        actor: &AuthUser,
        slug: &str,
        input: CreateComment,
    ) -> AppResult<Comment> {
        actor.require_write()?;
        actor.require_verified()?;
        let note = self.published_note(&user(actor), slug).await?;
        let body = bounded_text("body_md", &input.body_md, 1, COMMENT_MAX_CHARS)
            .map_err(|e| AppError::Validation(vec![e]))?;
        if let Some(parent) = input.parent_id {
            let parent = repo::comment_by_id(&self.db, parent)
                .await?
                .filter(|p| p.note_id == note.id);
            match parent {
                None => {
                    return Err(AppError::invalid(
                        "parent_id",
                        "no comment with this id on this note",
                    ));
                }
                Some(p) if p.parent_id.is_some() => {
                    return Err(AppError::invalid(
                        "parent_id",
                        "replies are one level deep: reply to the thread's first comment",
                    ));
                }
                Some(_) => {}
            }
        }
        let rendered = hub::render_markdown(&body);
        let id = Uuid::now_v7();
        let mut tx = self.db.begin().await?;
        repo::insert_comment(
            &mut tx,
            &repo::NewComment {
                id,
                note: note.id,
                parent: input.parent_id,
                author: actor.id,
                body_md: &body,
                body_html: &rendered.html,
                now: Utc::now(),
            },
        )
        .await?;
        let event = HubEvent::CommentCreated {
            comment: id,
            note: note.id,
            author: actor.id,
        };
        self.queue.emit(&mut tx, &event).await?;
        tx.commit().await?;
        self.queue.wake();
        self.comment(actor, id).await
    }

    async fn comment(&self, actor: &AuthUser, id: Uuid) -> AppResult<Comment> {
        let c = self.visible_comment(actor, id).await?;
        Ok(comment_view(c, Vec::new()))
    }

    /// Changes a comment's text (its author only).
    pub async fn update_comment(
        &self,
        actor: &AuthUser,
        id: Uuid,
        input: UpdateComment,
    ) -> AppResult<Comment> {
        actor.require_write()?;
        actor.require_verified()?;
        let comment = self.visible_comment(actor, id).await?;
        if comment.author_id != actor.id {
            return Err(AppError::Forbidden(
                "only its author edits a comment".into(),
            ));
        }
        let body = bounded_text("body_md", &input.body_md, 1, COMMENT_MAX_CHARS)
            .map_err(|e| AppError::Validation(vec![e]))?;
        let rendered = hub::render_markdown(&body);
        let mut tx = self.db.begin().await?;
        if !repo::update_comment(&mut tx, id, &body, &rendered.html, Utc::now()).await? {
            return Err(AppError::Conflict("the comment was deleted".into()));
        }
        tx.commit().await?;
        self.comment(actor, id).await
    }

    /// Deletes a comment (its author or an admin), keeping its place in the thread.
    pub async fn delete_comment(&self, actor: &AuthUser, id: Uuid) -> AppResult<()> {
        actor.require_write()?;
        let comment = self.visible_comment(actor, id).await?;
        if comment.author_id != actor.id && actor.role != Role::Admin {
            return Err(AppError::Forbidden(
                "only its author or an admin deletes a comment".into(),
            ));
        }
        let mut tx = self.db.begin().await?;
        repo::soft_delete_comment(&mut tx, id, Utc::now()).await?;
        tx.commit().await
    }

    // ---- edit proposals ----

    pub async fn create_proposal(
        &self,
        actor: &AuthUser,
        slug: &str,
        input: CreateProposal,
    ) -> AppResult<Proposal> {
        actor.require_write()?;
        actor.require_verified()?;
        let note = self.published_note(&user(actor), slug).await?;
        if note.author_id == actor.id {
            return Err(AppError::Forbidden(
                "this is your note: edit it instead of proposing a change".into(),
            ));
        }
        let mut check = Checker::default();
        if input.base_version < 1 {
            check.push(FieldError::new(
                "base_version",
                "must be a note version (1 or more)",
            ));
        }
        let title = match &input.title {
            Some(t) => check.check(bounded_text("title", t, 1, 200)),
            None => Some(note.title.clone()),
        };
        let body = match &input.body_md {
            Some(b) => check.check(bounded_text("body_md", b, 0, 100_000)),
            None => Some(note.body_md.clone()),
        };
        let message = check.check(bounded_text("message", &input.message, 1, 500));
        if input.title.is_none() && input.body_md.is_none() {
            check.push(FieldError::new("body_md", "propose a new title or body_md"));
        }
        check.finish()?;
        let (Some(title), Some(body), Some(message)) = (title, body, message) else {
            return Err(AppError::Internal(anyhow::anyhow!(
                "validated inputs missing"
            )));
        };
        if input.base_version != note.version {
            return Err(AppError::Conflict(format!(
                "the note is at version {} now, not {}; propose against the current version",
                note.version, input.base_version
            )));
        }
        if title == note.title && body == note.body_md {
            return Err(AppError::invalid(
                "body_md",
                "the proposal changes nothing in the note",
            ));
        }
        let id = Uuid::now_v7();
        let mut tx = self.db.begin().await?;
        repo::insert_proposal(
            &mut tx,
            &repo::NewProposal {
                id,
                note: note.id,
                proposer: actor.id,
                base_version: input.base_version,
                title: &title,
                body_md: &body,
                message: &message,
                now: Utc::now(),
            },
        )
        .await?;
        let event = HubEvent::ProposalCreated {
            proposal: id,
            note: note.id,
            proposer: actor.id,
        };
        self.queue.emit(&mut tx, &event).await?;
        tx.commit().await?;
        self.queue.wake();
        self.proposal(actor, id).await
    }

    /// Proposals on a note, newest first: all of them for its author, mentors and admins;
    /// the caller's own for anyone else.
    pub async fn proposals(
        &self,
        actor: &AuthUser,
        slug: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<Proposal>> {
        let limit = page::limit(limit)?;
        let after = page::decode_id_cursor(cursor)?;
        let note = self.visible_note(&user(actor), slug).await?;
        let only = (!may_review(note.author_id, actor)).then_some(actor.id);
        let rows = repo::list_proposals(&self.db, note.id, only, after, limit + 1).await?;
        let (rows, next_cursor) = split_page(rows, limit, |p| p.id);
        Ok(Page {
            items: rows
                .into_iter()
                .map(proposal_view)
                .collect::<AppResult<_>>()?,
            next_cursor,
        })
    }

    /// A proposal the caller may see (its proposer, or a reviewer of its note), or 404.
    async fn visible_proposal(&self, actor: &AuthUser, id: Uuid) -> AppResult<repo::ProposalRow> {
        let missing = || AppError::not_found(format!("no proposal {id}"));
        let p = repo::proposal_by_id(&self.db, id)
            .await?
            .filter(|p| p.proposer_id == actor.id || may_review(p.note_author_id, actor))
            .ok_or_else(missing)?;
        match self.visible_note(&user(actor), &p.note_slug).await {
            Ok(_) => Ok(p),
            Err(AppError::NotFound(_)) => Err(missing()),
            Err(e) => Err(e),
        }
    }

    async fn proposal(&self, actor: &AuthUser, id: Uuid) -> AppResult<Proposal> {
        proposal_view(self.visible_proposal(actor, id).await?)
    }

    /// Checks that `actor` may decide `p` and that it is still open.
    fn decidable(actor: &AuthUser, p: &repo::ProposalRow) -> AppResult<()> {
        if !may_review(p.note_author_id, actor) {
            return Err(AppError::Forbidden(
                "only the note's author, a mentor or an admin decides a proposal".into(),
            ));
        }
        if p.status != "open" {
            return Err(AppError::Conflict(format!(
                "the proposal is already {}",
                p.status
            )));
        }
        Ok(())
    }

    /// Merges a proposal into a new revision of its note, credited to the proposer. 409
    /// when the note moved on since the proposal's base version; the proposal stays open.
    pub async fn accept_proposal(&self, actor: &AuthUser, id: Uuid) -> AppResult<Proposal> {
        actor.require_write()?;
        let p = self.visible_proposal(actor, id).await?;
        Self::decidable(actor, &p)?;
        let note = self.visible_note(&user(actor), &p.note_slug).await?;
        if note.status != "published" {
            return Err(AppError::Conflict(format!("the note is {}", note.status)));
        }
        let moved_on = |current: i32| {
            AppError::Conflict(format!(
                "the note is at version {current} now; the proposal was made against version {}, \
                 so it can no longer be merged as it is",
                p.base_version
            ))
        };
        if note.version != p.base_version {
            return Err(moved_on(note.version));
        }
        let prepared = Prepared::new(
            kind_of(&note.kind)?,
            status_of(&note.status)?,
            p.title.clone(),
            p.body_md.clone(),
            note.problem.clone(),
            note.solution.clone(),
            note.outcome.clone(),
        );
        let message = format!("{} (proposal accepted by {})", p.message, actor.handle);
        let now = Utc::now();
        let mut tx = self.db.begin().await?;
        let edit = Edit {
            editor: p.proposer_id,
            note: &note,
            expected: note.version,
            prepared: &prepared,
            topic_ids: None,
            tags: None,
            message: &message,
        };
        match write_edit_in(&mut tx, &edit, now).await {
            Err(AppError::PreconditionFailed(_)) => {
                drop(tx);
                let current = notes::note_by_slug(&self.db, &note.slug)
                    .await?
                    .map_or(note.version, |n| n.version);
                return Err(moved_on(current));
            }
            other => other?,
        }
        let decision = repo::Decision {
            status: "accepted",
            by: actor.id,
            reason: None,
            revision: Some(note.version + 1),
            now,
        };
        if !repo::decide_proposal(&mut tx, id, &decision).await? {
            return Err(AppError::Conflict(
                "the proposal was decided by someone else meanwhile".into(),
            ));
        }
        let event = HubEvent::ProposalDecided {
            proposal: id,
            note: note.id,
            accepted: true,
        };
        self.queue.emit(&mut tx, &event).await?;
        tx.commit().await?;
        self.queue.wake();
        // The note changed: cached answers showing it must go, as for any edit.
        self.cache.note_changed(&note.slug).await;
        self.proposal(actor, id).await
    }

    pub async fn reject_proposal(
        &self,
        actor: &AuthUser,
        id: Uuid,
        input: RejectProposal,
    ) -> AppResult<Proposal> {
        actor.require_write()?;
        let p = self.visible_proposal(actor, id).await?;
        Self::decidable(actor, &p)?;
        let reason = bounded_text("reason", &input.reason, 1, 1000)
            .map_err(|e| AppError::Validation(vec![e]))?;
        let mut tx = self.db.begin().await?;
        let decision = repo::Decision {
            status: "rejected",
            by: actor.id,
            reason: Some(&reason),
            revision: None,
            now: Utc::now(),
        };
        if !repo::decide_proposal(&mut tx, id, &decision).await? {
            return Err(AppError::Conflict(
                "the proposal was decided by someone else meanwhile".into(),
            ));
        }
        let event = HubEvent::ProposalDecided {
            proposal: id,
            note: p.note_id,
            accepted: false,
        };
        self.queue.emit(&mut tx, &event).await?;
        tx.commit().await?;
        self.queue.wake();
        self.proposal(actor, id).await
    }

    // ---- reports ----

    pub async fn create_report(
        &self,
        actor: &AuthUser,
        slug: &str,
        input: CreateReport,
    ) -> AppResult<Report> {
        actor.require_write()?;
        let note = self.published_note(&user(actor), slug).await?;
        let reason = bounded_text("reason", &input.reason, 1, 2000)
            .map_err(|e| AppError::Validation(vec![e]))?;
        let id = Uuid::now_v7();
        let mut tx = self.db.begin().await?;
        repo::insert_report(&mut tx, id, note.id, actor.id, &reason, Utc::now()).await?;
        let event = HubEvent::ReportFiled {
            report: id,
            note: note.id,
        };
        self.queue.emit(&mut tx, &event).await?;
        tx.commit().await?;
        self.queue.wake();
        self.report(id).await
    }

    async fn report(&self, id: Uuid) -> AppResult<Report> {
        report_view(
            repo::report_by_id(&self.db, id)
                .await?
                .ok_or_else(|| AppError::not_found(format!("no report {id}")))?,
        )
    }

    /// The moderation queue (mentors and admins), oldest first.
    pub async fn reports(
        &self,
        actor: &AuthUser,
        status: Option<ReportStatus>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<Report>> {
        actor.require_role(Role::Mentor)?;
        let limit = page::limit(limit)?;
        let after = page::decode_id_cursor(cursor)?;
        let status = status.unwrap_or(ReportStatus::Open);
        let rows = repo::list_reports(&self.db, status.as_str(), after, limit + 1).await?;
        let (rows, next_cursor) = split_page(rows, limit, |r| r.id);
        Ok(Page {
            items: rows
                .into_iter()
                .map(report_view)
                .collect::<AppResult<_>>()?,
            next_cursor,
        })
    }

    pub async fn resolve_report(
        &self,
        actor: &AuthUser,
        id: Uuid,
        input: ResolveReport,
    ) -> AppResult<Report> {
        actor.require_write()?;
        actor.require_role(Role::Mentor)?;
        let resolution = bounded_text("resolution", &input.resolution, 1, 2000)
            .map_err(|e| AppError::Validation(vec![e]))?;
        self.report(id).await?;
        let mut tx = self.db.begin().await?;
        if !repo::resolve_report(&mut tx, id, actor.id, &resolution, Utc::now()).await? {
            return Err(AppError::Conflict("the report is already resolved".into()));
        }
        tx.commit().await?;
        self.report(id).await
    }

    // ---- follows, feed and bookmarks ----

    async fn topic_id(&self, slug: &str) -> AppResult<Uuid> {
        notes::topic_by_slug(&self.db, slug)
            .await?
            .map(|t| t.id)
            .ok_or_else(|| AppError::not_found(format!("no topic `{slug}`")))
    }

    pub async fn follow_topic(&self, actor: &AuthUser, slug: &str) -> AppResult<()> {
        actor.require_write()?;
        let topic = self.topic_id(slug).await?;
        let mut tx = self.db.begin().await?;
        repo::follow(&mut tx, actor.id, topic, Utc::now()).await?;
        tx.commit().await
    }

    pub async fn unfollow_topic(&self, actor: &AuthUser, slug: &str) -> AppResult<()> {
        actor.require_write()?;
        let topic = self.topic_id(slug).await?;
        let mut tx = self.db.begin().await?;
        repo::unfollow(&mut tx, actor.id, topic).await?;
        tx.commit().await
    }

    pub async fn followed_topics(&self, actor: &AuthUser) -> AppResult<Vec<Topic>> {
        Ok(repo::followed_topics(&self.db, actor.id)
            .await?
            .into_iter()
            .map(topic_view)
            .collect())
    }

    /// Published notes in the caller's followed topics, newest first.
    pub async fn feed(
        &self,
        actor: &AuthUser,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<NoteListItem>> {
        let limit = page::limit(limit)?;
        let after = page::decode_id_cursor(cursor)?;
        let rows = repo::feed(&self.db, actor.id, after, limit + 1).await?;
        let (rows, next_cursor) = split_page(rows, limit, |n| n.id);
        Ok(Page {
            items: self.list_items(rows).await?,
            next_cursor,
        })
    }

    pub async fn bookmark_note(&self, actor: &AuthUser, slug: &str) -> AppResult<()> {
        actor.require_write()?;
        let note = self.visible_note(&user(actor), slug).await?;
        let mut tx = self.db.begin().await?;
        repo::bookmark(&mut tx, Uuid::now_v7(), actor.id, note.id, Utc::now()).await?;
        tx.commit().await
    }

    /// Removes a bookmark. Succeeds whatever the slug names, so the answer tells nothing
    /// about notes the caller cannot see, and a bookmark on a note archived since can
    /// still be removed.
    pub async fn unbookmark_note(&self, actor: &AuthUser, slug: &str) -> AppResult<()> {
        actor.require_write()?;
        if !hub::is_slug(slug) {
            return Ok(());
        }
        let Some(note) = notes::note_by_slug(&self.db, slug).await? else {
            return Ok(());
        };
        let mut tx = self.db.begin().await?;
        repo::unbookmark(&mut tx, actor.id, note.id).await?;
        tx.commit().await
    }

    /// The caller's bookmarks, newest bookmark first.
    pub async fn bookmarks(
        &self,
        actor: &AuthUser,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<Bookmark>> {
        let limit = page::limit(limit)?;
        let after = page::decode_id_cursor(cursor)?;
        let rows = repo::bookmarks(&self.db, actor.id, after, limit + 1).await?;
        let (rows, next_cursor) = split_page(rows, limit, |b| b.bookmark_id);
        let (times, note_rows): (Vec<_>, Vec<_>) =
            rows.into_iter().map(|b| (b.bookmarked_at, b.note)).unzip();
        let items = times
            .into_iter()
            .zip(self.list_items(note_rows).await?)
            .map(|(bookmarked_at, note)| Bookmark {
                bookmarked_at,
                note,
            })
            .collect();
        Ok(Page { items, next_cursor })
    }
}
