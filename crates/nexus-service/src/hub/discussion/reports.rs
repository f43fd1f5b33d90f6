//! Inaccuracy reports: filed by any signed-in user on a published note, queued for and
//! resolved by mentors and admins.

use chrono::Utc;
use nexus_core::identity::Role;
use nexus_core::{AppError, error::AppResult};
use nexus_db::discussion as repo;
use uuid::Uuid;

use super::model::{CreateReport, Report, ReportStatus, ResolveReport, report_view};
use super::split_page;
use crate::actor::AuthUser;
use crate::hub::access::{self, user};
use crate::hub::events::HubEvent;
use crate::hub::rules;
use crate::page::{self, Page};
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
        repo::insert_report(&mut tx, id, note.id, actor.id, &reason, Utc::now()).await?;
        let event = HubEvent::ReportFiled {
            report: id,
            note: note.id,
        };
        self.queue.emit(&mut tx, &event).await?;
        let id = self.commit(tx, id).await?;
        self.queue.wake();
        self.get(id).await
    }

    async fn get(&self, id: Uuid) -> AppResult<Report> {
        report_view(
            repo::report_by_id(&self.db, id)
                .await?
                .ok_or_else(|| AppError::not_found(format!("no report {id}")))?,
        )
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
        let limit = page::limit(limit)?;
        let after = page::decode_id_cursor(cursor)?;
        let status = status.unwrap_or(ReportStatus::Open);
        let rows = repo::list_reports(&self.db, status.as_str(), after, limit + 1).await?;
        let (rows, next_cursor) = split_page(rows, limit, |r| r.id);
        Ok(Page {
            items: rows
                .into_iter()
                .map(report_view)
                .collect::<AppResult<_>>()?,
            next_cursor,
        })
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
        let mut tx = self.db.begin().await?;
        if !repo::resolve_report(&mut tx, id, actor.id, &resolution, Utc::now()).await? {
            return Err(AppError::Conflict("the report is already resolved".into()));
        }
        tx.commit().await?;
        self.get(id).await
    }
}
