//! Notes: create (one, or prepared in bulk), read (cached, or fresh from the database),
//! edit, archive, list, and the notes that link to one.

use std::collections::HashMap;
use std::sync::Arc;

use nexus_core::hub::{self, NoteStatus};
use nexus_core::identity::Checker;
use nexus_core::{AppError, error::AppResult};
use nexus_db::Db;
use nexus_db::hub as repo;
use uuid::Uuid;

use super::access::{self, may_see, not_found, user};
use super::cache::{self, CachedNote, NoteCache};
use super::model::{
    CreateNote, NoteListItem, NoteQuery, NoteSort, UpdateNote, detail_of, list_item_of,
};
use super::rules;
use super::store::{self, Edit, NewNote, Prepared, TopicIds, stale};
use crate::actor::{AuthUser, Principal};
use crate::encoded::Encoded;
use crate::page::{self, Page};
use crate::safety::OpClass;

use_case_group! {
    /// Notes: [`super::Hub::notes`].
    Notes
}

impl Notes<'_> {
    /// A note as the caller may see it (`GET /notes/{slug}`, and every other transport's
    /// read of one note). Published notes look the same to everyone, so they come from the
    /// read cache; drafts and archived notes always come from the database.
    pub async fn get(&self, who: &Principal, slug: &str) -> AppResult<CachedNote> {
        self.charge(OpClass::Read).await?;
        if let Some(hit) = cache::of(self).note(slug).await {
            return Ok(hit);
        }
        self.fresh(who, slug).await
    }

    /// A note as the caller may see it, read from the database past the cache (the answer
    /// to a write must show the write), and cached again if published.
    pub(crate) async fn fresh(&self, who: &Principal, slug: &str) -> AppResult<CachedNote> {
        let row = if hub::is_slug(slug) {
            repo::note_detail_by_slug(&self.db, slug).await?
        } else {
            None
        };
        let row = row
            .filter(|r| may_see(&r.note, who))
            .ok_or_else(|| not_found(slug))?;
        let detail = detail_of(row.note, row.topics, row.tags)?;
        if detail.status == NoteStatus::Published {
            return cache::of(self).put_note(detail).await;
        }
        Ok(Arc::new(Encoded::new(detail)))
    }

    pub async fn create(&self, actor: &AuthUser, input: CreateNote) -> AppResult<CachedNote> {
        self.charge(OpClass::Write).await?;
        // A retry whose first attempt committed answers with the note it made.
        let slugs = match self.committed_before::<Vec<String>>()? {
            Some(slugs) => slugs,
            None => {
                actor.require_write()?;
                actor.require_verified()?;
                let topics = self
                    .known_topics(&rules::normalize_topics(&input.topics))
                    .await?;
                let note = self.prepare(actor, input, &topics)?;
                store::store_new_notes(self, std::slice::from_ref(&note), true).await?
            }
        };
        let slug = slugs
            .into_iter()
            .next()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a created note has no slug")))?;
        self.fresh(&user(actor), &slug).await
    }

    /// Topic ids by slug for those of `slugs` that exist, for [`Notes::prepare`].
    pub async fn known_topics(&self, slugs: &[String]) -> AppResult<TopicIds> {
        Ok(repo::topic_ids(&self.db, slugs)
            .await?
            .into_iter()
            .map(|(id, slug)| (slug, id))
            .collect())
    }

    /// Checks and renders a note `actor` asks to create, with its topics resolved through
    /// `topics`: every rule of [`Notes::create`], and no database, so that many
    /// notes can be prepared in parallel before they are written together.
    pub fn prepare(
        &self,
        actor: &AuthUser,
        input: CreateNote,
        topics: &TopicIds,
    ) -> AppResult<NewNote> {
        actor.require_write()?;
        actor.require_verified()?;
        let mut check = Checker::default();
        let title = check.check(rules::note_title(&input.title));
        let body = check.check(rules::body(&input.body_md));
        let topic_slugs = rules::topic_list(&mut check, &input.topics);
        let tags = rules::tags(&mut check, &input.tags);
        let problem = rules::challenge_field(&mut check, "problem", input.problem.as_deref());
        let solution = rules::challenge_field(&mut check, "solution", input.solution.as_deref());
        let outcome = rules::challenge_field(&mut check, "outcome", input.outcome.as_deref());
        let status = rules::new_status(&mut check, input.status);
        let topic_ids = rules::resolve_topics(&mut check, &topic_slugs, topics);
        let (Some(title), Some(body)) = (title, body) else {
            return Err(check
                .finish()
                .err()
                .unwrap_or_else(|| AppError::invalid("title", "is required")));
        };
        rules::challenge_complete(&mut check, input.kind, [&problem, &solution, &outcome]);
        let prepared = Prepared::new(input.kind, status, title, body, problem, solution, outcome);
        check.finish()?;
        Ok(NewNote {
            author: actor.id,
            prepared,
            topic_ids,
            tags,
        })
    }

    /// Stores notes made by [`Notes::prepare`] in one transaction (all or none), each
    /// exactly as [`Notes::create`] stores one — it is the same code — with many
    /// rows per statement. Returns their slugs in order. This is the bulk path of
    /// `nexus seed`: callers prepare notes in parallel and write them in batches.
    pub async fn create_prepared(&self, notes: &[NewNote]) -> AppResult<Vec<String>> {
        store::store_new_notes(self, notes, false).await
    }

    /// Applies a partial change if `expected_version` is current: 428 without a version,
    /// 412 when someone else changed the note first.
    pub async fn update(
        &self,
        actor: &AuthUser,
        slug: &str,
        expected_version: Option<i32>,
        input: UpdateNote,
    ) -> AppResult<CachedNote> {
        self.charge(OpClass::Write).await?;
        actor.require_write()?;
        let note = access::editable_note(
            self,
            actor,
            slug,
            "only the author or an admin edits a note; propose a change instead",
        )
        .await?;
        let mut check = Checker::default();
        let title = check.check_or_keep(input.title.as_deref(), rules::note_title, &note.title);
        let body = check.check_or_keep(input.body_md.as_deref(), rules::body, &note.body_md);
        let topics = input
            .topics
            .as_ref()
            .map(|t| rules::topic_list(&mut check, t));
        let tags = input.tags.as_ref().map(|t| rules::tags(&mut check, t));
        let keep = |new: &Option<String>,
                    old: &Option<String>,
                    check: &mut Checker,
                    field: &str| match new {
            Some(v) => rules::challenge_field(check, field, Some(v)),
            None => old.clone(),
        };
        let problem = keep(&input.problem, &note.problem, &mut check, "problem");
        let solution = keep(&input.solution, &note.solution, &mut check, "solution");
        let outcome = keep(&input.outcome, &note.outcome, &mut check, "outcome");
        let message = check.check(rules::message(input.message.as_deref().unwrap_or("edited")));
        rules::edit_status(&mut check, input.status);
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
            None => note.kind,
        };
        let status = match input.status {
            Some(s) => s,
            None => note.status,
        };
        check.finish()?;
        // The input is judged before the version it names: an invalid change is 422
        // whatever If-Match says, and only a valid one can be stale. What the change
        // means for the note as it is now (a challenge's fields, its status) is judged
        // against the version named, once it is known to be current.
        let expected = expected_version.ok_or_else(|| {
            AppError::PreconditionRequired(
                "a change must name the version of the note it starts from".into(),
            )
        })?;
        if expected != note.version {
            return Err(stale(note.version));
        }
        if note.status == NoteStatus::Archived {
            return Err(AppError::Conflict("the note is archived".into()));
        }
        rules::no_return_to_draft(note.status, input.status)?;
        let mut check = Checker::default();
        rules::challenge_complete(&mut check, kind, [&problem, &solution, &outcome]);
        check.finish()?;
        let prepared = Prepared::new(kind, status, title, body, problem, solution, outcome);
        let edit = Edit {
            editor: actor.id,
            note: &note,
            expected,
            prepared: &prepared,
            topic_ids: topic_ids.as_deref(),
            tags: tags.as_deref(),
            message: &message,
        };
        store::write_edit(self, &edit).await?;
        self.fresh(&user(actor), slug).await
    }

    /// Resolves topic slugs to ids; unknown ones are field errors.
    async fn topic_ids(&self, check: &mut Checker, slugs: &[String]) -> AppResult<Vec<Uuid>> {
        let known = self.known_topics(slugs).await?;
        Ok(rules::resolve_topics(check, slugs, &known))
    }

    /// Archives a note (author or admin): it leaves lists and search.
    pub async fn archive(&self, actor: &AuthUser, slug: &str) -> AppResult<()> {
        self.charge(OpClass::Write).await?;
        actor.require_write()?;
        let note = access::editable_note(
            self,
            actor,
            slug,
            "only the author or an admin archives a note",
        )
        .await?;
        if note.status == NoteStatus::Archived {
            return Ok(());
        }
        let mut tx = self.db.begin().await?;
        repo::set_status(&mut tx, note.id, "archived", self.clock.now()).await?;
        tx.commit().await?;
        cache::of(self).note_changed(&note.slug).await;
        Ok(())
    }

    pub async fn list(
        &self,
        who: &Principal,
        q: NoteQuery,
    ) -> AppResult<Arc<Encoded<Page<NoteListItem>>>> {
        self.charge(OpClass::Read).await?;
        let limit = page::limit(q.limit)?;
        let cacheable = q.cursor.is_none()
            && q.kind.is_none()
            && q.author.is_none()
            && q.tag.is_none()
            && q.sort == NoteSort::Newest
            && q.status.is_none_or(|s| s == NoteStatus::Published);
        let key = cacheable.then(|| NoteCache::first_page_key(q.topic.as_deref(), limit));
        if let Some(key) = &key
            && let Some(hit) = cache::of(self).first_page(key).await
        {
            return Ok(hit);
        }
        let page = Arc::new(Encoded::new(self.list_uncached(who, q, limit).await?));
        if let Some(key) = key {
            cache::of(self).put_first_page(key, page.clone()).await;
        }
        Ok(page)
    }

    async fn list_uncached(
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
        // One cursor shape for both orders, so that any cursor the document allows is valid
        // for either: the newest-first order reads only its id.
        let after = page::decode_time_cursor(q.cursor.as_deref())?.map(|(at, id)| {
            let at = (q.sort == NoteSort::Updated).then_some(at);
            (at, id)
        });
        let rows = repo::list_notes(
            &self.db,
            &repo::NoteFilter {
                status,
                topic: q.topic.as_deref(),
                kind: q.kind,
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
            (true, Some(last)) => Some(page::encode_time_cursor(last.updated_at, last.id)),
            _ => None,
        };
        Ok(Page {
            items: list_items(&self.db, rows).await?,
            next_cursor,
        })
    }

    /// Published notes that link to this one.
    pub async fn backlinks(&self, who: &Principal, slug: &str) -> AppResult<Vec<NoteListItem>> {
        self.charge(OpClass::Read).await?;
        let note = access::visible_note(self, who, slug).await?;
        let rows = repo::backlinks(&self.db, note.id).await?;
        list_items(&self.db, rows).await
    }
}

/// Notes as a list shows them, each with its topics (one query for all of them).
pub(crate) async fn list_items(db: &Db, rows: Vec<repo::NoteRow>) -> AppResult<Vec<NoteListItem>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let topics = repo::topics_of(db, &ids).await?;
    let mut by_note: HashMap<Uuid, Vec<String>> = HashMap::new();
    for (id, slug) in topics {
        by_note.entry(id).or_default().push(slug);
    }
    rows.into_iter()
        .map(|n| {
            let topics = by_note.remove(&n.id).unwrap_or_default();
            list_item_of(n, topics)
        })
        .collect()
}
