//! What a reader keeps track of: followed topics, bookmarked notes, and the feed of new
//! notes in the followed topics.

use nexus_core::error::AppResult;
use nexus_core::hub;
use nexus_db::discussion as repo;
use nexus_db::hub as notes;
use uuid::Uuid;

use super::model::Bookmark;
use crate::actor::AuthUser;
use crate::hub::access::{self, user};
use crate::hub::model::{NoteListItem, Topic, topic_view};
use crate::hub::notes::list_items;
use crate::hub::topics::topic_row;
use crate::page::{Page, PageRequest};
use crate::safety::OpClass;

use_case_group! {
    /// Followed topics: [`crate::hub::Hub::follows`].
    Follows
}

use_case_group! {
    /// Bookmarked notes: [`crate::hub::Hub::bookmarks`].
    Bookmarks
}

use_case_group! {
    /// The feed of the followed topics: [`crate::hub::Hub::feed`].
    Feed
}

impl Follows<'_> {
    pub async fn follow_topic(&self, actor: &AuthUser, slug: &str) -> AppResult<()> {
        self.charge(OpClass::Write).await?;
        actor.require_write()?;
        let topic = topic_row(&self.db, slug).await?.id;
        repo::follow(&self.db, actor.id, topic, self.clock.now()).await
    }

    pub async fn unfollow_topic(&self, actor: &AuthUser, slug: &str) -> AppResult<()> {
        self.charge(OpClass::Write).await?;
        actor.require_write()?;
        let topic = topic_row(&self.db, slug).await?.id;
        repo::unfollow(&self.db, actor.id, topic).await
    }

    /// The topics the caller follows.
    pub async fn topics(&self, actor: &AuthUser) -> AppResult<Vec<Topic>> {
        self.charge(OpClass::Read).await?;
        Ok(repo::followed_topics(&self.db, actor.id)
            .await?
            .into_iter()
            .map(topic_view)
            .collect())
    }
}

impl Feed<'_> {
    /// Published notes in the caller's followed topics, newest first.
    pub async fn list(
        &self,
        actor: &AuthUser,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<NoteListItem>> {
        self.charge(OpClass::Read).await?;
        let want = PageRequest::new(limit, cursor)?;
        let rows = repo::feed(&self.db, actor.id, want.after, want.fetch()).await?;
        let (rows, next_cursor) = want.split(rows, |n| n.id);
        Ok(Page {
            items: list_items(&self.db, rows).await?,
            next_cursor,
        })
    }
}

impl Bookmarks<'_> {
    pub async fn add(&self, actor: &AuthUser, slug: &str) -> AppResult<()> {
        self.charge(OpClass::Write).await?;
        actor.require_write()?;
        let note = access::visible_note(self, &user(actor), slug).await?;
        repo::bookmark(
            &self.db,
            Uuid::now_v7(),
            actor.id,
            note.id,
            self.clock.now(),
        )
        .await
    }

    /// Removes a bookmark. Succeeds whatever the slug names, so the answer tells nothing
    /// about notes the caller cannot see, and a bookmark on a note archived since can
    /// still be removed.
    pub async fn remove(&self, actor: &AuthUser, slug: &str) -> AppResult<()> {
        self.charge(OpClass::Write).await?;
        actor.require_write()?;
        if !hub::is_slug(slug) {
            return Ok(());
        }
        let Some(note) = notes::note_by_slug(&self.db, slug).await? else {
            return Ok(());
        };
        repo::unbookmark(&self.db, actor.id, note.id).await
    }

    /// The caller's bookmarks, newest bookmark first.
    pub async fn list(
        &self,
        actor: &AuthUser,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<Bookmark>> {
        self.charge(OpClass::Read).await?;
        let want = PageRequest::new(limit, cursor)?;
        let rows = repo::bookmarks(&self.db, actor.id, want.after, want.fetch()).await?;
        let (rows, next_cursor) = want.split(rows, |b| b.bookmark_id);
        let (times, note_rows): (Vec<_>, Vec<_>) =
            rows.into_iter().map(|b| (b.bookmarked_at, b.note)).unzip();
        let items = times
            .into_iter()
            .zip(list_items(&self.db, note_rows).await?)
            .map(|(bookmarked_at, note)| Bookmark {
                bookmarked_at,
                note,
            })
            .collect();
        Ok(Page { items, next_cursor })
    }
}
