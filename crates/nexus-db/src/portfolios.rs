//! Queries for portfolios and their entries, and for what a public portfolio shows
//! beside them (the owner's published notes).

use chrono::{DateTime, Utc};
use nexus_core::error::AppResult;
use nexus_core::learning::Visibility;
use uuid::Uuid;

use crate::exec::{Exec, query};

/// A portfolio with its owner named.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PortfolioRow {
    pub user_id: Uuid,
    pub handle: String,
    pub display_name: String,
    pub visibility: Visibility,
    pub headline: String,
    pub bio: String,
    pub updated_at: DateTime<Utc>,
}

const PORTFOLIO_COLUMNS: &str = "SELECT p.user_id, u.handle, u.display_name, p.visibility, \
     p.headline, p.bio, p.updated_at FROM portfolios p JOIN users u ON u.id = p.user_id";

pub async fn portfolio(x: impl Into<Exec<'_>>, user: Uuid) -> AppResult<Option<PortfolioRow>> {
    x.into()
        .fetch_optional(query(format!("{PORTFOLIO_COLUMNS} WHERE p.user_id = $1")).bind(user))
        .await
}

pub async fn portfolio_by_handle(
    x: impl Into<Exec<'_>>,
    handle: &str,
) -> AppResult<Option<PortfolioRow>> {
    x.into()
        .fetch_optional(query(format!("{PORTFOLIO_COLUMNS} WHERE u.handle = $1")).bind(handle))
        .await
}

/// What `PUT /me/portfolio` writes.
pub struct PortfolioWrite<'a> {
    pub user: Uuid,
    pub visibility: Visibility,
    pub headline: &'a str,
    pub bio: &'a str,
    pub now: DateTime<Utc>,
}

/// Creates or replaces the portfolio's own fields (its entries are replaced apart).
pub async fn upsert_portfolio(x: impl Into<Exec<'_>>, p: &PortfolioWrite<'_>) -> AppResult<()> {
    let sql = "INSERT INTO portfolios (user_id, visibility, headline, bio, created_at, updated_at) \
               VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (user_id) DO UPDATE SET \
               visibility = excluded.visibility, headline = excluded.headline, \
               bio = excluded.bio, updated_at = excluded.updated_at";
    x.into()
        .run(query(sql).args((p.user, p.visibility, p.headline, p.bio, p.now)))
        .await
}

/// One entry as stored, with what its submission says of itself.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EntryRow {
    pub submission_id: Uuid,
    pub narrative: String,
    pub visibility: Visibility,
    pub cohort_id: Uuid,
    pub cohort_slug: String,
    pub deliverable: String,
    pub learner_id: Uuid,
}

/// A portfolio's entries in their order. Only entries whose submission is the owner's
/// are returned, whatever was stored.
pub async fn entries(x: impl Into<Exec<'_>>, user: Uuid) -> AppResult<Vec<EntryRow>> {
    x.into()
        .fetch_all(
            query(
                "SELECT e.submission_id, e.narrative, e.visibility, s.cohort_id, \
                 c.slug AS cohort_slug, s.deliverable, s.learner_id FROM portfolio_entries e \
                 JOIN submissions s ON s.id = e.submission_id AND s.learner_id = e.user_id \
                 JOIN cohorts c ON c.id = s.cohort_id WHERE e.user_id = $1 \
                 ORDER BY e.position",
            )
            .bind(user),
        )
        .await
}

/// A new entry, at `position` in the list.
pub struct NewEntry<'a> {
    pub submission: Uuid,
    pub position: i32,
    pub narrative: &'a str,
    pub visibility: Visibility,
}

/// Replaces every entry of a portfolio.
pub async fn replace_entries(
    x: impl Into<Exec<'_>>,
    user: Uuid,
    entries: &[NewEntry<'_>],
) -> AppResult<()> {
    let mut x = x.into();
    x.run(query("DELETE FROM portfolio_entries WHERE user_id = $1").bind(user))
        .await?;
    x.insert_rows(
        "INSERT INTO portfolio_entries (user_id, submission_id, position, narrative, visibility)",
        5,
        entries,
        |b, e| {
            b.bind(user)
                .bind(e.submission)
                .bind(e.position)
                .bind(e.narrative)
                .bind(e.visibility);
        },
    )
    .await
}

/// Whether `upload` is cited by the revision a public entry of a public portfolio
/// shows: the latest revision of the entry's submission that a mentor reviewed. This is
/// the one way an upload becomes readable to anyone; the same joins decide what the
/// public portfolio lists as artifacts.
pub async fn publicly_cited(x: impl Into<Exec<'_>>, upload: Uuid) -> AppResult<bool> {
    let found: Option<i32> = x
        .into()
        .scalar_optional(
            query(
                "SELECT 1 FROM revision_uploads ru \
                 JOIN submission_revisions v ON v.id = ru.revision_id \
                 JOIN portfolio_entries e ON e.submission_id = v.submission_id \
                 JOIN portfolios p ON p.user_id = e.user_id \
                 JOIN submissions s ON s.id = v.submission_id AND s.learner_id = e.user_id \
                 WHERE ru.upload_id = $1 AND p.visibility = 'public' \
                 AND e.visibility = 'public' \
                 AND v.revision = (SELECT MAX(r.revision) FROM reviews r \
                                   WHERE r.submission_id = v.submission_id \
                                   AND r.role = 'mentor') \
                 LIMIT 1",
            )
            .bind(upload),
        )
        .await?;
    Ok(found.is_some())
}

/// A published note of a portfolio's owner.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PublishedNoteRow {
    pub slug: String,
    pub title: String,
    pub kind: nexus_core::hub::NoteKind,
    pub published_at: Option<DateTime<Utc>>,
}

/// The owner's published notes, newest first, at most `limit`.
pub async fn published_notes(
    x: impl Into<Exec<'_>>,
    author: Uuid,
    limit: i64,
) -> AppResult<Vec<PublishedNoteRow>> {
    x.into()
        .fetch_all(
            query(
                "SELECT slug, title, kind, published_at FROM notes \
                 WHERE author_id = $1 AND status = 'published' \
                 ORDER BY published_at DESC, id DESC LIMIT $2",
            )
            .args((author, limit)),
        )
        .await
}
