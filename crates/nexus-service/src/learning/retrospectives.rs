//! Weekly retrospectives: what a learner retains, would improve and would scale after a
//! week of their cohort. The learner writes (and rewrites) their own; the cohort's
//! mentors and admins read them. Progress counts a week as reflected on once it has one.

use chrono::{DateTime, Utc};
use nexus_core::learning::{CohortRole, EnrolmentStatus};
use nexus_core::{AppError, error::AppResult};
use nexus_db::cohorts as cohort_repo;
use nexus_db::identity as users;
use nexus_db::progress::{self as repo, NewRetrospective, RetrospectiveRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::cohorts::Loaded;
use super::rules::{Faults, clip};
use crate::actor::AuthUser;
use crate::safety::OpClass;

use_case_group! {
    /// Weekly retrospectives: [`super::Learning::retrospectives`].
    Retrospectives
}

/// The most characters each part of a retrospective holds.
pub const PART_MAX: usize = 4000;

/// `PUT /cohorts/{slug}/weeks/{n}/retrospective`: three short Markdown texts, at least
/// one of them not empty.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetrospectiveInput {
    /// What worked and should be kept.
    #[schema(
        example = "Writing the load test before the cache kept the numbers honest.",
        max_length = 4000
    )]
    pub retain: String,
    /// What to do better next week.
    #[schema(
        example = "Invalidate on every write path, not only the obvious one.",
        max_length = 4000
    )]
    pub improve: String,
    /// What would have to change at ten times the load.
    #[schema(
        example = "Move the cache to Redis so that both instances share it.",
        max_length = 4000
    )]
    pub scale: String,
}

/// A learner's retrospective of one week.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RetrospectiveView {
    pub cohort: String,
    #[schema(example = "ada")]
    pub learner: String,
    pub week: u32,
    pub retain: String,
    pub improve: String,
    pub scale: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a `PUT` did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reflected {
    /// `true` for the week's first retrospective, `false` for a rewrite.
    pub created: bool,
    pub retrospective: RetrospectiveView,
}

impl Retrospectives<'_> {
    /// Writes the caller's retrospective of week `week` (an active learner of the
    /// cohort, in a week that has begun).
    pub async fn put(
        &self,
        actor: &AuthUser,
        cohort: &str,
        week: u32,
        input: RetrospectiveInput,
    ) -> AppResult<Reflected> {
        self.charge(OpClass::Write).await?;
        let cohort = self.learning().cohorts().load(cohort).await?;
        let week_no = course_week(&cohort, week)?;
        let created = match self.committed_before::<bool>()? {
            Some(created) => created,
            None => {
                actor.require_write()?;
                let member = cohort_repo::enrolment(&self.db, cohort.row.id, actor.id).await?;
                if !member.is_some_and(|m| {
                    m.role == CohortRole::Learner && m.status == EnrolmentStatus::Active
                }) {
                    return Err(AppError::Forbidden(
                        "only the cohort's active learners write retrospectives".into(),
                    ));
                }
                let mut input = input;
                let mut faults = Faults::default();
                faults.text("retain", &mut input.retain, PART_MAX, false, true);
                faults.text("improve", &mut input.improve, PART_MAX, false, true);
                faults.text("scale", &mut input.scale, PART_MAX, false, true);
                if faults.is_empty()
                    && input.retain.is_empty()
                    && input.improve.is_empty()
                    && input.scale.is_empty()
                {
                    faults.add(
                        "retain",
                        "one of retain, improve and scale must not be empty",
                    );
                }
                faults.finish()?;
                let now = self.clock.now();
                if week > 1
                    && let Some(end) =
                        nexus_core::learning::due_at(cohort.row.starts_on, week - 1, cohort.tz)
                    && now <= end
                {
                    return Err(AppError::Conflict(format!(
                        "week {week} has not begun; it begins after {}",
                        nexus_core::learning::local_rfc3339(end, cohort.tz)
                    )));
                }
                let mut tx = self.db.begin().await?;
                let before = repo::retrospective(&mut tx, cohort.row.id, actor.id, week_no).await?;
                repo::put_retrospective(
                    &mut tx,
                    &NewRetrospective {
                        cohort: cohort.row.id,
                        learner: actor.id,
                        week: week_no,
                        retain: &input.retain,
                        improve: &input.improve,
                        scale: &input.scale,
                        now,
                    },
                )
                .await?;
                self.commit(tx, before.is_none()).await?
            }
        };
        let row = repo::retrospective(&self.db, cohort.row.id, actor.id, week_no)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a retrospective vanished")))?;
        Ok(Reflected {
            created,
            retrospective: view(&cohort, &actor.handle, row),
        })
    }

    /// A retrospective: the caller's own, or (for the cohort's mentors and admins) the
    /// learner's named by `learner`. Anyone else's is 404.
    pub async fn get(
        &self,
        actor: &AuthUser,
        cohort: &str,
        week: u32,
        learner: Option<&str>,
    ) -> AppResult<RetrospectiveView> {
        self.charge(OpClass::Read).await?;
        let cohort = self.learning().cohorts().load(cohort).await?;
        let week_no = course_week(&cohort, week)?;
        let handle = learner.unwrap_or(&actor.handle);
        let missing = || {
            AppError::not_found(format!(
                "`{}` has no retrospective of week {week} in this cohort",
                clip(handle)
            ))
        };
        let learner_id = if handle == actor.handle {
            actor.id
        } else if self
            .learning()
            .cohorts()
            .mentors(actor, cohort.row.id)
            .await?
        {
            users::user_by_handle(&self.db, handle)
                .await?
                .ok_or_else(missing)?
                .id
        } else {
            return Err(missing());
        };
        let row = repo::retrospective(&self.db, cohort.row.id, learner_id, week_no)
            .await?
            .ok_or_else(missing)?;
        Ok(view(&cohort, handle, row))
    }
}

/// Week `week` of the cohort's course as stored; 404 for a week the course does not have.
fn course_week(cohort: &Loaded, week: u32) -> AppResult<i32> {
    if !cohort.doc.weeks.iter().any(|w| w.number == week) {
        return Err(AppError::not_found(format!(
            "this cohort's course has no week {week}"
        )));
    }
    i32::try_from(week).map_err(|_| AppError::not_found("no such week"))
}

fn view(cohort: &Loaded, learner: &str, r: RetrospectiveRow) -> RetrospectiveView {
    RetrospectiveView {
        cohort: cohort.row.slug.clone(),
        learner: learner.to_owned(),
        week: u32::try_from(r.week).unwrap_or(0),
        retain: r.retain,
        improve: r.improve,
        scale: r.scale,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}
