//! The hub's request and response types, and how stored rows become them.

use chrono::{DateTime, Utc};
use nexus_core::error::AppResult;
use nexus_core::hub::{NoteKind, NoteStatus};
use nexus_db::hub as repo;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A topic with the number of published notes in it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Topic {
    #[schema(example = "distributed-systems")]
    pub slug: String,
    pub title: String,
    pub description: String,
    pub note_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTopic {
    /// Derived from the title when absent.
    #[schema(
        example = "distributed-systems",
        max_length = 80,
        pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$"
    )]
    pub slug: Option<String>,
    #[schema(
        example = "Distributed systems",
        min_length = 1,
        max_length = 120,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
    )]
    pub title: String,
    #[schema(max_length = 2000, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTopic {
    #[schema(
        min_length = 1,
        max_length = 120,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
    )]
    pub title: Option<String>,
    #[schema(max_length = 2000, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub description: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RelatedTopic {
    pub slug: String,
    pub title: String,
    /// Published notes filed under both topics.
    pub shared_notes: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Author {
    pub handle: String,
    pub display_name: String,
}

/// A note in full.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NoteDetail {
    pub id: Uuid,
    pub slug: String,
    pub title: String,
    pub kind: NoteKind,
    pub status: NoteStatus,
    /// Plain text derived from the body.
    pub summary: String,
    pub body_md: String,
    /// The body rendered and sanitised.
    pub body_html: String,
    /// Challenges only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub solution: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    pub topics: Vec<String>,
    pub tags: Vec<String>,
    pub author: Author,
    /// Increases with every change; the `ETag` is `"v{version}"`.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
}

/// A note in a list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NoteListItem {
    pub slug: String,
    pub title: String,
    pub kind: NoteKind,
    pub summary: String,
    pub topics: Vec<String>,
    pub author: Author,
    pub created_at: DateTime<Utc>,
}

/// A tag as a client may send it (the schema of the items of `tags`): a slug of at most
/// [`TAG_MAX_CHARS`](super::rules::TAG_MAX_CHARS) characters, in any case and with blanks
/// around it, which `rules::tags` trims and lowercases.
pub struct TagInput;

/// The blanks `str::trim` removes that are not control characters, then a slug in any case.
const TAG_PATTERN: &str = r"^[\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[A-Za-z0-9]+(-[A-Za-z0-9]+)*[\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$";

impl utoipa::PartialSchema for TagInput {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .max_length(Some(super::rules::TAG_MAX_CHARS))
            .pattern(Some(TAG_PATTERN))
            .into()
    }
}

impl ToSchema for TagInput {}

/// The statuses a client may set (the schema of `status` in a new note or an edit):
/// `archived` is reached with DELETE only (`rules::new_status`, `rules::edit_status`).
pub struct StatusInput;

impl utoipa::PartialSchema for StatusInput {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some([
                NoteStatus::Draft.as_str(),
                NoteStatus::Published.as_str(),
            ]))
            .into()
    }
}

impl ToSchema for StatusInput {}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateNote {
    #[schema(
        example = "CAP theorem",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
    )]
    pub title: String,
    pub kind: NoteKind,
    /// Markdown. `[[slug]]` and `[[Title]]` link to other notes.
    #[schema(
        example = "Pick two of [[consistency]], availability and partition tolerance.",
        max_length = 100000,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
    )]
    pub body_md: String,
    /// 1-5 topic slugs.
    #[schema(example = json!(["distributed-systems"]), min_items = 1, max_items = 5)]
    pub topics: Vec<String>,
    /// 0-10 tags of a-z, 0-9 and -, each at most 40 characters (taken trimmed and in
    /// lowercase).
    #[serde(default)]
    #[schema(example = json!(["theory"]), max_items = 10, value_type = Vec<TagInput>)]
    pub tags: Vec<String>,
    /// `draft` (only you see it) or `published` (default).
    #[schema(value_type = Option<StatusInput>)]
    pub status: Option<NoteStatus>,
    /// Required for challenges: what was hard.
    #[schema(max_length = 20000, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub problem: Option<String>,
    /// Required for challenges: what worked.
    #[schema(max_length = 20000, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub solution: Option<String>,
    /// Required for challenges: what came of it.
    #[schema(max_length = 20000, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub outcome: Option<String>,
}

/// A partial change; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateNote {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
    )]
    pub title: Option<String>,
    pub kind: Option<NoteKind>,
    #[schema(max_length = 100000, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub body_md: Option<String>,
    #[schema(min_items = 1, max_items = 5)]
    pub topics: Option<Vec<String>>,
    #[schema(max_items = 10, value_type = Option<Vec<TagInput>>)]
    pub tags: Option<Vec<String>>,
    /// `draft` or `published`; archive with DELETE.
    #[schema(value_type = Option<StatusInput>)]
    pub status: Option<NoteStatus>,
    #[schema(max_length = 20000, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub problem: Option<String>,
    #[schema(max_length = 20000, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub solution: Option<String>,
    #[schema(max_length = 20000, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub outcome: Option<String>,
    /// What changed, for the revision history.
    #[schema(
        max_length = 500,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
    )]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum NoteSort {
    #[default]
    Newest,
    Updated,
}

#[derive(Debug, Default)]
pub struct NoteQuery {
    pub topic: Option<String>,
    pub kind: Option<NoteKind>,
    pub author: Option<String>,
    pub tag: Option<String>,
    pub status: Option<NoteStatus>,
    pub sort: NoteSort,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RevisionInfo {
    pub number: i32,
    /// Handle of who made this revision.
    pub editor: String,
    pub message: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Revision {
    #[serde(flatten)]
    pub info: RevisionInfo,
    pub kind: NoteKind,
    pub title: String,
    pub body_md: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub solution: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RevisionDiff {
    pub from: i32,
    pub to: i32,
    /// A unified diff of title and body (and challenge fields).
    pub unified: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SearchHit {
    pub slug: String,
    pub title: String,
    /// A fragment of the body with matches wrapped in `<mark>`; the rest is plain text.
    pub snippet: String,
    /// Higher is better; comparable within one answer only.
    pub score: f64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SearchResults {
    pub items: Vec<SearchHit>,
}

#[derive(Debug, Default)]
pub struct SearchParams {
    pub q: String,
    pub topic: Option<String>,
    pub kind: Option<NoteKind>,
    pub limit: Option<u32>,
}

// ---- from rows ------------------------------------------------------------------------

pub(crate) fn topic_view(t: repo::TopicRow) -> Topic {
    Topic {
        slug: t.slug,
        title: t.title,
        description: t.description,
        note_count: t.note_count,
        created_at: t.created_at,
        updated_at: t.updated_at,
    }
}

/// A note's detail from its row, topics and tags.
pub(crate) fn detail_of(
    note: repo::NoteRow,
    topics: Vec<String>,
    tags: Vec<String>,
) -> AppResult<NoteDetail> {
    Ok(NoteDetail {
        kind: note.kind,
        status: note.status,
        id: note.id,
        slug: note.slug,
        title: note.title,
        summary: note.summary,
        body_md: note.body_md,
        body_html: note.body_html,
        problem: note.problem,
        solution: note.solution,
        outcome: note.outcome,
        topics,
        tags,
        author: Author {
            handle: note.author_handle,
            display_name: note.author_name,
        },
        version: note.version,
        created_at: note.created_at,
        updated_at: note.updated_at,
        published_at: note.published_at,
    })
}

/// A note in a list, with the topics found for it.
pub(crate) fn list_item_of(n: repo::NoteRow, topics: Vec<String>) -> AppResult<NoteListItem> {
    Ok(NoteListItem {
        kind: n.kind,
        topics,
        slug: n.slug,
        title: n.title,
        summary: n.summary,
        author: Author {
            handle: n.author_handle,
            display_name: n.author_name,
        },
        created_at: n.created_at,
    })
}

/// A revision's header; the list of revisions shows only this.
pub(crate) fn revision_info(r: &repo::RevisionRow) -> RevisionInfo {
    RevisionInfo {
        number: r.number,
        editor: r.editor_handle.clone(),
        message: r.message.clone(),
        created_at: r.created_at,
    }
}
