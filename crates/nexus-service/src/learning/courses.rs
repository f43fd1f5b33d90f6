//! Courses: anyone reads them, admins write them. Every write makes a new version and
//! keeps the older ones unchanged, so a cohort that started on version 3 keeps reading
//! version 3 after the course moves on.

use std::collections::HashSet;

use nexus_core::identity::Role;
use nexus_core::{AppError, Unique, error::AppResult};
use nexus_db::DbTx;
use nexus_db::learning::{self as repo, CourseHead, CourseRow, DeliverableRow};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::code::CourseFiles;
use super::model::{
    CourseDocument, CourseLevel, CourseListItem, CourseVersionInfo, CourseView, ImportReport,
};
use super::rules::{self, Faults};
use crate::actor::AuthUser;
use crate::page::{Page, PageRequest};
use crate::safety::OpClass;

use_case_group! {
    /// Courses: [`super::Learning::courses`].
    Courses
}

/// Which version a write expects the course to be at.
#[derive(Clone, Copy)]
enum Expect {
    /// None: the course must not exist.
    New,
    /// This version (from `If-Match`).
    Version(i32),
    /// Whatever it is, or none (an import: the folder is the truth).
    Any,
}

/// What a write committed, recorded for a retry of the same request.
#[derive(Debug, Serialize, Deserialize)]
struct Committed {
    slug: String,
    version: i32,
    created: bool,
}

/// A course archive as the export answers it.
pub struct Export {
    pub filename: String,
    pub zip: Vec<u8>,
}

impl Courses<'_> {
    /// Courses newest first, a page at a time.
    pub async fn list(
        &self,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<CourseListItem>> {
        self.charge(OpClass::Read).await?;
        let want = PageRequest::new(limit, cursor)?;
        let rows = repo::list_courses(&self.db, want.after, want.fetch()).await?;
        let (rows, next_cursor) = want.split(rows, |r| r.id);
        Ok(Page {
            items: rows.into_iter().map(list_item).collect::<AppResult<_>>()?,
            next_cursor,
        })
    }

    /// A course at its current version, or at `version`.
    pub async fn get(&self, slug: &str, version: Option<i32>) -> AppResult<CourseView> {
        self.charge(OpClass::Read).await?;
        let course = course_row(&self.db, slug).await?;
        self.view(&course, version.unwrap_or(course.version)).await
    }

    /// A course's versions, newest first.
    pub async fn versions(
        &self,
        slug: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<CourseVersionInfo>> {
        self.charge(OpClass::Read).await?;
        let want = PageRequest::new(limit, cursor)?;
        let course = course_row(&self.db, slug).await?;
        let rows = repo::list_versions(&self.db, course.id, want.after, want.fetch()).await?;
        Ok(want.page(
            rows,
            |r| r.id,
            |r| CourseVersionInfo {
                version: r.version,
                title: r.title,
                created_at: r.created_at,
                created_by: r.created_by,
            },
        ))
    }

    /// Creates a course at version 1 (admins).
    pub async fn create(&self, actor: &AuthUser, doc: CourseDocument) -> AppResult<CourseView> {
        self.charge(OpClass::Write).await?;
        let done = match self.committed_before::<Committed>()? {
            Some(done) => done,
            None => {
                require_admin(actor)?;
                let mut doc = doc;
                self.check(&mut doc).await?;
                let (tx, done) = self.store(Some(actor.id), &doc, Expect::New).await?;
                self.commit(tx, done).await?
            }
        };
        self.stored(&done).await
    }

    /// Makes the next version of a course (admins), if `expected_version` is current: 428
    /// without one, 412 when the course moved on since.
    pub async fn update(
        &self,
        actor: &AuthUser,
        slug: &str,
        expected_version: Option<i32>,
        doc: CourseDocument,
    ) -> AppResult<CourseView> {
        self.charge(OpClass::Write).await?;
        let done = match self.committed_before::<Committed>()? {
            Some(done) => done,
            None => {
                require_admin(actor)?;
                let course = course_row(&self.db, slug).await?;
                let expected = expected_version.ok_or_else(|| {
                    AppError::PreconditionRequired(
                        "a change must name the version of the course it starts from".into(),
                    )
                })?;
                if expected != course.version {
                    return Err(stale(course.version));
                }
                let mut doc = doc;
                if doc.slug != course.slug {
                    return Err(AppError::invalid(
                        "slug",
                        format!("must be `{}`, the course being changed", course.slug),
                    ));
                }
                self.check(&mut doc).await?;
                let (tx, done) = self
                    .store(Some(actor.id), &doc, Expect::Version(expected))
                    .await?;
                self.commit(tx, done).await?
            }
        };
        self.stored(&done).await
    }

    /// Imports a course folder (admins): a new course, or the next version of the one
    /// with its slug.
    pub async fn import(&self, actor: &AuthUser, files: CourseFiles) -> AppResult<ImportReport> {
        self.charge(OpClass::Write).await?;
        require_admin(actor)?;
        self.import_files(Some(actor.id), files).await
    }

    /// Imports a course folder from the operator's shell (`nexus course import`), as the
    /// system rather than as a user.
    pub async fn import_as_operator(&self, files: CourseFiles) -> AppResult<ImportReport> {
        self.import_files(None, files).await
    }

    async fn import_files(&self, by: Option<Uuid>, files: CourseFiles) -> AppResult<ImportReport> {
        let mut doc = files.parse()?;
        self.check(&mut doc).await?;
        let done = match self.committed_before::<Committed>()? {
            Some(done) => done,
            None => {
                let (tx, done) = self.store(by, &doc, Expect::Any).await?;
                self.commit(tx, done).await?
            }
        };
        Ok(ImportReport {
            created: done.created,
            progression: rules::progression(&doc),
            ignored_files: files.ignored,
            course: self.stored(&done).await?,
        })
    }

    /// A course version as a course folder in a zip.
    pub async fn export(&self, slug: &str, version: Option<i32>) -> AppResult<Export> {
        let course = self.get(slug, version).await?;
        let zip = CourseFiles::render(&course.document)?.to_zip()?;
        Ok(Export {
            filename: format!("{}-v{}.zip", course.document.slug, course.version),
            zip,
        })
    }

    /// Every rule of a course document, the readings included.
    async fn check(&self, doc: &mut CourseDocument) -> AppResult<()> {
        let mut faults = Faults::default();
        rules::check_course(doc, &mut faults);
        let readings = rules::reading_slugs(doc);
        let known: HashSet<String> = repo::published_notes(&self.db, &readings)
            .await?
            .into_iter()
            .collect();
        rules::check_readings(doc, &known, &mut faults);
        faults.finish()
    }

    /// Writes a checked document as a new course or its next version, in a transaction
    /// the caller commits (with its result, for retries).
    async fn store(
        &self,
        by: Option<Uuid>,
        doc: &CourseDocument,
        expect: Expect,
    ) -> AppResult<(DbTx, Committed)> {
        let json = serde_json::to_string(doc)
            .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("encoding a course")))?;
        let head = CourseHead {
            title: &doc.title,
            summary: &doc.summary,
            level: doc.level.as_str(),
            duration_weeks: doc.duration_weeks as i32,
        };
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        let existing = repo::course_by_slug(&mut tx, &doc.slug).await?;
        let (course_id, version) = match (expect, existing) {
            (Expect::New, Some(_)) => return Err(exists(&doc.slug)),
            (Expect::New | Expect::Any, None) => {
                let id = Uuid::now_v7();
                match repo::insert_course(&mut tx, id, &doc.slug, &head, now).await {
                    // Another request made it between our read and our insert.
                    Err(AppError::Duplicate(Unique::CourseSlug)) => return Err(exists(&doc.slug)),
                    other => other?,
                }
                (id, 1)
            }
            (Expect::Version(_), None) => return Err(no_course(&doc.slug)),
            (Expect::Version(_) | Expect::Any, Some(c)) => {
                let expected = match expect {
                    Expect::Version(v) => v,
                    _ => c.version,
                };
                if repo::advance_course(&mut tx, c.id, expected, &head, now).await? == 0 {
                    let current = repo::course_by_slug(&self.db, &doc.slug)
                        .await?
                        .map_or(expected, |c| c.version);
                    return Err(stale(current));
                }
                (c.id, expected + 1)
            }
        };
        let version_id = Uuid::now_v7();
        repo::insert_version(
            &mut tx, version_id, course_id, version, &doc.title, &json, by, now,
        )
        .await?;
        repo::insert_deliverables(&mut tx, version_id, &deliverable_rows(doc)).await?;
        Ok((
            tx,
            Committed {
                slug: doc.slug.clone(),
                version,
                created: version == 1,
            },
        ))
    }

    /// The answer to a write: the version it made, read back.
    async fn stored(&self, done: &Committed) -> AppResult<CourseView> {
        let course = course_row(&self.db, &done.slug).await?;
        self.view(&course, done.version).await
    }

    async fn view(&self, course: &CourseRow, version: i32) -> AppResult<CourseView> {
        let row = repo::version_of(&self.db, course.id, version)
            .await?
            .ok_or_else(|| {
                AppError::not_found(format!(
                    "the course `{}` has no version {version}",
                    course.slug
                ))
            })?;
        Ok(CourseView {
            version: row.version,
            created_at: row.created_at,
            document: version_document(&row)?,
        })
    }
}

fn require_admin(actor: &AuthUser) -> AppResult<()> {
    actor.require_role(Role::Admin)?;
    actor.require_write()
}

/// A stored version's document.
pub(crate) fn version_document(row: &repo::VersionRow) -> AppResult<CourseDocument> {
    serde_json::from_str(&row.document)
        .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("reading a stored course")))
}

/// The course with this slug; 404 when there is none.
pub(crate) async fn course_row(db: &nexus_db::Db, slug: &str) -> AppResult<CourseRow> {
    let row = if nexus_core::hub::is_slug_within(slug, rules::SLUG_MAX) {
        repo::course_by_slug(db, slug).await?
    } else {
        None
    };
    row.ok_or_else(|| no_course(slug))
}

fn no_course(slug: &str) -> AppError {
    AppError::not_found(format!("no course `{}`", rules::clip(slug)))
}

fn exists(slug: &str) -> AppError {
    AppError::Conflict(format!(
        "the course `{slug}` exists; change it with PUT and If-Match"
    ))
}

fn stale(current: i32) -> AppError {
    AppError::PreconditionFailed(format!(
        "the course is at version {current}; fetch it again and apply the change to it"
    ))
}

fn list_item(r: CourseRow) -> AppResult<CourseListItem> {
    Ok(CourseListItem {
        level: CourseLevel::parse(&r.level).ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("unknown course level `{}` stored", r.level))
        })?,
        slug: r.slug,
        title: r.title,
        summary: r.summary,
        duration_weeks: r.duration_weeks,
        version: r.version,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

/// Every deliverable of a document with the week it is due at the end of.
fn deliverable_rows(doc: &CourseDocument) -> Vec<DeliverableRow<'_>> {
    let weekly = doc.weeks.iter().filter_map(|w| {
        w.deliverable.as_ref().map(|d| DeliverableRow {
            slug: &d.slug,
            due_week: w.number as i32,
            project: None,
            rubric: &d.rubric,
        })
    });
    let projects = doc.projects.iter().flat_map(|p| {
        p.deliverables.iter().map(|d| DeliverableRow {
            slug: &d.slug,
            due_week: d.due_week.unwrap_or(0) as i32,
            project: Some(p.slug.as_str()),
            rubric: &d.rubric,
        })
    });
    weekly.chain(projects).collect()
}
