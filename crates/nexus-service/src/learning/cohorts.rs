//! Cohorts: a course version run for a group of learners from a start date, in one time
//! zone, with its members and its calendar.
//!
//! Anyone reads a cohort and its schedule (like a course, it is a public offering);
//! admins make cohorts, enrol members and move deadlines; a signed-in user joins an open
//! cohort by themselves; members withdraw themselves. A cohort's members list is for
//! admins and the cohort's own mentors: a mentor's rights hold in their cohorts only.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use nexus_core::identity::Role;
use nexus_core::learning::{self as core, CohortRole, EnrolmentPolicy, EnrolmentStatus};
use nexus_core::{AppError, Unique, error::AppResult};
use nexus_db::cohorts::{self as repo, CohortRow, EnrolmentRow, NewCohort};
use nexus_db::identity as users;
use nexus_db::learning as courses_repo;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::courses::{course_row, version_document};
use super::model::{CourseDocument, Deliverable};
use super::rules::{Faults, SLUG_MAX, clip};
use crate::actor::AuthUser;
use crate::page::{Page, PageRequest};
use crate::safety::OpClass;

use_case_group! {
    /// Cohorts, their schedules and members: [`super::Learning::cohorts`].
    Cohorts
}

/// What `POST /cohorts` takes.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCohortInput {
    /// URL name of the cohort: lowercase letters, digits and single hyphens.
    #[schema(
        example = "scalable-2027-spring",
        max_length = 80,
        pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$"
    )]
    pub slug: String,
    #[schema(
        example = "Scalable Architectures, spring 2027",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
    )]
    pub title: String,
    /// The course's slug.
    #[schema(
        example = "scalable-architectures",
        max_length = 80,
        pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$"
    )]
    pub course: String,
    /// The course version to run (default: the current one). The cohort keeps it when
    /// the course moves on.
    #[schema(example = 1, minimum = 1)]
    pub course_version: Option<i32>,
    /// The first day of week 1, in the cohort's time zone.
    #[schema(example = "2027-03-01")]
    pub starts_on: NaiveDate,
    /// An IANA time zone: deadlines are 23:59 local time on the last day of their week.
    #[schema(
        example = "Europe/Berlin",
        max_length = 64,
        pattern = r"^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$"
    )]
    pub timezone: String,
    /// Peer reviews each submission gets, 0-5.
    #[schema(example = 2, minimum = 0, maximum = 5)]
    pub peer_reviews: i32,
    /// `open` (anyone signed in may join) or `invite` (admins enrol members).
    pub enrolment: EnrolmentPolicy,
}

/// A cohort.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CohortView {
    #[schema(example = "scalable-2027-spring")]
    pub slug: String,
    pub title: String,
    /// The course's slug.
    pub course: String,
    /// The course version the cohort runs.
    pub course_version: i32,
    pub starts_on: NaiveDate,
    #[schema(example = "Europe/Berlin")]
    pub timezone: String,
    pub peer_reviews: i32,
    pub enrolment: EnrolmentPolicy,
    pub created_at: DateTime<Utc>,
}

/// One deliverable on a cohort's calendar.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ScheduleItem {
    #[schema(example = "week-03-caching-plan")]
    pub deliverable: String,
    pub title: String,
    /// The week it is due at the end of.
    pub week: u32,
    /// The capstone project it belongs to; absent for a weekly deliverable.
    pub project: Option<String>,
    /// When it is due, in UTC.
    #[schema(example = "2027-03-21T22:59:00Z")]
    pub due_at: DateTime<Utc>,
    /// The same instant in the cohort's time zone, with its offset.
    #[schema(example = "2027-03-21T23:59:00+01:00")]
    pub due_local: String,
    /// Whether an admin moved it from the computed deadline.
    pub overridden: bool,
}

/// A cohort's calendar: every deliverable of its course version, in due order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CohortSchedule {
    pub cohort: String,
    pub timezone: String,
    pub items: Vec<ScheduleItem>,
}

/// A member of a cohort.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EnrolmentView {
    #[schema(example = "ada")]
    pub handle: String,
    pub display_name: String,
    pub role: CohortRole,
    pub status: EnrolmentStatus,
    pub enrolled_at: DateTime<Utc>,
    pub withdrawn_at: Option<DateTime<Utc>>,
}

/// A cohort the caller is (or was) a member of.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Membership {
    pub cohort: CohortView,
    pub role: CohortRole,
    pub status: EnrolmentStatus,
    pub enrolled_at: DateTime<Utc>,
}

/// What an admin's enrolment made.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Enrolled {
    /// `true` for a new member or a withdrawn one back; `false` when nothing changed.
    pub changed: bool,
    pub enrolment: EnrolmentView,
}

/// A cohort with what its rules need: the course version's document and its time zone.
pub(crate) struct Loaded {
    pub row: CohortRow,
    pub tz: Tz,
    pub doc: CourseDocument,
}

impl Loaded {
    /// A deliverable of the cohort's course version; 404 for any other (a deliverable of
    /// another course is not on this cohort's calendar).
    pub(crate) fn deliverable(&self, slug: &str) -> AppResult<&Deliverable> {
        self.doc
            .weeks
            .iter()
            .filter_map(|w| w.deliverable.as_ref())
            .chain(self.doc.projects.iter().flat_map(|p| p.deliverables.iter()))
            .find(|d| d.slug == slug)
            .ok_or_else(|| no_deliverable(slug))
    }

    /// The cohort's calendar, overrides applied.
    pub(crate) fn schedule(&self, overrides: &HashMap<String, DateTime<Utc>>) -> Vec<ScheduleItem> {
        let mut items = Vec::new();
        let mut add = |slug: &str, title: &str, week: u32, project: Option<&str>| {
            let computed = core::due_at(self.row.starts_on, week, self.tz);
            let (due_at, overridden) = match overrides.get(slug) {
                Some(at) => (Some(*at), true),
                None => (computed, false),
            };
            // A date past chrono's calendar cannot be stored, so it cannot occur.
            if let Some(due_at) = due_at {
                items.push(ScheduleItem {
                    deliverable: slug.to_owned(),
                    title: title.to_owned(),
                    week,
                    project: project.map(str::to_owned),
                    due_at,
                    due_local: core::local_rfc3339(due_at, self.tz),
                    overridden,
                });
            }
        };
        for week in &self.doc.weeks {
            if let Some(d) = &week.deliverable {
                add(&d.slug, &d.title, week.number, None);
            }
        }
        for project in &self.doc.projects {
            for d in &project.deliverables {
                add(
                    &d.slug,
                    &d.title,
                    d.due_week.unwrap_or(self.doc.duration_weeks),
                    Some(&project.slug),
                );
            }
        }
        items.sort_by(|a, b| a.due_at.cmp(&b.due_at).then(a.week.cmp(&b.week)));
        items
    }
}

impl Cohorts<'_> {
    /// Cohorts newest first; one course's when `course` is given.
    pub async fn list(
        &self,
        course: Option<&str>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<CohortView>> {
        self.charge(OpClass::Read).await?;
        let want = PageRequest::new(limit, cursor)?;
        let course_id = match course {
            Some(slug) => match lookup_course(&self.db, slug).await? {
                Some(c) => Some(c.id),
                None => {
                    return Ok(Page {
                        items: Vec::new(),
                        next_cursor: None,
                    });
                }
            },
            None => None,
        };
        let rows = repo::list_cohorts(&self.db, course_id, want.after, want.fetch()).await?;
        Ok(want.page(rows, |r| r.id, view))
    }

    pub async fn get(&self, slug: &str) -> AppResult<CohortView> {
        self.charge(OpClass::Read).await?;
        Ok(view(cohort_row(&self.db, slug).await?))
    }

    /// Makes a cohort of a course version (admins).
    pub async fn create(&self, actor: &AuthUser, input: NewCohortInput) -> AppResult<CohortView> {
        self.charge(OpClass::Write).await?;
        let slug = match self.committed_before::<String>()? {
            Some(slug) => slug,
            None => {
                require_admin(actor)?;
                let mut input = input;
                let mut faults = Faults::default();
                faults.slug("slug", &input.slug);
                faults.title("title", &mut input.title);
                if !(0..=5).contains(&input.peer_reviews) {
                    faults.add("peer_reviews", "must be between 0 and 5");
                }
                if core::time_zone(&input.timezone).is_none() {
                    faults.add(
                        "timezone",
                        "is not a time zone of the IANA database (such as `Europe/Berlin`)",
                    );
                }
                // The course and version are looked up only when their names are
                // well-formed, and reported as fields: the cohort is what is missing.
                let course = if nexus_core::hub::is_slug_within(&input.course, SLUG_MAX) {
                    lookup_course(&self.db, &input.course).await?
                } else {
                    None
                };
                let version = match &course {
                    None => {
                        faults.add("course", "no course has this slug");
                        None
                    }
                    Some(c) => {
                        let number = input.course_version.unwrap_or(c.version);
                        let found = if number >= 1 {
                            courses_repo::version_of(&self.db, c.id, number).await?
                        } else {
                            None
                        };
                        if found.is_none() {
                            faults.add(
                                "course_version",
                                format!("the course has versions 1 to {}", c.version),
                            );
                        }
                        found
                    }
                };
                let mut last_week = 1;
                if let Some(v) = &version {
                    let doc = version_document(v)?;
                    last_week = last_due_week(&doc);
                    // The last deadline must be a date the calendar can hold.
                    if core::due_at(input.starts_on, last_week, Tz::UTC).is_none() {
                        faults.add("starts_on", "is too far in the future");
                    }
                }
                faults.finish()?;
                let (Some(course), Some(version)) = (course, version) else {
                    return Err(AppError::Internal(anyhow::anyhow!(
                        "a checked cohort has no course version"
                    )));
                };
                let now = self.clock.now();
                let mut tx = self.db.begin().await?;
                let made = repo::insert_cohort(
                    &mut tx,
                    &NewCohort {
                        id: Uuid::now_v7(),
                        slug: &input.slug,
                        title: &input.title,
                        course_id: course.id,
                        version_id: version.id,
                        starts_on: input.starts_on,
                        ends_on: input
                            .starts_on
                            .checked_add_days(chrono::Days::new(u64::from(last_week) * 7 - 1))
                            .unwrap_or(input.starts_on),
                        timezone: &input.timezone,
                        peer_reviews: input.peer_reviews,
                        enrolment: input.enrolment,
                        created_by: actor.id,
                        now,
                    },
                )
                .await;
                match made {
                    Err(AppError::Duplicate(Unique::CohortSlug)) => {
                        return Err(AppError::Conflict(format!(
                            "the cohort `{}` exists",
                            input.slug
                        )));
                    }
                    other => other?,
                }
                self.commit(tx, input.slug).await?
            }
        };
        self.get(&slug).await
    }

    /// Every deliverable of the cohort's course version with its deadline.
    pub async fn schedule(&self, slug: &str) -> AppResult<CohortSchedule> {
        self.charge(OpClass::Read).await?;
        let cohort = self.load(slug).await?;
        let items = cohort.schedule(&self.overrides(cohort.row.id).await?);
        Ok(CohortSchedule {
            cohort: cohort.row.slug,
            timezone: cohort.row.timezone,
            items,
        })
    }

    /// Moves one deadline (admins).
    pub async fn set_deadline(
        &self,
        actor: &AuthUser,
        slug: &str,
        deliverable: &str,
        due_at: DateTime<Utc>,
    ) -> AppResult<ScheduleItem> {
        self.charge(OpClass::Write).await?;
        require_admin(actor)?;
        let cohort = self.load(slug).await?;
        cohort.deliverable(deliverable)?;
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        repo::set_deadline(&mut tx, cohort.row.id, deliverable, due_at, actor.id, now).await?;
        self.commit(tx, ()).await?;
        self.schedule_item(&cohort, deliverable).await
    }

    /// Puts a moved deadline back to the computed one (admins).
    pub async fn clear_deadline(
        &self,
        actor: &AuthUser,
        slug: &str,
        deliverable: &str,
    ) -> AppResult<ScheduleItem> {
        self.charge(OpClass::Write).await?;
        require_admin(actor)?;
        let cohort = self.load(slug).await?;
        cohort.deliverable(deliverable)?;
        let mut tx = self.db.begin().await?;
        repo::clear_deadline(&mut tx, cohort.row.id, deliverable).await?;
        self.commit(tx, ()).await?;
        self.schedule_item(&cohort, deliverable).await
    }

    /// Enrols a user by handle as a learner or a mentor (admins). Enrolling an active
    /// member again changes nothing; a withdrawn member comes back with the given role.
    pub async fn enrol(
        &self,
        actor: &AuthUser,
        slug: &str,
        handle: &str,
        role: CohortRole,
    ) -> AppResult<Enrolled> {
        self.charge(OpClass::Write).await?;
        if let Some(done) = self.committed_before::<Enrolled>()? {
            return Ok(done);
        }
        require_admin(actor)?;
        let cohort = cohort_row(&self.db, slug).await?;
        let user = match users::user_by_handle(&self.db, handle).await? {
            Some(u) if u.disabled_at.is_none() => u,
            _ => {
                return Err(AppError::invalid(
                    "handle",
                    "no active user has this handle",
                ));
            }
        };
        let mut tx = self.db.begin().await?;
        let changed = repo::enrol(&mut tx, cohort.id, user.id, role, self.clock.now()).await?;
        let row = enrolment_row(&mut tx, cohort.id, user.id).await?;
        if !changed && row.role != role {
            return Err(AppError::Conflict(format!(
                "`{handle}` is already a {} of this cohort; withdraw them first to change \
                 their role",
                row.role
            )));
        }
        let done = Enrolled {
            changed,
            enrolment: enrolment_view(row),
        };
        self.commit(tx, done).await
    }

    /// The caller joins an open cohort as a learner.
    pub async fn join(&self, actor: &AuthUser, slug: &str) -> AppResult<Enrolled> {
        self.charge(OpClass::Write).await?;
        if let Some(done) = self.committed_before::<Enrolled>()? {
            return Ok(done);
        }
        actor.require_write()?;
        let cohort = cohort_row(&self.db, slug).await?;
        if cohort.enrolment != EnrolmentPolicy::Open {
            return Err(AppError::Forbidden(
                "this cohort takes members by invitation only".into(),
            ));
        }
        let mut tx = self.db.begin().await?;
        let changed = repo::enrol(
            &mut tx,
            cohort.id,
            actor.id,
            CohortRole::Learner,
            self.clock.now(),
        )
        .await?;
        let row = enrolment_row(&mut tx, cohort.id, actor.id).await?;
        if !changed {
            return Err(AppError::Conflict(format!(
                "you are already a {} of this cohort",
                row.role
            )));
        }
        let done = Enrolled {
            changed,
            enrolment: enrolment_view(row),
        };
        self.commit(tx, done).await
    }

    /// Withdraws a member: the member themselves, or an admin. Their history stays.
    pub async fn withdraw(&self, actor: &AuthUser, slug: &str, handle: &str) -> AppResult<()> {
        self.charge(OpClass::Write).await?;
        actor.require_write()?;
        let cohort = cohort_row(&self.db, slug).await?;
        let admin = actor.role >= Role::Admin;
        let user_id = if handle == actor.handle {
            actor.id
        } else if admin {
            match users::user_by_handle(&self.db, handle).await? {
                Some(u) => u.id,
                None => return Err(not_member(handle)),
            }
        } else {
            // Whether someone else is a member is not the caller's to learn.
            return Err(not_member(handle));
        };
        let mut tx = self.db.begin().await?;
        if !repo::withdraw(&mut tx, cohort.id, user_id, self.clock.now()).await? {
            return Err(not_member(handle));
        }
        self.commit(tx, ()).await
    }

    /// A cohort's members (admins and the cohort's mentors).
    pub async fn enrolments(
        &self,
        actor: &AuthUser,
        slug: &str,
        role: Option<CohortRole>,
        status: Option<EnrolmentStatus>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<EnrolmentView>> {
        self.charge(OpClass::Read).await?;
        let want = PageRequest::new(limit, cursor)?;
        let cohort = cohort_row(&self.db, slug).await?;
        if !self.mentors(actor, cohort.id).await? {
            return Err(AppError::Forbidden(
                "the members list is for the cohort's mentors and admins".into(),
            ));
        }
        let rows =
            repo::list_enrolments(&self.db, cohort.id, role, status, want.after, want.fetch())
                .await?;
        Ok(want.page(rows, |r| r.user_id, enrolment_view))
    }

    /// The cohorts the caller is or was a member of, newest first, with their role.
    pub async fn mine(
        &self,
        actor: &AuthUser,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<Membership>> {
        self.charge(OpClass::Read).await?;
        let want = PageRequest::new(limit, cursor)?;
        let rows = repo::memberships(&self.db, actor.id, want.after, want.fetch()).await?;
        Ok(want.page(
            rows,
            |r| r.cohort.id,
            |r| Membership {
                cohort: view(r.cohort),
                role: r.role,
                status: r.status,
                enrolled_at: r.enrolled_at,
            },
        ))
    }

    /// Whether `actor` may act as a mentor of the cohort: an admin, or its active mentor.
    pub(crate) async fn mentors(&self, actor: &AuthUser, cohort: Uuid) -> AppResult<bool> {
        if actor.role >= Role::Admin {
            return Ok(true);
        }
        Ok(repo::enrolment(&self.db, cohort, actor.id)
            .await?
            .is_some_and(|e| e.role == CohortRole::Mentor && e.status == EnrolmentStatus::Active))
    }

    /// A cohort with its course document and time zone; 404 when there is none.
    pub(crate) async fn load(&self, slug: &str) -> AppResult<Loaded> {
        let row = cohort_row(&self.db, slug).await?;
        self.load_row(row).await
    }

    pub(crate) async fn load_row(&self, row: CohortRow) -> AppResult<Loaded> {
        let tz = core::time_zone(&row.timezone).ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "cohort {} has time zone {}",
                row.slug,
                row.timezone
            ))
        })?;
        let version = courses_repo::version_of(&self.db, row.course_id, row.course_version)
            .await?
            .ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!(
                    "cohort {} lost its course version",
                    row.slug
                ))
            })?;
        let doc = version_document(&version)?;
        Ok(Loaded { row, tz, doc })
    }

    /// The deadlines admins moved, by deliverable.
    pub(crate) async fn overrides(
        &self,
        cohort: Uuid,
    ) -> AppResult<HashMap<String, DateTime<Utc>>> {
        Ok(repo::deadlines(&self.db, cohort)
            .await?
            .into_iter()
            .map(|d| (d.deliverable, d.due_at))
            .collect())
    }

    async fn schedule_item(&self, cohort: &Loaded, deliverable: &str) -> AppResult<ScheduleItem> {
        cohort
            .schedule(&self.overrides(cohort.row.id).await?)
            .into_iter()
            .find(|i| i.deliverable == deliverable)
            .ok_or_else(|| no_deliverable(deliverable))
    }
}

/// The week of a course's last deadline.
fn last_due_week(doc: &CourseDocument) -> u32 {
    let weekly = doc
        .weeks
        .iter()
        .filter(|w| w.deliverable.is_some())
        .map(|w| w.number);
    let projects = doc
        .projects
        .iter()
        .flat_map(|p| p.deliverables.iter())
        .map(|d| d.due_week.unwrap_or(doc.duration_weeks));
    weekly.chain(projects).max().unwrap_or(1).max(1)
}

fn require_admin(actor: &AuthUser) -> AppResult<()> {
    actor.require_role(Role::Admin)?;
    actor.require_write()
}

fn no_deliverable(deliverable: &str) -> AppError {
    AppError::not_found(format!(
        "this cohort's course has no deliverable `{}`",
        clip(deliverable)
    ))
}

fn not_member(handle: &str) -> AppError {
    AppError::not_found(format!(
        "`{}` is not an active member of this cohort",
        clip(handle)
    ))
}

async fn lookup_course(
    db: &nexus_db::Db,
    slug: &str,
) -> AppResult<Option<courses_repo::CourseRow>> {
    match course_row(db, slug).await {
        Ok(c) => Ok(Some(c)),
        Err(AppError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The cohort with this slug; 404 when there is none.
pub(crate) async fn cohort_row(db: &nexus_db::Db, slug: &str) -> AppResult<CohortRow> {
    let row = if nexus_core::hub::is_slug_within(slug, SLUG_MAX) {
        repo::cohort_by_slug(db, slug).await?
    } else {
        None
    };
    row.ok_or_else(|| AppError::not_found(format!("no cohort `{}`", clip(slug))))
}

async fn enrolment_row(
    tx: &mut nexus_db::DbTx,
    cohort: Uuid,
    user: Uuid,
) -> AppResult<EnrolmentRow> {
    repo::enrolment(tx, cohort, user).await?.ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!("an enrolment vanished in its transaction"))
    })
}

fn view(r: CohortRow) -> CohortView {
    CohortView {
        slug: r.slug,
        title: r.title,
        course: r.course_slug,
        course_version: r.course_version,
        starts_on: r.starts_on,
        timezone: r.timezone,
        peer_reviews: r.peer_reviews,
        enrolment: r.enrolment,
        created_at: r.created_at,
    }
}

fn enrolment_view(r: EnrolmentRow) -> EnrolmentView {
    EnrolmentView {
        handle: r.handle,
        display_name: r.display_name,
        role: r.role,
        status: r.status,
        enrolled_at: r.enrolled_at,
        withdrawn_at: r.withdrawn_at,
    }
}
