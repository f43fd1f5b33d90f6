//! The risk ledger: a learner's own list of defects found, risks foreseen and debt taken
//! on, each with a severity and the week it belongs to. An item kept for a cohort (the
//! learner names it) counts in that cohort's progress: open items by week, and a
//! high-severity item left open for more than two weeks puts the learner at risk. An
//! item without a cohort is personal. Only its owner sees an item; anyone else's id is
//! 404.

use chrono::{DateTime, Utc};
use nexus_core::learning::{CohortRole, LedgerKind, LedgerStatus, Severity};
use nexus_core::{AppError, error::AppResult};
use nexus_db::cohorts as cohort_repo;
use nexus_db::progress::{self as repo, LedgerFilter, LedgerRow, LedgerWrite};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::cohorts::cohort_row;
use super::rules::{Faults, clip};
use crate::actor::AuthUser;
use crate::page::{Page, PageRequest};
use crate::safety::OpClass;

use_case_group! {
    /// The caller's risk ledger: [`super::Learning::ledger`].
    Ledger
}

const TITLE_MAX: usize = 200;
const DETAIL_MAX: usize = 4000;
/// The latest week a personal item (one without a cohort) may name: two years.
const PERSONAL_WEEKS: u32 = 104;

/// `POST /me/ledger`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LedgerInput {
    pub kind: LedgerKind,
    #[schema(
        example = "Cache stampede on a cold start",
        min_length = 1,
        max_length = 200
    )]
    pub title: String,
    /// Markdown.
    #[serde(default)]
    #[schema(
        example = "Forty requests rebuild the same entry when the cache is empty.",
        max_length = 4000
    )]
    pub detail: String,
    pub severity: Severity,
    /// The week of the cohort's course (or, for a personal item, of the learner's own
    /// count) the item belongs to.
    #[schema(example = 3, minimum = 1)]
    pub week: u32,
    /// The slug of a cohort the caller is a learner of; absent for a personal item.
    #[serde(default)]
    #[schema(example = "scalable-2027-spring", max_length = 80)]
    pub cohort: Option<String>,
}

/// `PATCH /me/ledger/{id}`: the fields to change. `{"status": "closed"}` closes an
/// item, `{"status": "open"}` opens it again.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LedgerPatch {
    pub kind: Option<LedgerKind>,
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    #[schema(max_length = 4000)]
    pub detail: Option<String>,
    pub severity: Option<Severity>,
    #[schema(minimum = 1)]
    pub week: Option<u32>,
    pub status: Option<LedgerStatus>,
}

/// An item of the caller's ledger.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LedgerItem {
    pub id: Uuid,
    pub kind: LedgerKind,
    pub title: String,
    pub detail: String,
    pub severity: Severity,
    pub week: u32,
    pub status: LedgerStatus,
    /// The cohort it counts in; `null` for a personal item.
    pub cohort: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When it was last closed; `null` while open.
    pub closed_at: Option<DateTime<Utc>>,
}

/// Filters of `GET /me/ledger`.
#[derive(Debug, Clone, Default)]
pub struct LedgerQuery<'a> {
    pub cohort: Option<&'a str>,
    pub kind: Option<LedgerKind>,
    pub severity: Option<Severity>,
    pub status: Option<LedgerStatus>,
    pub week: Option<u32>,
}

impl Ledger<'_> {
    pub async fn create(&self, actor: &AuthUser, input: LedgerInput) -> AppResult<LedgerItem> {
        self.charge(OpClass::Write).await?;
        let id = match self.committed_before::<Uuid>()? {
            Some(id) => id,
            None => {
                actor.require_write()?;
                let mut input = input;
                let mut faults = Faults::default();
                faults.text("title", &mut input.title, TITLE_MAX, true, false);
                faults.text("detail", &mut input.detail, DETAIL_MAX, false, true);
                let cohort = match &input.cohort {
                    Some(slug) => self.learner_cohort(actor, slug, &mut faults).await?,
                    None => None,
                };
                check_week(&mut faults, input.week, cohort.map(|c| c.1));
                faults.finish()?;
                let now = self.clock.now();
                let id = Uuid::now_v7();
                let mut tx = self.db.begin().await?;
                repo::insert_ledger_item(
                    &mut tx,
                    &LedgerWrite {
                        id,
                        user: actor.id,
                        cohort: cohort.map(|c| c.0),
                        kind: input.kind,
                        title: &input.title,
                        detail: &input.detail,
                        severity: input.severity,
                        week: week_i32(input.week),
                        status: LedgerStatus::Open,
                        closed_at: None,
                        now,
                    },
                )
                .await?;
                self.commit(tx, id).await?
            }
        };
        self.read(actor, id).await
    }

    pub async fn get(&self, actor: &AuthUser, id: Uuid) -> AppResult<LedgerItem> {
        self.charge(OpClass::Read).await?;
        self.read(actor, id).await
    }

    async fn read(&self, actor: &AuthUser, id: Uuid) -> AppResult<LedgerItem> {
        repo::ledger_item(&self.db, actor.id, id)
            .await?
            .map(view)
            .ok_or_else(|| missing(id))
    }

    /// The caller's items, newest first.
    pub async fn list(
        &self,
        actor: &AuthUser,
        q: LedgerQuery<'_>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<LedgerItem>> {
        self.charge(OpClass::Read).await?;
        let want = PageRequest::new(limit, cursor)?;
        let cohort = match q.cohort {
            // A cohort that does not exist holds none of the caller's items.
            Some(slug) => match cohort_row(&self.db, slug).await {
                Ok(c) => Some(c.id),
                Err(AppError::NotFound(_)) => return Ok(want.page(Vec::new(), |r| r.id, view)),
                Err(e) => return Err(e),
            },
            None => None,
        };
        let filter = LedgerFilter {
            cohort,
            kind: q.kind,
            severity: q.severity,
            status: q.status,
            week: q.week.map(week_i32),
        };
        let rows = repo::list_ledger(&self.db, actor.id, &filter, want.after, want.fetch()).await?;
        Ok(want.page(rows, |r| r.id, view))
    }

    /// Changes the fields `patch` names; closing stamps `closed_at`, reopening clears it.
    pub async fn update(
        &self,
        actor: &AuthUser,
        id: Uuid,
        patch: LedgerPatch,
    ) -> AppResult<LedgerItem> {
        self.charge(OpClass::Write).await?;
        if self.committed_before::<Uuid>()?.is_none() {
            actor.require_write()?;
            let mut tx = self.db.begin().await?;
            let item = repo::ledger_item(&mut tx, actor.id, id)
                .await?
                .ok_or_else(|| missing(id))?;
            let mut patch = patch;
            let mut faults = Faults::default();
            if let Some(t) = &mut patch.title {
                faults.text("title", t, TITLE_MAX, true, false);
            }
            if let Some(d) = &mut patch.detail {
                faults.text("detail", d, DETAIL_MAX, false, true);
            }
            if let Some(week) = patch.week {
                let weeks = match item.cohort_id {
                    Some(c) => Some(self.course_weeks(c).await?),
                    None => None,
                };
                check_week(&mut faults, week, weeks);
            }
            faults.finish()?;
            let now = self.clock.now();
            let status = patch.status.unwrap_or(item.status);
            let closed_at = match (item.status, status) {
                (LedgerStatus::Open, LedgerStatus::Closed) => Some(now),
                (_, LedgerStatus::Open) => None,
                (LedgerStatus::Closed, LedgerStatus::Closed) => item.closed_at,
            };
            let changed = repo::update_ledger_item(
                &mut tx,
                &LedgerWrite {
                    id,
                    user: actor.id,
                    cohort: item.cohort_id,
                    kind: patch.kind.unwrap_or(item.kind),
                    title: patch.title.as_deref().unwrap_or(&item.title),
                    detail: patch.detail.as_deref().unwrap_or(&item.detail),
                    severity: patch.severity.unwrap_or(item.severity),
                    week: patch.week.map_or(item.week, week_i32),
                    status,
                    closed_at,
                    now,
                },
            )
            .await?;
            if !changed {
                return Err(missing(id));
            }
            self.commit(tx, id).await?;
        }
        self.read(actor, id).await
    }

    pub async fn delete(&self, actor: &AuthUser, id: Uuid) -> AppResult<()> {
        self.charge(OpClass::Write).await?;
        if self.committed_before::<()>()?.is_some() {
            return Ok(());
        }
        actor.require_write()?;
        let mut tx = self.db.begin().await?;
        if !repo::delete_ledger_item(&mut tx, actor.id, id).await? {
            return Err(missing(id));
        }
        self.commit(tx, ()).await
    }

    /// The cohort `slug` with its course's number of weeks, when the caller is one of
    /// its learners; a field error otherwise.
    async fn learner_cohort(
        &self,
        actor: &AuthUser,
        slug: &str,
        faults: &mut Faults,
    ) -> AppResult<Option<(Uuid, u32)>> {
        let not_yours = |faults: &mut Faults| {
            faults.add(
                "cohort",
                format!("`{}` is no cohort you are a learner of", clip(slug)),
            );
        };
        let cohort = match cohort_row(&self.db, slug).await {
            Ok(c) => c,
            Err(AppError::NotFound(_)) => {
                not_yours(faults);
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let learner = cohort_repo::enrolment(&self.db, cohort.id, actor.id)
            .await?
            .is_some_and(|e| e.role == CohortRole::Learner);
        if !learner {
            not_yours(faults);
            return Ok(None);
        }
        Ok(Some((cohort.id, self.course_weeks(cohort.id).await?)))
    }

    async fn course_weeks(&self, cohort: Uuid) -> AppResult<u32> {
        let row = cohort_repo::cohort_by_id(&self.db, cohort)
            .await?
            .ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("a ledger item's cohort vanished"))
            })?;
        let loaded = self.learning().cohorts().load_row(row).await?;
        Ok(loaded.doc.duration_weeks)
    }
}

/// A week in `1..=weeks` (the cohort's course length, or two years for a personal item).
fn check_week(faults: &mut Faults, week: u32, weeks: Option<u32>) {
    let last = weeks.unwrap_or(PERSONAL_WEEKS);
    if week == 0 || week > last {
        faults.add("week", format!("must be between 1 and {last}"));
    }
}

fn week_i32(week: u32) -> i32 {
    i32::try_from(week).unwrap_or(i32::MAX)
}

fn missing(id: Uuid) -> AppError {
    AppError::not_found(format!("you have no ledger item {id}"))
}

fn view(r: LedgerRow) -> LedgerItem {
    LedgerItem {
        id: r.id,
        kind: r.kind,
        title: r.title,
        detail: r.detail,
        severity: r.severity,
        week: u32::try_from(r.week).unwrap_or(0),
        status: r.status,
        cohort: r.cohort_slug,
        created_at: r.created_at,
        updated_at: r.updated_at,
        closed_at: r.closed_at,
    }
}
