//! A note's history: its revisions, one revision's content, the diff between two, and
//! making an old one current again.

use std::sync::Arc;

use nexus_core::hub::NoteStatus;
use nexus_core::{AppError, error::AppResult};
use nexus_db::hub as repo;

use super::access::{self, user};
use super::model::{NoteDetail, Revision, RevisionDiff, RevisionInfo, revision_info};
use super::store::{self, Edit, Prepared};
use crate::actor::{AuthUser, Principal};
use crate::encoded::Encoded;
use crate::safety::OpClass;

use_case_group! {
    /// A note's revisions: [`super::Hub::revisions`].
    Revisions
}

impl Revisions<'_> {
    /// A note's revisions, newest first.
    pub async fn list(&self, who: &Principal, slug: &str) -> AppResult<Vec<RevisionInfo>> {
        self.charge(OpClass::Read).await?;
        let note = access::visible_note(self, who, slug).await?;
        Ok(repo::revisions(&self.db, note.id)
            .await?
            .iter()
            .map(revision_info)
            .collect())
    }

    async fn row(&self, note: &repo::NoteRow, number: i32) -> AppResult<repo::RevisionRow> {
        repo::revision(&self.db, note.id, number)
            .await?
            .ok_or_else(|| {
                AppError::not_found(format!("note `{}` has no revision {number}", note.slug))
            })
    }

    /// One revision's content.
    pub async fn get(&self, who: &Principal, slug: &str, number: i32) -> AppResult<Revision> {
        self.charge(OpClass::Read).await?;
        let note = access::visible_note(self, who, slug).await?;
        let r = self.row(&note, number).await?;
        Ok(Revision {
            kind: r.kind,
            info: revision_info(&r),
            title: r.title,
            body_md: r.body_md,
            problem: r.problem,
            solution: r.solution,
            outcome: r.outcome,
        })
    }

    /// A unified diff between two revisions.
    pub async fn diff(
        &self,
        who: &Principal,
        slug: &str,
        from: i32,
        to: i32,
    ) -> AppResult<RevisionDiff> {
        self.charge(OpClass::Read).await?;
        let note = access::visible_note(self, who, slug).await?;
        let a = self.row(&note, from).await?;
        let b = self.row(&note, to).await?;
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
    pub async fn restore(
        &self,
        actor: &AuthUser,
        slug: &str,
        number: i32,
    ) -> AppResult<Arc<Encoded<NoteDetail>>> {
        self.charge(OpClass::Write).await?;
        actor.require_write()?;
        let why = "only the author or an admin restores a revision";
        let note = access::editable_note(self, actor, slug, why).await?;
        if note.status == NoteStatus::Archived {
            return Err(AppError::Conflict("the note is archived".into()));
        }
        let r = self.row(&note, number).await?;
        let prepared = Prepared::new(
            r.kind,
            note.status,
            r.title,
            r.body_md,
            r.problem,
            r.solution,
            r.outcome,
        );
        let message = format!("restored revision {number}");
        let edit = Edit::content(actor.id, &note, &prepared, &message);
        store::write_edit(self, &edit).await?;
        self.hub().notes().fresh(&user(actor), slug).await
    }
}
