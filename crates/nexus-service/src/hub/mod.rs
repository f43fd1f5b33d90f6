//! The knowledge hub: topics, notes, revisions, cross-references and search, and the
//! [`discussion`] around notes.
//!
//! Visibility: a published note is public; a draft is its author's alone; an archived note
//! is its author's and admins'. Anyone else asking for a hidden note gets 404, the same as
//! for a missing one. Only the author (or an admin) edits a note, and every edit names the
//! version it starts from (`If-Match`), so concurrent edits never overwrite each other.
//!
//! # Layout
//! Callers reach the domain through its facade, [`Hub`] (from [`Services::hub`]), one
//! group of use cases per accessor:
//! - [`topics`] ([`Hub::topics`]): list, read, create and change topics; related topics.
//! - [`notes`] ([`Hub::notes`]): create (one, or prepared in bulk for `nexus seed`), the
//!   cached answer and the fresh read, edit, archive, list, backlinks.
//! - [`revisions`] ([`Hub::revisions`]): history, one revision, diff, restore.
//! - [`search`] ([`Hub::search`]): full-text search, with [`snippet`] cutting the
//!   highlighted excerpts.
//! - [`discussion`]: [`Hub::comments`], [`Hub::proposals`], [`Hub::reports`],
//!   [`Hub::follows`], [`Hub::bookmarks`] and [`Hub::feed`], a file per concern.
//!
//! Beside the groups: [`model`] (request and response types, re-exported here), [`rules`]
//! (validation, each rule written once), `access` (who may see and change a note, and
//! the lookups that apply it), `store` (the one write path of a note, for creation and
//! for edits), and what the domain registers: [`events`], [`notifications`] (its job
//! kinds) and [`cache`] (its read caches).
//!
//! A new hub use case goes in the file of its group; a new group is a new file and one
//! accessor on the facade.

mod access;
pub mod cache;
pub mod discussion;
pub mod events;
pub mod model;
pub mod notes;
pub mod notifications;
pub mod revisions;
pub mod rules;
pub mod search;
pub mod snippet;
mod store;
pub mod topics;

pub use discussion::{Bookmarks, Comments, Feed, Follows, Proposals, Reports};
pub use model::{
    Author, CreateNote, CreateTopic, NoteDetail, NoteListItem, NoteQuery, NoteSort, RelatedTopic,
    Revision, RevisionDiff, RevisionInfo, SearchHit, SearchParams, SearchResults, Topic,
    UpdateNote, UpdateTopic,
};
pub use notes::Notes;
pub use revisions::Revisions;
pub use search::Search;
pub use store::{NewNote, TopicIds};
pub use topics::Topics;

use crate::Services;

/// The hub domain's facade: [`Services::hub`] returns it, and each group of use
/// cases hangs off it.
#[derive(Clone, Copy)]
pub struct Hub<'a> {
    services: &'a Services,
}

impl<'a> Hub<'a> {
    pub(crate) fn new(services: &'a Services) -> Self {
        Hub { services }
    }

    pub fn services(&self) -> &'a Services {
        self.services
    }

    /// Topics: list, read, create and change (admins), related topics.
    pub fn topics(&self) -> Topics<'a> {
        Topics(self.services)
    }

    /// Notes: create, read, edit, archive, list, backlinks, and the bulk path.
    pub fn notes(&self) -> Notes<'a> {
        Notes(self.services)
    }

    /// A note's history: revisions, diff, restore.
    pub fn revisions(&self) -> Revisions<'a> {
        Revisions(self.services)
    }

    /// Full-text search over published notes.
    pub fn search(&self) -> Search<'a> {
        Search(self.services)
    }

    /// Comments on notes.
    pub fn comments(&self) -> Comments<'a> {
        Comments(self.services)
    }

    /// Edit proposals on other people's notes.
    pub fn proposals(&self) -> Proposals<'a> {
        Proposals(self.services)
    }

    /// Inaccuracy reports and their moderation.
    pub fn reports(&self) -> Reports<'a> {
        Reports(self.services)
    }

    /// The topics the caller follows.
    pub fn follows(&self) -> Follows<'a> {
        Follows(self.services)
    }

    /// The caller's bookmarked notes.
    pub fn bookmarks(&self) -> Bookmarks<'a> {
        Bookmarks(self.services)
    }

    /// New notes in the topics the caller follows.
    pub fn feed(&self) -> Feed<'a> {
        Feed(self.services)
    }
}
