//! The discussion's request and response types, and how stored rows become them.

use chrono::{DateTime, Utc};
pub use nexus_core::hub::{ProposalStatus, ReportStatus};
use nexus_db::discussion as repo;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::hub::model::{Author, NoteListItem};

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
        max_length = 5000,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
    )]
    pub body_md: String,
    /// Reply to this comment, which must start a thread on the same note.
    pub parent_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateComment {
    #[schema(
        min_length = 1,
        max_length = 5000,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
    )]
    pub body_md: String,
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
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
    )]
    pub title: Option<String>,
    /// The new body; the current one when absent.
    #[schema(max_length = 100000, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub body_md: Option<String>,
    /// What the change does and why.
    #[schema(
        example = "Fix the definition of linearizability",
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
    )]
    pub message: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectProposal {
    #[schema(
        min_length = 1,
        max_length = 1000,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
    )]
    pub reason: String,
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
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
    )]
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveReport {
    /// What was done about it.
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
    )]
    pub resolution: String,
}

/// A bookmarked note.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Bookmark {
    pub bookmarked_at: DateTime<Utc>,
    pub note: NoteListItem,
}

// ---- from rows ------------------------------------------------------------------------

pub(crate) fn comment_view(c: repo::CommentRow, replies: Vec<Comment>) -> Comment {
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

pub(crate) fn proposal_view(p: repo::ProposalRow) -> Proposal {
    Proposal {
        status: p.status,
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
    }
}

pub(crate) fn report_view(r: repo::ReportRow) -> Report {
    Report {
        id: r.id,
        note: ReportedNote {
            slug: r.note_slug,
            title: r.note_title,
        },
        reporter: r.reporter_handle,
        reason: r.reason,
        status: r.status,
        resolved_by: r.resolved_by_handle,
        resolution: r.resolution,
        created_at: r.created_at,
        resolved_at: r.resolved_at,
    }
}
