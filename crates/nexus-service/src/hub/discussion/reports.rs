//! Inaccuracy reports: filed by any signed-in user on a published note, queued for and
//! resolved by mentors and admins.

use nexus_core::identity::Role;
use nexus_core::{AppError, error::AppResult};
use nexus_db::discussion as repo;
use uuid::Uuid;

use super::model::{CreateReport, Report, ReportStatus, ResolveReport, report_view};
use crate::actor::AuthUser;
use crate::hub::access::{self, user};
use crate::hub::events::HubEvent;
use crate::hub::rules;
use crate::page::{Page, PageRequest};
use crate::safety::OpClass;

use_case_group! {
    /// Inaccuracy reports: [`crate::hub::Hub::reports`].
    Reports
}

impl Reports<'_> {
    pub async fn create(
        &self,
        actor: &AuthUser,
        slug: &str,
        input: CreateReport,
    ) -> AppResult<Report> {
        self.charge(OpClass::Write).await?;
        // A retry whose first attempt committed answers with what it made.
        if let Some(id) = self.committed_before::<Uuid>()? {
            return self.get(id).await;
        }
        actor.require_write()?;
        let note = access::published_note(self, &user(actor), slug).await?;
        let reason = rules::report_reason(&input.reason)?;
        let id = Uuid::now_v7();
        let mut tx = self.db.begin().await?;
        repo::insert_report(&mut tx, id, note.id, actor.id, &reason, self.clock.now()).await?;
        let event = HubEvent::ReportFiled {
            report: id,
            note: note.id,
        };
        let id = self.commit_with_event(tx, &event, id).await?;
        self.get(id).await
    }

    async fn get(&self, id: Uuid) -> AppResult<Report> {
        let report = repo::report_by_id(&self.db, id).await?;
        report
            .map(report_view)
            .ok_or_else(|| AppError::not_found(format!("no report {id}")))
    }

    /// The moderation queue (mentors and admins), oldest first.
    pub async fn list(
        &self,
        actor: &AuthUser,
        status: Option<ReportStatus>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<Report>> {
        self.charge(OpClass::Read).await?;
        actor.require_role(Role::Mentor)?;
        let want = PageRequest::new(limit, cursor)?;
        let status = status.unwrap_or(ReportStatus::Open);
        let rows = repo::list_reports(&self.db, status, want.after, want.fetch()).await?;
        Ok(want.page(rows, |r| r.id, report_view))
    }

    pub async fn resolve(
        &self,
        actor: &AuthUser,
        id: Uuid,
        input: ResolveReport,
    ) -> AppResult<Report> {
        self.charge(OpClass::Write).await?;
        actor.require_write()?;
        actor.require_role(Role::Mentor)?;
        let resolution = rules::resolution(&input.resolution)?;
        self.get(id).await?;
        if !repo::resolve_report(&self.db, id, actor.id, &resolution, self.clock.now()).await? {
            return Err(AppError::Conflict("the report is already resolved".into()));
        }
        self.get(id).await
    }
}
