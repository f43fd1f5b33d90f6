//! Comments on notes: threads one level deep, edited by their author, deleted (in place)
//! by their author or an admin.

use std::collections::HashMap;

use nexus_core::hub;
use nexus_core::identity::Role;
use nexus_core::{AppError, error::AppResult};
use nexus_db::discussion as repo;
use uuid::Uuid;

use super::model::{Comment, CreateComment, UpdateComment, comment_view};
use crate::actor::{AuthUser, Principal};
use crate::hub::access::{self, user};
use crate::hub::events::HubEvent;
use crate::hub::rules;
use crate::page::{Page, PageRequest};
use crate::safety::OpClass;

use_case_group! {
    /// Comments: [`crate::hub::Hub::comments`].
    Comments
}

impl Comments<'_> {
    /// Threads of a note, oldest first, each with all its replies.
    pub async fn list(
        &self,
        who: &Principal,
        slug: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<Comment>> {
        self.charge(OpClass::Read).await?;
        let want = PageRequest::new(limit, cursor)?;
        let note = access::visible_note(self, who, slug).await?;
        let rows = repo::threads(&self.db, note.id, want.after, want.fetch()).await?;
        let (rows, next_cursor) = want.split(rows, |c| c.id);
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
    async fn visible(&self, actor: &AuthUser, id: Uuid) -> AppResult<repo::CommentRow> {
        let missing = || AppError::not_found(format!("no comment {id}"));
        let comment = repo::comment_by_id(&self.db, id)
            .await?
            .ok_or_else(missing)?;
        let slug = comment.note_slug.clone();
        access::on_visible_note(self, &user(actor), &slug, comment, missing).await
    }

    pub async fn create(
        &self,
        actor: &AuthUser,
        slug: &str,
        input: CreateComment,
    ) -> AppResult<Comment> {
        self.charge(OpClass::Write).await?;
        // A retry whose first attempt committed answers with what it made.
        if let Some(id) = self.committed_before::<Uuid>()? {
            return self.get(actor, id).await;
        }
        actor.require_write()?;
        actor.require_verified()?;
        let note = access::published_note(self, &user(actor), slug).await?;
        let body = rules::comment_body(&input.body_md)?;
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
                now: self.clock.now(),
            },
        )
        .await?;
        let event = HubEvent::CommentCreated {
            comment: id,
            note: note.id,
            author: actor.id,
        };
        let id = self.commit_with_event(tx, &event, id).await?;
        self.get(actor, id).await
    }

    async fn get(&self, actor: &AuthUser, id: Uuid) -> AppResult<Comment> {
        let c = self.visible(actor, id).await?;
        Ok(comment_view(c, Vec::new()))
    }

    /// Changes a comment's text (its author only).
    pub async fn update(
        &self,
        actor: &AuthUser,
        id: Uuid,
        input: UpdateComment,
    ) -> AppResult<Comment> {
        self.charge(OpClass::Write).await?;
        actor.require_write()?;
        actor.require_verified()?;
        let comment = self.visible(actor, id).await?;
        if comment.author_id != actor.id {
            return Err(AppError::Forbidden(
                "only its author edits a comment".into(),
            ));
        }
        let body = rules::comment_body(&input.body_md)?;
        let rendered = hub::render_markdown(&body);
        if !repo::update_comment(&self.db, id, &body, &rendered.html, self.clock.now()).await? {
            return Err(AppError::Conflict("the comment was deleted".into()));
        }
        self.get(actor, id).await
    }

    /// Deletes a comment (its author or an admin), keeping its place in the thread.
    pub async fn delete(&self, actor: &AuthUser, id: Uuid) -> AppResult<()> {
        self.charge(OpClass::Write).await?;
        actor.require_write()?;
        let comment = self.visible(actor, id).await?;
        if comment.author_id != actor.id && actor.role != Role::Admin {
            return Err(AppError::Forbidden(
                "only its author or an admin deletes a comment".into(),
            ));
        }
        repo::soft_delete_comment(&self.db, id, self.clock.now()).await
    }
}
