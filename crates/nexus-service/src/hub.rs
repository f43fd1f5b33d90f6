//! The knowledge hub: topics, notes, revisions, cross-references and search.
//!
//! Visibility: a published note is public; a draft is its author's alone; an archived note
//! is its author's and admins'. Anyone else asking for a hidden note gets 404, the same as
//! for a missing one. Only the author (or an admin) edits a note, and every edit names the
//! version it starts from (`If-Match`), so concurrent edits never overwrite each other.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use nexus_core::hub::{self, NoteKind, NoteStatus, SearchQuery};
use nexus_core::identity::{Checker, Role, bounded_text};
use nexus_core::{AppError, FieldError, Unique, error::AppResult};
use nexus_db::hub as repo;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::Services;
use crate::actor::{AuthUser, Principal};
use crate::cache::{NoteAnswer, ReadCache};
use crate::encoded::Encoded;
pub mod events;
pub mod notifications;

use crate::page::{self, Page};
use crate::snippet;
use events::HubEvent;

// ---- inputs and outputs ---------------------------------------------------------------

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
    #[schema(example = "distributed-systems", max_length = 80)]
    pub slug: Option<String>,
    #[schema(example = "Distributed systems", min_length = 1, max_length = 120)]
    pub title: String,
    #[schema(max_length = 2000)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTopic {
    #[schema(min_length = 1, max_length = 120)]
    pub title: Option<String>,
    #[schema(max_length = 2000)]
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateNote {
    #[schema(example = "CAP theorem", min_length = 1, max_length = 200)]
    pub title: String,
    pub kind: NoteKind,
    /// Markdown. `[[slug]]` and `[[Title]]` link to other notes.
    #[schema(
        example = "Pick two of [[consistency]], availability and partition tolerance.",
        max_length = 100000
    )]
    pub body_md: String,
    /// 1-5 topic slugs.
    #[schema(example = json!(["distributed-systems"]), min_items = 1, max_items = 5)]
    pub topics: Vec<String>,
    /// 0-10 tags of a-z, 0-9 and -.
    #[serde(default)]
    #[schema(example = json!(["theory"]), max_items = 10)]
    pub tags: Vec<String>,
    /// `draft` (only you see it) or `published` (default).
    pub status: Option<NoteStatus>,
    /// Required for challenges: what was hard.
    #[schema(max_length = 20000)]
    pub problem: Option<String>,
    /// Required for challenges: what worked.
    #[schema(max_length = 20000)]
    pub solution: Option<String>,
    /// Required for challenges: what came of it.
    #[schema(max_length = 20000)]
    pub outcome: Option<String>,
}

/// A partial change; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateNote {
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    pub kind: Option<NoteKind>,
    #[schema(max_length = 100000)]
    pub body_md: Option<String>,
    #[schema(min_items = 1, max_items = 5)]
    pub topics: Option<Vec<String>>,
    #[schema(max_items = 10)]
    pub tags: Option<Vec<String>>,
    /// `draft` or `published`; archive with DELETE.
    pub status: Option<NoteStatus>,
    #[schema(max_length = 20000)]
    pub problem: Option<String>,
    #[schema(max_length = 20000)]
    pub solution: Option<String>,
    #[schema(max_length = 20000)]
    pub outcome: Option<String>,
    /// What changed, for the revision history.
    #[schema(max_length = 500)]
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

// ---- helpers ----------------------------------------------------------------------------

pub(crate) fn kind_of(s: &str) -> AppResult<NoteKind> {
    NoteKind::parse(s).ok_or_else(|| AppError::Internal(anyhow::anyhow!("unknown note kind `{s}`")))
}

pub(crate) fn status_of(s: &str) -> AppResult<NoteStatus> {
    NoteStatus::parse(s)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("unknown note status `{s}`")))
}

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

fn not_found(slug: &str) -> AppError {
    AppError::not_found(format!("no note `{slug}`"))
}

fn may_see(note: &repo::NoteRow, who: &Principal) -> bool {
    match note.status.as_str() {
        "published" => true,
        status => match who {
            Principal::User(u) => {
                u.id == note.author_id || (status == "archived" && u.role == Role::Admin)
            }
            Principal::Anonymous => false,
        },
    }
}

fn may_edit(note: &repo::NoteRow, who: &AuthUser) -> bool {
    who.id == note.author_id || who.role == Role::Admin
}

fn check_tags(check: &mut Checker, tags: &[String]) -> Vec<String> {
    if tags.len() > 10 {
        check.push(FieldError::new("tags", "at most 10 tags"));
    }
    let mut out = BTreeSet::new();
    for (i, tag) in tags.iter().enumerate() {
        let t = tag.trim().to_lowercase();
        if t.len() > 40 || !hub::is_slug(&t) {
            check.push(FieldError::new(
                format!("tags[{i}]"),
                "must be 1-40 characters of a-z, 0-9 and single -",
            ));
        } else {
            out.insert(t);
        }
    }
    out.into_iter().collect()
}

fn check_topic_list(check: &mut Checker, topics: &[String]) -> Vec<String> {
    if topics.is_empty() || topics.len() > 5 {
        check.push(FieldError::new("topics", "between 1 and 5 topics"));
    }
    normalize_topics(topics)
}

/// Topic slugs as a note stores them: trimmed, lowercase, each once. Order kept, so a
/// field error's index points at what the client sent.
fn normalize_topics(topics: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    topics
        .iter()
        .map(|t| t.trim().to_lowercase())
        .filter(|t| seen.insert(t.clone()))
        .collect()
}

/// The ids of `slugs` among `known`; each unknown one is a field error.
fn resolve_topics(check: &mut Checker, slugs: &[String], known: &TopicIds) -> Vec<Uuid> {
    let mut ids = Vec::with_capacity(slugs.len());
    for (i, s) in slugs.iter().enumerate() {
        match known.get(s) {
            Some(id) => ids.push(*id),
            None => check.push(FieldError::new(
                format!("topics[{i}]"),
                format!("no topic `{s}`"),
            )),
        }
    }
    ids
}

/// Optional long text: trimmed, bounded, empty → absent.
fn long_text(check: &mut Checker, field: &str, v: Option<&str>, max: usize) -> Option<String> {
    let v = v?;
    check
        .check(bounded_text(field, v, 0, max))
        .filter(|s| !s.is_empty())
}

/// What a stored note becomes after validation and rendering.
pub(crate) struct Prepared {
    kind: NoteKind,
    status: NoteStatus,
    title: String,
    body_md: String,
    problem: Option<String>,
    solution: Option<String>,
    outcome: Option<String>,
    rendered: hub::Rendered,
    summary: String,
    search_text: String,
}

impl Prepared {
    pub(crate) fn new(
        kind: NoteKind,
        status: NoteStatus,
        title: String,
        body_md: String,
        problem: Option<String>,
        solution: Option<String>,
        outcome: Option<String>,
    ) -> Prepared {
        let rendered = hub::render_markdown(&body_md);
        let summary = hub::summarize(&rendered.text);
        let mut search_text = rendered.text.clone();
        for part in [&problem, &solution, &outcome].into_iter().flatten() {
            search_text.push(' ');
            search_text.push_str(part);
        }
        Prepared {
            kind,
            status,
            title,
            body_md,
            problem,
            solution,
            outcome,
            rendered,
            summary,
            search_text,
        }
    }

    fn content(&self) -> repo::NoteContent<'_> {
        repo::NoteContent {
            kind: self.kind.as_str(),
            status: self.status.as_str(),
            title: &self.title,
            summary: &self.summary,
            body_md: &self.body_md,
            body_html: &self.rendered.html,
            body_text: &self.search_text,
            problem: self.problem.as_deref(),
            solution: self.solution.as_deref(),
            outcome: self.outcome.as_deref(),
        }
    }
}

fn challenge_fields_required(check: &mut Checker, p: &Prepared) {
    if p.kind == NoteKind::Challenge {
        for (name, v) in [
            ("problem", &p.problem),
            ("solution", &p.solution),
            ("outcome", &p.outcome),
        ] {
            if v.is_none() {
                check.push(FieldError::new(name, "is required for a challenge"));
            }
        }
    }
}

// ---- use cases ------------------------------------------------------------------------

impl Services {
    pub async fn list_topics(&self) -> AppResult<Vec<Topic>> {
        Ok(repo::list_topics(&self.db)
            .await?
            .into_iter()
            .map(topic_view)
            .collect())
    }

    pub async fn topic(&self, slug: &str) -> AppResult<Topic> {
        repo::topic_by_slug(&self.db, slug)
            .await?
            .map(topic_view)
            .ok_or_else(|| AppError::not_found(format!("no topic `{slug}`")))
    }

    pub async fn create_topic(&self, actor: &AuthUser, input: CreateTopic) -> AppResult<Topic> {
        actor.require_role(Role::Admin)?;
        actor.require_write()?;
        let mut check = Checker::default();
        let title = check.check(bounded_text("title", &input.title, 1, 120));
        let description = check.check(bounded_text(
            "description",
            input.description.as_deref().unwrap_or(""),
            0,
            2000,
        ));
        let slug = match (&input.slug, &title) {
            (Some(s), _) if hub::is_slug(s) => Some(s.clone()),
            (Some(_), _) => {
                check.push(FieldError::new(
                    "slug",
                    "must be 1-80 characters of a-z, 0-9 and single -",
                ));
                None
            }
            (None, Some(t)) => Some(hub::slugify(t)),
            (None, None) => None,
        };
        check.finish()?;
        let (Some(title), Some(description), Some(slug)) = (title, description, slug) else {
            return Err(AppError::Internal(anyhow::anyhow!(
                "validated inputs missing"
            )));
        };
        let mut tx = self.db.begin().await?;
        match repo::insert_topic(
            &mut tx,
            Uuid::now_v7(),
            &slug,
            &title,
            &description,
            Utc::now(),
        )
        .await
        {
            Err(AppError::Duplicate(Unique::TopicSlug)) => {
                return Err(AppError::Conflict(format!("the topic `{slug}` exists")));
            }
            other => other?,
        }
        tx.commit().await?;
        self.topic(&slug).await
    }

    pub async fn update_topic(
        &self,
        actor: &AuthUser,
        slug: &str,
        input: UpdateTopic,
    ) -> AppResult<Topic> {
        actor.require_role(Role::Admin)?;
        actor.require_write()?;
        let topic = repo::topic_by_slug(&self.db, slug)
            .await?
            .ok_or_else(|| AppError::not_found(format!("no topic `{slug}`")))?;
        let mut check = Checker::default();
        let title = input
            .title
            .as_deref()
            .and_then(|t| check.check(bounded_text("title", t, 1, 120)));
        let description = input
            .description
            .as_deref()
            .and_then(|d| check.check(bounded_text("description", d, 0, 2000)));
        check.finish()?;
        let mut tx = self.db.begin().await?;
        repo::update_topic(
            &mut tx,
            topic.id,
            title.as_deref(),
            description.as_deref(),
            Utc::now(),
        )
        .await?;
        tx.commit().await?;
        self.topic(slug).await
    }

    pub async fn related_topics(&self, slug: &str) -> AppResult<Vec<RelatedTopic>> {
        let topic = repo::topic_by_slug(&self.db, slug)
            .await?
            .ok_or_else(|| AppError::not_found(format!("no topic `{slug}`")))?;
        Ok(repo::related_topics(&self.db, topic.id)
            .await?
            .into_iter()
            .map(|(slug, title, shared_notes)| RelatedTopic {
                slug,
                title,
                shared_notes,
            })
            .collect())
    }

    /// Resolves topic slugs to ids; unknown ones are field errors.
    async fn topic_ids(&self, check: &mut Checker, slugs: &[String]) -> AppResult<Vec<Uuid>> {
        let known = self.known_topics(slugs).await?;
        Ok(resolve_topics(check, slugs, &known))
    }

    pub(crate) async fn list_items(
        &self,
        rows: Vec<repo::NoteRow>,
    ) -> AppResult<Vec<NoteListItem>> {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let topics = repo::topics_of(&self.db, &ids).await?;
        let mut by_note: HashMap<Uuid, Vec<String>> = HashMap::new();
        for (id, slug) in topics {
            by_note.entry(id).or_default().push(slug);
        }
        rows.into_iter()
            .map(|n| {
                Ok(NoteListItem {
                    kind: kind_of(&n.kind)?,
                    topics: by_note.remove(&n.id).unwrap_or_default(),
                    slug: n.slug,
                    title: n.title,
                    summary: n.summary,
                    author: Author {
                        handle: n.author_handle,
                        display_name: n.author_name,
                    },
                    created_at: n.created_at,
                })
            })
            .collect()
    }

    /// A note the caller may see, or 404.
    pub(crate) async fn visible_note(
        &self,
        who: &Principal,
        slug: &str,
    ) -> AppResult<repo::NoteRow> {
        let note = if hub::is_slug(slug) {
            repo::note_by_slug(&self.db, slug).await?
        } else {
            None
        };
        note.filter(|n| may_see(n, who))
            .ok_or_else(|| not_found(slug))
    }

    /// A note's answer as the caller may see it (`GET /notes/{slug}`). Published notes
    /// look the same to everyone, so their answer is cached; drafts and archived notes
    /// always come from the database.
    pub async fn note_answer(&self, who: &Principal, slug: &str) -> AppResult<NoteAnswer> {
        if let Some(hit) = self.cache.note(slug).await {
            return Ok(hit);
        }
        Ok(self.fresh_note(who, slug).await?.1)
    }

    /// A note as the caller may see it, read from the database (the answer to a write),
    /// and cached again if published.
    pub async fn note(&self, who: &Principal, slug: &str) -> AppResult<Arc<Encoded<NoteDetail>>> {
        Ok(self.fresh_note(who, slug).await?.0)
    }

    async fn fresh_note(
        &self,
        who: &Principal,
        slug: &str,
    ) -> AppResult<(Arc<Encoded<NoteDetail>>, NoteAnswer)> {
        let row = if hub::is_slug(slug) {
            repo::note_detail_by_slug(&self.db, slug).await?
        } else {
            None
        };
        let row = row
            .filter(|r| may_see(&r.note, who))
            .ok_or_else(|| not_found(slug))?;
        let detail = Arc::new(Encoded::new(detail_of(row.note, row.topics, row.tags)?));
        let answer = NoteAnswer {
            version: detail.version,
            json: detail.json().map_err(|e| {
                AppError::Internal(anyhow::Error::new(e).context("encoding a note"))
            })?,
        };
        if detail.status == NoteStatus::Published {
            self.cache.put_note(&detail.slug, &answer).await;
        }
        Ok((detail, answer))
    }

    pub async fn create_note(
        &self,
        actor: &AuthUser,
        input: CreateNote,
    ) -> AppResult<Arc<Encoded<NoteDetail>>> {
        actor.require_write()?;
        actor.require_verified()?;
        let topics = self.known_topics(&normalize_topics(&input.topics)).await?;
        let note = prepare_note(actor, input, &topics)?;
        let slug = self
            .store_new_notes(std::slice::from_ref(&note), true)
            .await?
            .pop()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a created note has no slug")))?;
        self.note(&Principal::User(actor.clone()), &slug).await
    }

    /// Topic ids by slug for those of `slugs` that exist, for [`prepare_note`].
    pub async fn known_topics(&self, slugs: &[String]) -> AppResult<TopicIds> {
        Ok(repo::topic_ids(&self.db, slugs)
            .await?
            .into_iter()
            .map(|(id, slug)| (slug, id))
            .collect())
    }

    /// Stores notes made by [`prepare_note`] in one transaction (all or none), each
    /// exactly as [`Services::create_note`] stores one — it is the same code — with many
    /// rows per statement. Returns their slugs in order. This is the bulk path of
    /// `nexus seed`: callers prepare notes in parallel and write them in batches.
    pub async fn create_prepared_notes(&self, notes: &[NewNote]) -> AppResult<Vec<String>> {
        self.store_new_notes(notes, false).await
    }

    /// With `announce`, each published note also records a `note.published` event in the
    /// same transaction (the API path). The seed does not announce: a generated data set
    /// is not news, and 100,000 events would keep the workers busy for minutes.
    async fn store_new_notes(&self, notes: &[NewNote], announce: bool) -> AppResult<Vec<String>> {
        let mut tx = self.db.begin().await?;
        let (ids, slugs) = write_new_notes_in(&mut tx, notes, Utc::now()).await?;
        if announce {
            for ((note, id), slug) in notes.iter().zip(&ids).zip(&slugs) {
                if note.prepared.status == NoteStatus::Published {
                    let event = HubEvent::NotePublished {
                        note: *id,
                        slug: slug.clone(),
                        author: note.author,
                    };
                    self.queue.emit(&mut tx, &event).await?;
                }
            }
        }
        tx.commit().await?;
        if announce {
            self.queue.wake();
        }
        // A new slug was never cached; only first pages can now be out of date.
        self.cache.first_pages_changed().await;
        Ok(slugs)
    }

    /// Applies a partial change if `expected_version` is current: 428 without a version,
    /// 412 when someone else changed the note first.
    pub async fn update_note(
        &self,
        actor: &AuthUser,
        slug: &str,
        expected_version: Option<i32>,
        input: UpdateNote,
    ) -> AppResult<Arc<Encoded<NoteDetail>>> {
        actor.require_write()?;
        let note = self
            .visible_note(&Principal::User(actor.clone()), slug)
            .await?;
        if !may_edit(&note, actor) {
            return Err(AppError::Forbidden(
                "only the author or an admin edits a note; propose a change instead".into(),
            ));
        }
        let expected = expected_version.ok_or_else(|| {
            AppError::PreconditionRequired("send If-Match with the note's ETag to change it".into())
        })?;
        if expected != note.version {
            return Err(stale(note.version));
        }
        if note.status == "archived" {
            return Err(AppError::Conflict("the note is archived".into()));
        }
        if input.status == Some(NoteStatus::Draft) && note.status == "published" {
            return Err(AppError::invalid(
                "status",
                "a published note cannot go back to draft; archive it instead",
            ));
        }
        let mut check = Checker::default();
        let title = match &input.title {
            Some(t) => check.check(bounded_text("title", t, 1, 200)),
            None => Some(note.title.clone()),
        };
        let body = match &input.body_md {
            Some(b) => check.check(bounded_text("body_md", b, 0, 100_000)),
            None => Some(note.body_md.clone()),
        };
        let topics = input
            .topics
            .as_ref()
            .map(|t| check_topic_list(&mut check, t));
        let tags = input.tags.as_ref().map(|t| check_tags(&mut check, t));
        let keep = |new: &Option<String>,
                    old: &Option<String>,
                    check: &mut Checker,
                    field: &str| match new {
            Some(v) => long_text(check, field, Some(v), 20_000),
            None => old.clone(),
        };
        let problem = keep(&input.problem, &note.problem, &mut check, "problem");
        let solution = keep(&input.solution, &note.solution, &mut check, "solution");
        let outcome = keep(&input.outcome, &note.outcome, &mut check, "outcome");
        let message = check.check(bounded_text(
            "message",
            input.message.as_deref().unwrap_or("edited"),
            1,
            500,
        ));
        if input.status == Some(NoteStatus::Archived) {
            check.push(FieldError::new("status", "archive a note with DELETE"));
        }
        let topic_ids = match &topics {
            Some(t) => Some(self.topic_ids(&mut check, t).await?),
            None => None,
        };
        let (Some(title), Some(body), Some(message)) = (title, body, message) else {
            return Err(check
                .finish()
                .err()
                .unwrap_or_else(|| AppError::invalid("title", "is required")));
        };
        let kind = match input.kind {
            Some(k) => k,
            None => kind_of(&note.kind)?,
        };
        let status = match input.status {
            Some(s) => s,
            None => status_of(&note.status)?,
        };
        let prepared = Prepared::new(kind, status, title, body, problem, solution, outcome);
        challenge_fields_required(&mut check, &prepared);
        check.finish()?;
        self.write_edit(
            actor.id,
            &note,
            expected,
            &prepared,
            topic_ids.as_deref(),
            tags.as_deref(),
            &message,
        )
        .await?;
        self.note(&Principal::User(actor.clone()), slug).await
    }

    /// Writes a new version and its revision, links and index in one transaction.
    #[allow(clippy::too_many_arguments)]
    async fn write_edit(
        &self,
        editor: Uuid,
        note: &repo::NoteRow,
        expected: i32,
        prepared: &Prepared,
        topic_ids: Option<&[Uuid]>,
        tags: Option<&[String]>,
        message: &str,
    ) -> AppResult<()> {
        let mut tx = self.db.begin().await?;
        let edit = Edit {
            editor,
            note,
            expected,
            prepared,
            topic_ids,
            tags,
            message,
        };
        write_edit_in(&mut tx, &edit, Utc::now()).await?;
        if note.status != NoteStatus::Published.as_str() && prepared.status == NoteStatus::Published
        {
            let event = HubEvent::NotePublished {
                note: note.id,
                slug: note.slug.clone(),
                author: note.author_id,
            };
            self.queue.emit(&mut tx, &event).await?;
        }
        tx.commit().await?;
        self.queue.wake();
        self.cache.note_changed(&note.slug).await;
        Ok(())
    }

    /// Archives a note (author or admin): it leaves lists and search.
    pub async fn archive_note(&self, actor: &AuthUser, slug: &str) -> AppResult<()> {
        actor.require_write()?;
        let note = self
            .visible_note(&Principal::User(actor.clone()), slug)
            .await?;
        if !may_edit(&note, actor) {
            return Err(AppError::Forbidden(
                "only the author or an admin archives a note".into(),
            ));
        }
        if note.status == "archived" {
            return Ok(());
        }
        let mut tx = self.db.begin().await?;
        repo::set_status(&mut tx, note.id, "archived", Utc::now()).await?;
        tx.commit().await?;
        self.cache.note_changed(&note.slug).await;
        Ok(())
    }

    pub async fn list_notes(
        &self,
        who: &Principal,
        q: NoteQuery,
    ) -> AppResult<Arc<Encoded<Page<NoteListItem>>>> {
        let limit = page::limit(q.limit)?;
        let cacheable = q.cursor.is_none()
            && q.kind.is_none()
            && q.author.is_none()
            && q.tag.is_none()
            && q.sort == NoteSort::Newest
            && q.status.is_none_or(|s| s == NoteStatus::Published);
        let key = cacheable.then(|| ReadCache::first_page_key(q.topic.as_deref(), limit));
        if let Some(key) = &key
            && let Some(hit) = self.cache.first_page(key).await
        {
            return Ok(hit);
        }
        let page = Arc::new(Encoded::new(self.list_notes_uncached(who, q, limit).await?));
        if let Some(key) = key {
            self.cache.put_first_page(key, page.clone()).await;
        }
        Ok(page)
    }

    async fn list_notes_uncached(
        &self,
        who: &Principal,
        q: NoteQuery,
        limit: u32,
    ) -> AppResult<Page<NoteListItem>> {
        let status = q.status.unwrap_or(NoteStatus::Published);
        let mut author = None;
        if let Some(handle) = &q.author {
            match nexus_db::identity::user_by_handle(&self.db, handle).await? {
                Some(u) => author = Some(u.id),
                None => {
                    return Ok(Page {
                        items: Vec::new(),
                        next_cursor: None,
                    });
                }
            }
        }
        // Drafts and archived notes are listed only to their author: `status=draft` means
        // "my drafts".
        if status != NoteStatus::Published {
            let me = who.user().map_err(|_| {
                AppError::Unauthenticated(
                    "listing drafts or archived notes needs a bearer token".into(),
                )
            })?;
            if author.is_some_and(|a| a != me.id) {
                return Ok(Page {
                    items: Vec::new(),
                    next_cursor: None,
                });
            }
            author = Some(me.id);
        }
        let after = match q.sort {
            NoteSort::Newest => page::decode_id_cursor(q.cursor.as_deref())?.map(|id| (None, id)),
            NoteSort::Updated => {
                page::decode_time_cursor(q.cursor.as_deref())?.map(|(at, id)| (Some(at), id))
            }
        };
        let rows = repo::list_notes(
            &self.db,
            &repo::NoteFilter {
                status: status.as_str(),
                topic: q.topic.as_deref(),
                kind: q.kind.map(NoteKind::as_str),
                author,
                tag: q.tag.as_deref(),
                by_updated: q.sort == NoteSort::Updated,
                after,
                limit: limit + 1,
            },
        )
        .await?;
        let more = rows.len() > limit as usize;
        let rows: Vec<repo::NoteRow> = rows.into_iter().take(limit as usize).collect();
        let next_cursor = match (more, rows.last()) {
            (true, Some(last)) => Some(match q.sort {
                NoteSort::Newest => page::encode_id_cursor(last.id),
                NoteSort::Updated => page::encode_time_cursor(last.updated_at, last.id),
            }),
            _ => None,
        };
        Ok(Page {
            items: self.list_items(rows).await?,
            next_cursor,
        })
    }

    pub async fn revisions(&self, who: &Principal, slug: &str) -> AppResult<Vec<RevisionInfo>> {
        let note = self.visible_note(who, slug).await?;
        Ok(nexus_db::hub::revisions(&self.db, note.id)
            .await?
            .into_iter()
            .map(|r| RevisionInfo {
                number: r.number,
                editor: r.editor_handle,
                message: r.message,
                created_at: r.created_at,
            })
            .collect())
    }

    async fn revision_row(
        &self,
        note: &repo::NoteRow,
        number: i32,
    ) -> AppResult<repo::RevisionRow> {
        repo::revision(&self.db, note.id, number)
            .await?
            .ok_or_else(|| {
                AppError::not_found(format!("note `{}` has no revision {number}", note.slug))
            })
    }

    pub async fn revision(&self, who: &Principal, slug: &str, number: i32) -> AppResult<Revision> {
        let note = self.visible_note(who, slug).await?;
        let r = self.revision_row(&note, number).await?;
        Ok(Revision {
            kind: kind_of(&r.kind)?,
            info: RevisionInfo {
                number: r.number,
                editor: r.editor_handle,
                message: r.message,
                created_at: r.created_at,
            },
            title: r.title,
            body_md: r.body_md,
            problem: r.problem,
            solution: r.solution,
            outcome: r.outcome,
        })
    }

    pub async fn diff(
        &self,
        who: &Principal,
        slug: &str,
        from: i32,
        to: i32,
    ) -> AppResult<RevisionDiff> {
        let note = self.visible_note(who, slug).await?;
        let a = self.revision_row(&note, from).await?;
        let b = self.revision_row(&note, to).await?;
        let text = |r: &repo::RevisionRow| {
            let mut s = format!("# {}\n\n{}\n", r.title, r.body_md.trim_end());
            for (name, v) in [
                ("Problem", &r.problem),
                ("Solution", &r.solution),
                ("Outcome", &r.outcome),
            ] {
                if let Some(v) = v {
                    s.push_str(&format!("\n## {name}\n\n{}\n", v.trim_end()));
                }
            }
            s
        };
        let (ta, tb) = (text(&a), text(&b));
        let unified = similar::TextDiff::from_lines(&ta, &tb)
            .unified_diff()
            .context_radius(3)
            .header(&format!("{slug}@{from}"), &format!("{slug}@{to}"))
            .to_string();
        Ok(RevisionDiff { from, to, unified })
    }

    /// Makes revision `number` current again, as a new revision.
    pub async fn restore_revision(
        &self,
        actor: &AuthUser,
        slug: &str,
        number: i32,
    ) -> AppResult<Arc<Encoded<NoteDetail>>> {
        actor.require_write()?;
        let note = self
            .visible_note(&Principal::User(actor.clone()), slug)
            .await?;
        if !may_edit(&note, actor) {
            return Err(AppError::Forbidden(
                "only the author or an admin restores a revision".into(),
            ));
        }
        if note.status == "archived" {
            return Err(AppError::Conflict("the note is archived".into()));
        }
        let r = self.revision_row(&note, number).await?;
        let prepared = Prepared::new(
            kind_of(&r.kind)?,
            status_of(&note.status)?,
            r.title,
            r.body_md,
            r.problem,
            r.solution,
            r.outcome,
        );
        let message = format!("restored revision {number}");
        self.write_edit(
            actor.id,
            &note,
            note.version,
            &prepared,
            None,
            None,
            &message,
        )
        .await?;
        self.note(&Principal::User(actor.clone()), slug).await
    }

    pub async fn backlinks(&self, who: &Principal, slug: &str) -> AppResult<Vec<NoteListItem>> {
        let note = self.visible_note(who, slug).await?;
        let rows = repo::backlinks(&self.db, note.id).await?;
        self.list_items(rows).await
    }

    pub async fn search(&self, p: SearchParams) -> AppResult<SearchResults> {
        if p.q.chars().count() > hub::MAX_QUERY_CHARS {
            return Err(AppError::invalid(
                "q",
                format!("must be at most {} characters", hub::MAX_QUERY_CHARS),
            ));
        }
        let limit = page::limit(p.limit)?;
        let query = SearchQuery::parse(&p.q);
        if query.is_empty() {
            return Ok(SearchResults { items: Vec::new() });
        }
        let hits = repo::search(
            &self.db,
            &repo::SearchFilter {
                fts5: &query.to_fts5(),
                websearch: &query.to_websearch(),
                topic: p.topic.as_deref(),
                kind: p.kind.map(NoteKind::as_str),
                limit,
            },
        )
        .await?;
        let terms = snippet::Terms::of(&query);
        Ok(SearchResults {
            items: hits
                .into_iter()
                .map(|h| SearchHit {
                    snippet: match &h.excerpt {
                        repo::Excerpt::Marked(s) => sanitize_snippet(s),
                        repo::Excerpt::Text(t) => {
                            snippet::snippet(t, &terms, snippet::SNIPPET_WORDS)
                        }
                    },
                    slug: h.slug,
                    title: h.title,
                    score: h.score,
                })
                .collect(),
        })
    }
}

/// One edit of a note, as [`write_edit_in`] applies it.
pub(crate) struct Edit<'a> {
    /// Who the revision is credited to.
    pub editor: Uuid,
    pub note: &'a repo::NoteRow,
    pub expected: i32,
    pub prepared: &'a Prepared,
    pub topic_ids: Option<&'a [Uuid]>,
    pub tags: Option<&'a [String]>,
    pub message: &'a str,
}

/// Writes a new version and its revision, links and index inside the caller's
/// transaction, so a use case can commit the edit together with its own rows (an
/// accepted proposal). 412 when the note is no longer at `expected`.
pub(crate) async fn write_edit_in(
    tx: &mut nexus_db::DbTx,
    e: &Edit<'_>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let content = e.prepared.content();
    if !repo::update_note(&mut *tx, e.note.id, e.expected, &content, now).await? {
        return Err(stale(e.expected));
    }
    if let Some(ids) = e.topic_ids {
        repo::set_topics(&mut *tx, e.note.id, ids).await?;
    }
    if let Some(tags) = e.tags {
        repo::set_tags(&mut *tx, e.note.id, tags).await?;
    }
    let links: Vec<String> = e
        .prepared
        .rendered
        .links
        .iter()
        .filter(|s| **s != e.note.slug)
        .cloned()
        .collect();
    repo::set_links(&mut *tx, e.note.id, &links).await?;
    repo::insert_revisions(
        &mut *tx,
        &[repo::NewRevision {
            note: e.note.id,
            number: e.expected + 1,
            editor: e.editor,
            message: e.message,
            content: &content,
            now,
        }],
    )
    .await?;
    repo::index_note(
        &mut *tx,
        e.note.id,
        &e.prepared.title,
        &e.prepared.search_text,
    )
    .await
}

fn stale(current: i32) -> AppError {
    AppError::PreconditionFailed(format!(
        "the note changed since that version; fetch it again (it is at version {current}) and reapply your change"
    ))
}

/// A note's detail from its row, topics and tags.
fn detail_of(note: repo::NoteRow, topics: Vec<String>, tags: Vec<String>) -> AppResult<NoteDetail> {
    Ok(NoteDetail {
        kind: kind_of(&note.kind)?,
        status: status_of(&note.status)?,
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

/// The snippet comes from plain text with `<mark>` added by the engine; escape everything
/// else so a note's text can never become markup in a client that renders the snippet.
fn sanitize_snippet(s: &str) -> String {
    crate::mail::escape_html(s)
        .replace("&lt;mark&gt;", "<mark>")
        .replace("&lt;/mark&gt;", "</mark>")
}

/// A note checked and rendered by [`prepare_note`], ready to be stored by
/// [`Services::create_prepared_notes`].
pub struct NewNote {
    author: Uuid,
    prepared: Prepared,
    topic_ids: Vec<Uuid>,
    tags: Vec<String>,
}

/// Topic ids by slug, as [`Services::known_topics`] finds them.
pub type TopicIds = HashMap<String, Uuid>;

/// Checks and renders a note `actor` asks to create, with its topics resolved through
/// `topics`: every rule of [`Services::create_note`], and no database, so that many
/// notes can be prepared in parallel before they are written together.
pub fn prepare_note(actor: &AuthUser, input: CreateNote, topics: &TopicIds) -> AppResult<NewNote> {
    actor.require_write()?;
    actor.require_verified()?;
    let mut check = Checker::default();
    let title = check.check(bounded_text("title", &input.title, 1, 200));
    let body = check.check(bounded_text("body_md", &input.body_md, 0, 100_000));
    let topic_slugs = check_topic_list(&mut check, &input.topics);
    let tags = check_tags(&mut check, &input.tags);
    let problem = long_text(&mut check, "problem", input.problem.as_deref(), 20_000);
    let solution = long_text(&mut check, "solution", input.solution.as_deref(), 20_000);
    let outcome = long_text(&mut check, "outcome", input.outcome.as_deref(), 20_000);
    let status = input.status.unwrap_or(NoteStatus::Published);
    if status == NoteStatus::Archived {
        check.push(FieldError::new(
            "status",
            "a new note is a draft or published",
        ));
    }
    let topic_ids = resolve_topics(&mut check, &topic_slugs, topics);
    let (Some(title), Some(body)) = (title, body) else {
        return Err(check
            .finish()
            .err()
            .unwrap_or_else(|| AppError::invalid("title", "is required")));
    };
    let prepared = Prepared::new(input.kind, status, title, body, problem, solution, outcome);
    challenge_fields_required(&mut check, &prepared);
    check.finish()?;
    Ok(NewNote {
        author: actor.id,
        prepared,
        topic_ids,
        tags,
    })
}

/// Stores new notes inside the caller's transaction: slug, row, topics, tags, links (and
/// links from earlier notes that were waiting for these slugs), first revision and
/// search entry. The one place a note is created, for one note or thousands.
async fn write_new_notes_in(
    tx: &mut nexus_db::DbTx,
    notes: &[NewNote],
    now: DateTime<Utc>,
) -> AppResult<(Vec<Uuid>, Vec<String>)> {
    let ids: Vec<Uuid> = notes.iter().map(|_| Uuid::now_v7()).collect();
    let titles: Vec<(&str, Uuid)> = notes
        .iter()
        .zip(&ids)
        .map(|(n, id)| (n.prepared.title.as_str(), *id))
        .collect();
    let slugs = unique_slugs(tx, &titles).await?;
    let rows: Vec<repo::NewNoteRow<'_>> = notes
        .iter()
        .zip(&ids)
        .zip(&slugs)
        .map(|((n, id), slug)| repo::NewNoteRow {
            id: *id,
            slug,
            author: n.author,
            content: n.prepared.content(),
        })
        .collect();
    repo::insert_notes(&mut *tx, &rows, now).await?;
    let mut topics = Vec::new();
    let mut tags = Vec::new();
    let mut links = Vec::new();
    for ((n, id), slug) in notes.iter().zip(&ids).zip(&slugs) {
        topics.extend(n.topic_ids.iter().map(|t| (*id, *t)));
        tags.extend(n.tags.iter().map(|t| (*id, t.as_str())));
        links.extend(
            n.prepared
                .rendered
                .links
                .iter()
                .filter(|target| *target != slug)
                .map(|target| (*id, target.as_str())),
        );
    }
    repo::insert_topics(&mut *tx, &topics).await?;
    repo::insert_tags(&mut *tx, &tags).await?;
    repo::insert_links(&mut *tx, &links).await?;
    let slug_refs: Vec<&str> = slugs.iter().map(String::as_str).collect();
    repo::resolve_links_to(&mut *tx, &slug_refs).await?;
    let revisions: Vec<repo::NewRevision<'_>> = rows
        .iter()
        .map(|row| repo::NewRevision {
            note: row.id,
            number: 1,
            editor: row.author,
            message: "created",
            content: &row.content,
            now,
        })
        .collect();
    repo::insert_revisions(&mut *tx, &revisions).await?;
    let entries: Vec<(Uuid, &str, &str)> = notes
        .iter()
        .zip(&ids)
        .map(|(n, id)| {
            (
                *id,
                n.prepared.title.as_str(),
                n.prepared.search_text.as_str(),
            )
        })
        .collect();
    repo::index_new_notes(&mut *tx, &entries).await?;
    Ok((ids, slugs))
}

/// Each title's slug ([`hub::note_slug`]); when a stored note or an earlier one of the
/// same batch has it, the slug with `-2` … `-9`, or with a piece of the id when all of
/// those are taken too. One query for the whole batch, plus one per clashing title.
async fn unique_slugs(tx: &mut nexus_db::DbTx, notes: &[(&str, Uuid)]) -> AppResult<Vec<String>> {
    let bases: Vec<String> = notes
        .iter()
        .map(|(title, _)| hub::note_slug(title))
        .collect();
    let mut checked: HashSet<String> = bases.iter().cloned().collect();
    let mut taken = repo::slugs_taken(&mut *tx, &bases).await?;
    let mut slugs = Vec::with_capacity(notes.len());
    for (base, (_, id)) in bases.iter().zip(notes) {
        let candidates: Vec<String> = std::iter::once(base.clone())
            .chain((2..=9).map(|n| format!("{base}-{n}")))
            .collect();
        let unchecked: Vec<String> = candidates
            .iter()
            .filter(|c| !checked.contains(*c))
            .cloned()
            .collect();
        if taken.contains(base) && !unchecked.is_empty() {
            taken.extend(repo::slugs_taken(&mut *tx, &unchecked).await?);
            checked.extend(unchecked);
        }
        let slug = match candidates.into_iter().find(|c| !taken.contains(c)) {
            Some(free) => free,
            None => {
                let simple = id.simple().to_string();
                format!("{base}-{}", &simple[simple.len() - 8..])
            }
        };
        taken.insert(slug.clone());
        slugs.push(slug);
    }
    Ok(slugs)
}
