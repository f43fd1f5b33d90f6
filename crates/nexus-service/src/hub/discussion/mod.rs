//! Discussion around notes: comments, edit proposals, inaccuracy reports, followed topics,
//! bookmarks and the feed.
//!
//! Everything here hangs off a note and follows its visibility: what the caller may not see
//! is 404, as a missing note is. New comments, proposals and reports go to published notes
//! only, so a draft stays private even from someone who guessed its slug.
//!
//! An accepted proposal becomes a note revision through the same path as an edit
//! (`write_edit_in` in the hub's `store`), credited to the proposer, in one transaction
//! with the proposal's decision.
//!
//! # Layout
//! Each group is reached from the hub's facade ([`super::Hub`]): [`comments`]
//! ([`super::Hub::comments`]), [`proposals`] ([`super::Hub::proposals`]), [`reports`]
//! ([`super::Hub::reports`]) and [`follows`] (followed topics, bookmarks and the feed:
//! [`super::Hub::follows`], [`super::Hub::bookmarks`], [`super::Hub::feed`]). [`model`]
//! holds the request and response types, re-exported here; the rules for what they carry
//! are the hub's ([`super::rules`]).

pub mod comments;
pub mod follows;
pub mod model;
pub mod proposals;
pub mod reports;

pub use comments::Comments;
pub use follows::{Bookmarks, Feed, Follows};
pub use model::{
    Bookmark, Comment, CreateComment, CreateProposal, CreateReport, Proposal, ProposalStatus,
    RejectProposal, Report, ReportStatus, ReportedNote, ResolveReport, UpdateComment,
};
pub use proposals::Proposals;
pub use reports::Reports;
