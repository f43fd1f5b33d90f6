//! Queries for the learning domain: courses, their versions and the deliverables each
//! version defines.

use chrono::{DateTime, Utc};
use nexus_core::error::AppResult;
use uuid::Uuid;

use crate::exec::{Exec, placeholders, query};

/// A course as lists show it: the summary of its current version.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CourseRow {
    pub id: Uuid,
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub level: String,
    pub duration_weeks: i32,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COURSE_COLUMNS: &str = "SELECT id, slug, title, summary, level, duration_weeks, version, \
     created_at, updated_at FROM courses";

/// One stored version with its document.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VersionRow {
    pub id: Uuid,
    pub version: i32,
    pub document: String,
    pub created_at: DateTime<Utc>,
}

/// One version in a history list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VersionInfoRow {
    pub id: Uuid,
    pub version: i32,
    pub title: String,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<String>,
}

/// What a course's row says about its current version.
pub struct CourseHead<'a> {
    pub title: &'a str,
    pub summary: &'a str,
    pub level: &'a str,
    pub duration_weeks: i32,
}

/// A deliverable a version defines: slug, the week it is due, its project, its rubric.
pub struct DeliverableRow<'a> {
    pub slug: &'a str,
    pub due_week: i32,
    pub project: Option<&'a str>,
    pub rubric: &'a str,
}

pub async fn course_by_slug(x: impl Into<Exec<'_>>, slug: &str) -> AppResult<Option<CourseRow>> {
    x.into()
        .fetch_optional(query(format!("{COURSE_COLUMNS} WHERE slug = $1")).bind(slug))
        .await
}

pub async fn insert_course(
    x: impl Into<Exec<'_>>,
    id: Uuid,
    slug: &str,
    head: &CourseHead<'_>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    x.into()
        .execute(
            query(
                "INSERT INTO courses (id, slug, title, summary, level, duration_weeks, version, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7)",
            )
            .bind(id)
            .bind(slug)
            .bind(head.title)
            .bind(head.summary)
            .bind(head.level)
            .bind(head.duration_weeks)
            .bind(now),
        )
        .await?;
    Ok(())
}

/// Moves a course from version `expected` to the next; 0 rows when someone else moved it
/// first.
pub async fn advance_course(
    x: impl Into<Exec<'_>>,
    id: Uuid,
    expected: i32,
    head: &CourseHead<'_>,
    now: DateTime<Utc>,
) -> AppResult<u64> {
    x.into()
        .execute(
            query(
                "UPDATE courses SET version = version + 1, title = $3, summary = $4, level = $5, \
                 duration_weeks = $6, updated_at = $7 WHERE id = $1 AND version = $2",
            )
            .bind(id)
            .bind(expected)
            .bind(head.title)
            .bind(head.summary)
            .bind(head.level)
            .bind(head.duration_weeks)
            .bind(now),
        )
        .await
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_version(
    x: impl Into<Exec<'_>>,
    id: Uuid,
    course: Uuid,
    version: i32,
    title: &str,
    document: &str,
    created_by: Option<Uuid>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    x.into()
        .execute(
            query(
                "INSERT INTO course_versions (id, course_id, version, title, document, \
                 created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(course)
            .bind(version)
            .bind(title)
            .bind(document)
            .bind(created_by)
            .bind(now),
        )
        .await?;
    Ok(())
}

pub async fn insert_deliverables(
    x: impl Into<Exec<'_>>,
    version: Uuid,
    rows: &[DeliverableRow<'_>],
) -> AppResult<()> {
    x.into()
        .insert_rows(
            "INSERT INTO course_deliverables (version_id, slug, due_week, project, rubric)",
            5,
            rows,
            |b, r| {
                b.bind(version)
                    .bind(r.slug)
                    .bind(r.due_week)
                    .bind(r.project)
                    .bind(r.rubric);
            },
        )
        .await
}

pub async fn version_of(
    x: impl Into<Exec<'_>>,
    course: Uuid,
    version: i32,
) -> AppResult<Option<VersionRow>> {
    x.into()
        .fetch_optional(
            query(
                "SELECT id, version, document, created_at FROM course_versions \
                 WHERE course_id = $1 AND version = $2",
            )
            .bind(course)
            .bind(version),
        )
        .await
}

/// Courses newest first, after the cursor's id; `limit` rows.
pub async fn list_courses(
    x: impl Into<Exec<'_>>,
    after: Option<Uuid>,
    limit: u32,
) -> AppResult<Vec<CourseRow>> {
    let mut q = query(COURSE_COLUMNS);
    if let Some(after) = after {
        q.push(" WHERE id < ").push_bind(after);
    }
    q.push(" ORDER BY id DESC LIMIT ")
        .push_bind(i64::from(limit));
    x.into().fetch_all(q).await
}

/// A course's versions newest first, after the cursor's id; `limit` rows.
pub async fn list_versions(
    x: impl Into<Exec<'_>>,
    course: Uuid,
    after: Option<Uuid>,
    limit: u32,
) -> AppResult<Vec<VersionInfoRow>> {
    let mut q = query(
        "SELECT v.id, v.version, v.title, v.created_at, u.handle AS created_by \
         FROM course_versions v LEFT JOIN users u ON u.id = v.created_by WHERE v.course_id = $1",
    )
    .bind(course);
    if let Some(after) = after {
        q.push(" AND v.id < ").push_bind(after);
    }
    q.push(" ORDER BY v.id DESC LIMIT ")
        .push_bind(i64::from(limit));
    x.into().fetch_all(q).await
}

/// Those of `slugs` that are published notes.
pub async fn published_notes(x: impl Into<Exec<'_>>, slugs: &[String]) -> AppResult<Vec<String>> {
    if slugs.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT slug FROM notes WHERE status = 'published' AND slug IN ({})",
        placeholders(1, slugs.len())
    );
    x.into().scalars(query(sql).bind_all(slugs)).await
}
