//! Edit proposals: a suggested change to someone else's note, accepted (it becomes a
//! revision, credited to the proposer) or rejected by a reviewer of the note.

use nexus_core::hub::{NoteStatus, ProposalStatus};
use nexus_core::identity::Checker;
use nexus_core::{AppError, FieldError, error::AppResult};
use nexus_db::DbTx;
use nexus_db::discussion as repo;
use nexus_db::hub as notes;
use uuid::Uuid;

use super::model::{CreateProposal, Proposal, RejectProposal, proposal_view};
use crate::actor::AuthUser;
use crate::hub::access::{self, may_review, user};
use crate::hub::cache;
use crate::hub::events::HubEvent;
use crate::hub::rules;
use crate::hub::store::{Edit, Prepared, write_edit_in};
use crate::page::{Page, PageRequest};
use crate::safety::OpClass;

use_case_group! {
    /// Edit proposals: [`crate::hub::Hub::proposals`].
    Proposals
}

impl Proposals<'_> {
    pub async fn create(
        &self,
        actor: &AuthUser,
        slug: &str,
        input: CreateProposal,
    ) -> AppResult<Proposal> {
        self.charge(OpClass::Write).await?;
        // A retry whose first attempt committed answers with what it made.
        if let Some(id) = self.committed_before::<Uuid>()? {
            return self.get(actor, id).await;
        }
        actor.require_write()?;
        actor.require_verified()?;
        let note = access::published_note(self, &user(actor), slug).await?;
        if note.author_id == actor.id {
            return Err(AppError::Forbidden(
                "this is your note: edit it instead of proposing a change".into(),
            ));
        }
        let mut check = Checker::default();
        check.check(rules::base_version(input.base_version));
        let title = check.check_or_keep(input.title.as_deref(), rules::note_title, &note.title);
        let body = check.check_or_keep(input.body_md.as_deref(), rules::body, &note.body_md);
        let message = check.check(rules::message(&input.message));
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
                now: self.clock.now(),
            },
        )
        .await?;
        let event = HubEvent::ProposalCreated {
            proposal: id,
            note: note.id,
            proposer: actor.id,
        };
        let id = self.commit_with_event(tx, &event, id).await?;
        self.get(actor, id).await
    }

    /// Proposals on a note, newest first: all of them for its author, mentors and admins;
    /// the caller's own for anyone else.
    pub async fn list(
        &self,
        actor: &AuthUser,
        slug: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<Proposal>> {
        self.charge(OpClass::Read).await?;
        let want = PageRequest::new(limit, cursor)?;
        let note = access::visible_note(self, &user(actor), slug).await?;
        let only = (!may_review(note.author_id, actor)).then_some(actor.id);
        let rows = repo::list_proposals(&self.db, note.id, only, want.after, want.fetch()).await?;
        Ok(want.page(rows, |p| p.id, proposal_view))
    }

    /// A proposal the caller may see (its proposer, or a reviewer of its note), or 404.
    async fn visible(&self, actor: &AuthUser, id: Uuid) -> AppResult<repo::ProposalRow> {
        let missing = || AppError::not_found(format!("no proposal {id}"));
        let p = repo::proposal_by_id(&self.db, id)
            .await?
            .filter(|p| p.proposer_id == actor.id || may_review(p.note_author_id, actor))
            .ok_or_else(missing)?;
        let slug = p.note_slug.clone();
        access::on_visible_note(self, &user(actor), &slug, p, missing).await
    }

    async fn get(&self, actor: &AuthUser, id: Uuid) -> AppResult<Proposal> {
        Ok(proposal_view(self.visible(actor, id).await?))
    }

    /// Merges a proposal into a new revision of its note, credited to the proposer. 409
    /// when the note moved on since the proposal's base version; the proposal stays open.
    pub async fn accept(&self, actor: &AuthUser, id: Uuid) -> AppResult<Proposal> {
        self.charge(OpClass::Write).await?;
        actor.require_write()?;
        let p = self.visible(actor, id).await?;
        decidable(actor, &p)?;
        let note = access::visible_note(self, &user(actor), &p.note_slug).await?;
        if note.status != NoteStatus::Published {
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
            note.kind,
            note.status,
            p.title.clone(),
            p.body_md.clone(),
            note.problem.clone(),
            note.solution.clone(),
            note.outcome.clone(),
        );
        let message = format!("{} (proposal accepted by {})", p.message, actor.handle);
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        let edit = Edit::content(p.proposer_id, &note, &prepared, &message);
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
            status: ProposalStatus::Accepted,
            by: actor.id,
            reason: None,
            revision: Some(note.version + 1),
            now,
        };
        self.decide(tx, &p, &decision).await?;
        // The note changed: cached answers showing it must go, as for any edit.
        cache::of(self).note_changed(&note.slug).await;
        self.get(actor, id).await
    }

    pub async fn reject(
        &self,
        actor: &AuthUser,
        id: Uuid,
        input: RejectProposal,
    ) -> AppResult<Proposal> {
        self.charge(OpClass::Write).await?;
        actor.require_write()?;
        let p = self.visible(actor, id).await?;
        decidable(actor, &p)?;
        let reason = rules::rejection_reason(&input.reason)?;
        let decision = repo::Decision {
            status: ProposalStatus::Rejected,
            by: actor.id,
            reason: Some(&reason),
            revision: None,
            now: self.clock.now(),
        };
        self.decide(self.db.begin().await?, &p, &decision).await?;
        self.get(actor, id).await
    }

    /// Closes the open proposal `p` with `decision` and announces it, ending `tx` (which
    /// holds the accepted edit, if any); 409 when someone decided it first.
    async fn decide(
        &self,
        mut tx: DbTx,
        p: &repo::ProposalRow,
        decision: &repo::Decision<'_>,
    ) -> AppResult<()> {
        if !repo::decide_proposal(&mut tx, p.id, decision).await? {
            return Err(AppError::Conflict(
                "the proposal was decided by someone else meanwhile".into(),
            ));
        }
        let event = HubEvent::ProposalDecided {
            proposal: p.id,
            note: p.note_id,
            accepted: decision.status == ProposalStatus::Accepted,
        };
        self.queue.emit(&mut tx, &event).await?;
        tx.commit().await?;
        self.queue.wake();
        Ok(())
    }
}

/// Checks that `actor` may decide `p` and that it is still open.
fn decidable(actor: &AuthUser, p: &repo::ProposalRow) -> AppResult<()> {
    if !may_review(p.note_author_id, actor) {
        return Err(AppError::Forbidden(
            "only the note's author, a mentor or an admin decides a proposal".into(),
        ));
    }
    if p.status != ProposalStatus::Open {
        return Err(AppError::Conflict(format!(
            "the proposal is already {}",
            p.status
        )));
    }
    Ok(())
}
