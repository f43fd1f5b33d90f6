//! How notes are written: the one path that creates notes (one through the API, or
//! thousands from `nexus seed`) and the one path that edits them (an edit, a restored
//! revision, an accepted proposal). Every row a note has — slug, topics, tags, links,
//! revision, search entry — is written here and nowhere else.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use nexus_core::hub::{self, NoteKind, NoteStatus};
use nexus_core::{AppError, error::AppResult};
use nexus_db::hub as repo;
use uuid::Uuid;

use super::cache;
use super::events::HubEvent;
use crate::Services;

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
            kind: self.kind,
            status: self.status,
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

impl<'a> Edit<'a> {
    /// A change of content alone (topics and tags stay), against the version `note` is
    /// at, credited to `editor`.
    pub(crate) fn content(
        editor: Uuid,
        note: &'a repo::NoteRow,
        prepared: &'a Prepared,
        message: &'a str,
    ) -> Edit<'a> {
        Edit {
            editor,
            note,
            expected: note.version,
            prepared,
            topic_ids: None,
            tags: None,
            message,
        }
    }
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

pub(super) fn stale(current: i32) -> AppError {
    AppError::PreconditionFailed(format!(
        "the note changed since that version; fetch it again (it is at version {current}) and reapply your change"
    ))
}

/// Writes a new version and its revision, links and index in one transaction, with the
/// `note.published` event when a draft becomes published.
pub(super) async fn write_edit(services: &Services, edit: &Edit<'_>) -> AppResult<()> {
    let mut tx = services.db.begin().await?;
    write_edit_in(&mut tx, edit, services.clock.now()).await?;
    let note = edit.note;
    if note.status != NoteStatus::Published && edit.prepared.status == NoteStatus::Published {
        let event = HubEvent::NotePublished {
            note: note.id,
            slug: note.slug.clone(),
            author: note.author_id,
        };
        services.queue.emit(&mut tx, &event).await?;
    }
    tx.commit().await?;
    services.queue.wake();
    cache::of(services).note_changed(&note.slug).await;
    Ok(())
}

/// A note checked and rendered by [`super::Notes::prepare`], ready to be stored by
/// [`super::Notes::create_prepared`].
pub struct NewNote {
    pub(super) author: Uuid,
    pub(super) prepared: Prepared,
    pub(super) topic_ids: Vec<Uuid>,
    pub(super) tags: Vec<String>,
}

/// Topic ids by slug, as [`super::Notes::known_topics`] finds them.
pub type TopicIds = HashMap<String, Uuid>;

/// Stores new notes in one transaction (all or none). With `announce`, each published
/// note also records a `note.published` event in the same transaction (the API path).
/// The seed does not announce: a generated data set is not news, and 100,000 events would
/// keep the workers busy for minutes.
pub(super) async fn store_new_notes(
    services: &Services,
    notes: &[NewNote],
    announce: bool,
) -> AppResult<Vec<String>> {
    let mut tx = services.db.begin().await?;
    let (ids, slugs) = write_new_notes_in(&mut tx, notes, services.clock.now()).await?;
    if announce {
        for ((note, id), slug) in notes.iter().zip(&ids).zip(&slugs) {
            if note.prepared.status == NoteStatus::Published {
                let event = HubEvent::NotePublished {
                    note: *id,
                    slug: slug.clone(),
                    author: note.author,
                };
                services.queue.emit(&mut tx, &event).await?;
            }
        }
    }
    // Under an Idempotency-Key the slugs are the request's recorded result.
    let slugs = services.commit(tx, slugs).await?;
    if announce {
        services.queue.wake();
    }
    // A new slug was never cached; only first pages can now be out of date.
    cache::of(services).first_pages_changed().await;
    Ok(slugs)
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
