//! Queries for topics, notes, revisions, links and search.
//!
//! Full-text search is the one place where the backends differ in kind: SQLite keeps an
//! FTS5 table written by [`index_note`] in the note's transaction; PostgreSQL derives a
//! generated `tsvector` column, so [`index_note`] has nothing to do there. Both branches
//! sit side by side in [`index_note`] and [`search`].

use chrono::{DateTime, Utc};
use nexus_core::error::AppResult;
use uuid::Uuid;

use crate::{Db, DbTx, Pool, timed, with_pool, with_tx};

// ---- topics -----------------------------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TopicRow {
    pub id: Uuid,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub note_count: i64,
}

pub(crate) const TOPIC_SELECT: &str = "SELECT t.id, t.slug, t.title, t.description, t.created_at, t.updated_at, \
     (SELECT COUNT(*) FROM note_topics nt JOIN notes n ON n.id = nt.note_id \
       WHERE nt.topic_id = t.id AND n.status = 'published') AS note_count FROM topics t";

pub async fn insert_topic(
    tx: &mut DbTx,
    id: Uuid,
    slug: &str,
    title: &str,
    description: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let t = tx.timeout();
    with_tx!(tx, |c| timed(
        t,
        sqlx::query(
            "INSERT INTO topics (id, slug, title, description, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5)"
        )
        .bind(id)
        .bind(slug)
        .bind(title)
        .bind(description)
        .bind(now)
        .execute(c)
    )
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn update_topic(
    tx: &mut DbTx,
    id: Uuid,
    title: Option<&str>,
    description: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let t = tx.timeout();
    with_tx!(tx, |c| {
        timed(
        t,
        sqlx::query(
            "UPDATE topics SET title = COALESCE($2, title), description = COALESCE($3, description), \
             updated_at = $4 WHERE id = $1"
        )
        .bind(id)
        .bind(title)
        .bind(description)
        .bind(now)
        .execute(c)
    )
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}

pub async fn topic_by_slug(db: &Db, slug: &str) -> AppResult<Option<TopicRow>> {
    let sql = format!("{TOPIC_SELECT} WHERE t.slug = $1");
    with_pool!(db, |p| db
        .run(
            sqlx::query_as::<_, TopicRow>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(slug)
                .fetch_optional(p)
        )
        .await)
}

pub async fn list_topics(db: &Db) -> AppResult<Vec<TopicRow>> {
    let sql = format!("{TOPIC_SELECT} ORDER BY t.slug LIMIT 1000");
    with_pool!(db, |p| db
        .run(sqlx::query_as::<_, TopicRow>(sqlx::AssertSqlSafe(sql.clone())).fetch_all(p))
        .await)
}

/// Topics sharing published notes with `topic_id`, most shared first.
pub async fn related_topics(db: &Db, topic_id: Uuid) -> AppResult<Vec<(String, String, i64)>> {
    with_pool!(db, |p| {
        db
        .run(
            sqlx::query_as::<_, (String, String, i64)>(
                "SELECT t.slug, t.title, COUNT(*) AS shared FROM note_topics a \
                 JOIN notes n ON n.id = a.note_id AND n.status = 'published' \
                 JOIN note_topics b ON b.note_id = a.note_id AND b.topic_id <> a.topic_id \
                 JOIN topics t ON t.id = b.topic_id \
                 WHERE a.topic_id = $1 GROUP BY t.slug, t.title ORDER BY shared DESC, t.slug LIMIT 20"
            )
            .bind(topic_id)
            .fetch_all(p)
        )
        .await
    })
}

/// Ids of the topics with these slugs, in no particular order.
pub async fn topic_ids(db: &Db, slugs: &[String]) -> AppResult<Vec<(Uuid, String)>> {
    if slugs.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id, slug FROM topics WHERE slug IN ({})",
        placeholders(1, slugs.len())
    );
    with_pool!(db, |p| {
        let mut q = sqlx::query_as::<_, (Uuid, String)>(sqlx::AssertSqlSafe(sql.clone()));
        for s in slugs {
            q = q.bind(s);
        }
        db.run(q.fetch_all(p)).await
    })
}

/// `$start, $start+1, …` for `n` parameters: the only dynamic SQL here, and it holds no
/// user input.
pub(crate) fn placeholders(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---- notes ------------------------------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NoteRow {
    pub id: Uuid,
    pub slug: String,
    pub author_id: Uuid,
    pub author_handle: String,
    pub author_name: String,
    pub kind: String,
    pub status: String,
    pub title: String,
    pub summary: String,
    pub body_md: String,
    pub body_html: String,
    pub problem: Option<String>,
    pub solution: Option<String>,
    pub outcome: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
}

pub(crate) const NOTE_SELECT: &str = "SELECT n.id, n.slug, n.author_id, u.handle AS author_handle, \
     u.display_name AS author_name, n.kind, n.status, n.title, n.summary, n.body_md, n.body_html, \
     n.problem, n.solution, n.outcome, n.version, n.created_at, n.updated_at, n.published_at \
     FROM notes n JOIN users u ON u.id = n.author_id";

/// Every stored field of a note that an edit can change.
pub struct NoteContent<'a> {
    pub kind: &'a str,
    pub status: &'a str,
    pub title: &'a str,
    pub summary: &'a str,
    pub body_md: &'a str,
    pub body_html: &'a str,
    pub body_text: &'a str,
    pub problem: Option<&'a str>,
    pub solution: Option<&'a str>,
    pub outcome: Option<&'a str>,
}

pub async fn insert_note(
    tx: &mut DbTx,
    id: Uuid,
    slug: &str,
    author: Uuid,
    n: &NoteContent<'_>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let t = tx.timeout();
    let published_at = (n.status == "published").then_some(now);
    with_tx!(tx, |c| {
        timed(
        t,
        sqlx::query(
            "INSERT INTO notes (id, slug, author_id, kind, status, title, summary, body_md, body_html, \
             body_text, problem, solution, outcome, version, created_at, updated_at, published_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, $14, $14, $15)"
        )
        .bind(id)
        .bind(slug)
        .bind(author)
        .bind(n.kind)
        .bind(n.status)
        .bind(n.title)
        .bind(n.summary)
        .bind(n.body_md)
        .bind(n.body_html)
        .bind(n.body_text)
        .bind(n.problem)
        .bind(n.solution)
        .bind(n.outcome)
        .bind(now)
        .bind(published_at)
        .execute(c)
    )
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Writes new content if the note is still at `expected_version`; returns false when
/// someone else changed it first (the caller answers 412).
pub async fn update_note(
    tx: &mut DbTx,
    id: Uuid,
    expected_version: i32,
    n: &NoteContent<'_>,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let t = tx.timeout();
    let done = with_tx!(tx, |c| {
        timed(
        t,
        sqlx::query(
            "UPDATE notes SET kind = $3, status = $4, title = $5, summary = $6, body_md = $7, \
             body_html = $8, body_text = $9, problem = $10, solution = $11, outcome = $12, \
             version = version + 1, updated_at = $13, \
             published_at = CASE WHEN $4 = 'published' THEN COALESCE(published_at, $13) ELSE published_at END \
             WHERE id = $1 AND version = $2"
        )
        .bind(id)
        .bind(expected_version)
        .bind(n.kind)
        .bind(n.status)
        .bind(n.title)
        .bind(n.summary)
        .bind(n.body_md)
        .bind(n.body_html)
        .bind(n.body_text)
        .bind(n.problem)
        .bind(n.solution)
        .bind(n.outcome)
        .bind(now)
        .execute(c)
    )
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(done == 1)
}

pub async fn set_status(
    tx: &mut DbTx,
    id: Uuid,
    status: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let t = tx.timeout();
    with_tx!(tx, |c| timed(
        t,
        sqlx::query(
            "UPDATE notes SET status = $2, version = version + 1, updated_at = $3 WHERE id = $1"
        )
        .bind(id)
        .bind(status)
        .bind(now)
        .execute(c)
    )
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn note_by_slug(db: &Db, slug: &str) -> AppResult<Option<NoteRow>> {
    let sql = format!("{NOTE_SELECT} WHERE n.slug = $1");
    with_pool!(db, |p| db
        .run(
            sqlx::query_as::<_, NoteRow>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(slug)
                .fetch_optional(p)
        )
        .await)
}

pub async fn slug_taken(tx: &mut DbTx, slug: &str) -> AppResult<bool> {
    let t = tx.timeout();
    let n: i64 = with_tx!(tx, |c| timed(
        t,
        sqlx::query_scalar("SELECT COUNT(*) FROM notes WHERE slug = $1")
            .bind(slug)
            .fetch_one(c)
    )
    .await)?;
    Ok(n > 0)
}

pub async fn set_topics(tx: &mut DbTx, note: Uuid, topics: &[Uuid]) -> AppResult<()> {
    replace_rows(
        tx,
        "DELETE FROM note_topics WHERE note_id = $1",
        "INSERT INTO note_topics (note_id, topic_id) VALUES ($1, $2)",
        note,
        topics,
    )
    .await
}

pub async fn set_tags(tx: &mut DbTx, note: Uuid, tags: &[String]) -> AppResult<()> {
    replace_rows(
        tx,
        "DELETE FROM note_tags WHERE note_id = $1",
        "INSERT INTO note_tags (note_id, tag) VALUES ($1, $2)",
        note,
        tags,
    )
    .await
}

/// Replaces a note's rows in a child table: delete them all, insert one per value.
async fn replace_rows<V>(
    tx: &mut DbTx,
    delete: &'static str,
    insert: &'static str,
    note: Uuid,
    values: &[V],
) -> AppResult<()>
where
    V: Sync
        + for<'q> sqlx::Encode<'q, sqlx::Sqlite>
        + sqlx::Type<sqlx::Sqlite>
        + for<'q> sqlx::Encode<'q, sqlx::Postgres>
        + sqlx::Type<sqlx::Postgres>,
{
    let t = tx.timeout();
    with_tx!(tx, |c| timed(
        t,
        sqlx::query(delete).bind(note).execute(&mut *c)
    )
    .await
    .map(|r| r.rows_affected()))?;
    for value in values {
        with_tx!(tx, |c| timed(
            t,
            sqlx::query(insert).bind(note).bind(value).execute(c)
        )
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// Topic slugs and tags of several notes in two queries (never one per note).
pub async fn topics_and_tags(
    db: &Db,
    notes: &[Uuid],
) -> AppResult<(Vec<(Uuid, String)>, Vec<(Uuid, String)>)> {
    if notes.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let list = placeholders(1, notes.len());
    let topics_sql = format!(
        "SELECT nt.note_id, t.slug FROM note_topics nt JOIN topics t ON t.id = nt.topic_id \
         WHERE nt.note_id IN ({list}) ORDER BY t.slug"
    );
    let tags_sql =
        format!("SELECT note_id, tag FROM note_tags WHERE note_id IN ({list}) ORDER BY tag");
    with_pool!(db, |p| {
        let mut q = sqlx::query_as::<_, (Uuid, String)>(sqlx::AssertSqlSafe(topics_sql.clone()));
        for id in notes {
            q = q.bind(id);
        }
        let topics = db.run(q.fetch_all(p)).await?;
        let mut q = sqlx::query_as::<_, (Uuid, String)>(sqlx::AssertSqlSafe(tags_sql.clone()));
        for id in notes {
            q = q.bind(id);
        }
        let tags = db.run(q.fetch_all(p)).await?;
        Ok((topics, tags))
    })
}

/// List filters. Visibility is decided by the service and passed in as `status` plus
/// `author`: drafts are only ever asked for together with the caller's own id.
#[derive(Debug, Default)]
pub struct NoteFilter<'a> {
    pub status: &'a str,
    pub topic: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub author: Option<Uuid>,
    pub tag: Option<&'a str>,
    /// Sort by last update instead of creation.
    pub by_updated: bool,
    /// The position after the previous page: `(updated_at, id)` or `(_, id)`.
    pub after: Option<(Option<DateTime<Utc>>, Uuid)>,
    pub limit: u32,
}

pub async fn list_notes(db: &Db, f: &NoteFilter<'_>) -> AppResult<Vec<NoteRow>> {
    let (order, keyset) = if f.by_updated {
        (
            "ORDER BY n.updated_at DESC, n.id DESC",
            "AND ($6 IS NULL OR n.updated_at < $6 OR (n.updated_at = $6 AND n.id < $7))",
        )
    } else {
        // $6 is unused in this order but still bound, so both statements take the same
        // parameter list; the no-op keeps SQLite from refusing an unreferenced parameter.
        (
            "ORDER BY n.id DESC",
            "AND ($6 IS NULL OR TRUE) AND ($7 IS NULL OR n.id < $7)",
        )
    };
    let sql = format!(
        "{NOTE_SELECT} WHERE n.status = $1 \
         AND ($2 IS NULL OR EXISTS (SELECT 1 FROM note_topics nt JOIN topics t ON t.id = nt.topic_id \
                                    WHERE nt.note_id = n.id AND t.slug = $2)) \
         AND ($3 IS NULL OR n.kind = $3) \
         AND ($4 IS NULL OR n.author_id = $4) \
         AND ($5 IS NULL OR EXISTS (SELECT 1 FROM note_tags g WHERE g.note_id = n.id AND g.tag = $5)) \
         {keyset} {order} LIMIT $8"
    );
    let (after_ts, after_id) = match f.after {
        Some((ts, id)) => (ts, Some(id)),
        None => (None, None),
    };
    with_pool!(db, |p| db
        .run(
            sqlx::query_as::<_, NoteRow>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(f.status)
                .bind(f.topic)
                .bind(f.kind)
                .bind(f.author)
                .bind(f.tag)
                .bind(after_ts)
                .bind(after_id)
                .bind(i64::from(f.limit))
                .fetch_all(p)
        )
        .await)
}

// ---- revisions ----------------------------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RevisionRow {
    pub number: i32,
    pub editor_handle: String,
    pub message: String,
    pub kind: String,
    pub title: String,
    pub body_md: String,
    pub problem: Option<String>,
    pub solution: Option<String>,
    pub outcome: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub struct NewRevision<'a> {
    pub note: Uuid,
    pub number: i32,
    pub editor: Uuid,
    pub message: &'a str,
    pub content: &'a NoteContent<'a>,
    pub now: DateTime<Utc>,
}

pub async fn insert_revision(tx: &mut DbTx, r: &NewRevision<'_>) -> AppResult<()> {
    let t = tx.timeout();
    with_tx!(tx, |c| {
        timed(
        t,
        sqlx::query(
            "INSERT INTO note_revisions (note_id, number, editor_id, message, kind, title, body_md, \
             problem, solution, outcome, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        )
        .bind(r.note)
        .bind(r.number)
        .bind(r.editor)
        .bind(r.message)
        .bind(r.content.kind)
        .bind(r.content.title)
        .bind(r.content.body_md)
        .bind(r.content.problem)
        .bind(r.content.solution)
        .bind(r.content.outcome)
        .bind(r.now)
        .execute(c)
    )
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}

const REVISION_SELECT: &str = "SELECT r.number, u.handle AS editor_handle, r.message, r.kind, r.title, \
     r.body_md, r.problem, r.solution, r.outcome, r.created_at \
     FROM note_revisions r JOIN users u ON u.id = r.editor_id";

pub async fn revisions(db: &Db, note: Uuid) -> AppResult<Vec<RevisionRow>> {
    let sql = format!("{REVISION_SELECT} WHERE r.note_id = $1 ORDER BY r.number DESC LIMIT 1000");
    with_pool!(db, |p| db
        .run(
            sqlx::query_as::<_, RevisionRow>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(note)
                .fetch_all(p)
        )
        .await)
}

pub async fn revision(db: &Db, note: Uuid, number: i32) -> AppResult<Option<RevisionRow>> {
    let sql = format!("{REVISION_SELECT} WHERE r.note_id = $1 AND r.number = $2");
    with_pool!(db, |p| db
        .run(
            sqlx::query_as::<_, RevisionRow>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(note)
                .bind(number)
                .fetch_optional(p)
        )
        .await)
}

// ---- links --------------------------------------------------------------------------------

/// Replaces a note's outgoing links, resolving each slug to a note if one exists.
pub async fn set_links(tx: &mut DbTx, source: Uuid, slugs: &[String]) -> AppResult<()> {
    let t = tx.timeout();
    with_tx!(tx, |c| timed(
        t,
        sqlx::query("DELETE FROM note_links WHERE source_id = $1")
            .bind(source)
            .execute(&mut *c)
    )
    .await
    .map(|r| r.rows_affected()))?;
    for slug in slugs {
        with_tx!(tx, |c| timed(
            t,
            sqlx::query(
                "INSERT INTO note_links (source_id, target_slug, target_id) \
                 VALUES ($1, $2, (SELECT id FROM notes WHERE slug = $2))"
            )
            .bind(source)
            .bind(slug)
            .execute(c)
        )
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// A note now exists at `slug`: links written before it pointed at nothing; now they point
/// at it.
pub async fn resolve_links_to(tx: &mut DbTx, slug: &str, target: Uuid) -> AppResult<()> {
    let t = tx.timeout();
    with_tx!(tx, |c| timed(
        t,
        sqlx::query(
            "UPDATE note_links SET target_id = $2 WHERE target_slug = $1 AND target_id IS NULL"
        )
        .bind(slug)
        .bind(target)
        .execute(c)
    )
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Published notes linking to `target`, newest first.
pub async fn backlinks(db: &Db, target: Uuid) -> AppResult<Vec<NoteRow>> {
    let sql = format!(
        "{NOTE_SELECT} WHERE n.status = 'published' AND n.id IN \
         (SELECT source_id FROM note_links WHERE target_id = $1) ORDER BY n.id DESC LIMIT 200"
    );
    with_pool!(db, |p| db
        .run(
            sqlx::query_as::<_, NoteRow>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(target)
                .fetch_all(p)
        )
        .await)
}

// ---- search -------------------------------------------------------------------------------

/// Keeps the search index in step with a note, inside the note's transaction.
pub async fn index_note(tx: &mut DbTx, note: Uuid, title: &str, body: &str) -> AppResult<()> {
    let t = tx.timeout();
    match &mut tx.tx {
        crate::Tx::Sqlite(c) => {
            timed(
                t,
                sqlx::query("DELETE FROM notes_fts WHERE note_id = $1")
                    .bind(note)
                    .execute(&mut **c),
            )
            .await?;
            timed(
                t,
                sqlx::query("INSERT INTO notes_fts (title, body, note_id) VALUES ($1, $2, $3)")
                    .bind(title)
                    .bind(body)
                    .bind(note)
                    .execute(&mut **c),
            )
            .await?;
        }
        // PostgreSQL: the generated `search` column follows title and body_text by itself.
        crate::Tx::Postgres(_) => {}
    }
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SearchHit {
    pub slug: String,
    pub title: String,
    pub snippet: String,
    pub score: f64,
}

pub struct SearchFilter<'a> {
    /// The query in FTS5 syntax (SQLite).
    pub fts5: &'a str,
    /// The query in `websearch_to_tsquery` syntax (PostgreSQL).
    pub websearch: &'a str,
    pub topic: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub limit: u32,
}

/// Published notes matching the query, best first, with a highlighted snippet. Scores are
/// comparable within one answer only (bm25 on SQLite, ts_rank_cd on PostgreSQL).
pub async fn search(db: &Db, f: &SearchFilter<'_>) -> AppResult<Vec<SearchHit>> {
    let filters = "AND n.status = 'published' \
         AND ($2 IS NULL OR EXISTS (SELECT 1 FROM note_topics nt JOIN topics t ON t.id = nt.topic_id \
                                    WHERE nt.note_id = n.id AND t.slug = $2)) \
         AND ($3 IS NULL OR n.kind = $3)";
    match db.pool() {
        Pool::Sqlite(p) => {
            // bm25 weights: a title hit counts ten times a body hit. bm25 is lower-is-better,
            // so the score is its negation.
            let sql = format!(
                "SELECT n.slug, n.title, snippet(notes_fts, 1, '<mark>', '</mark>', '…', 16) AS snippet, \
                 -bm25(notes_fts, 10.0, 1.0) AS score \
                 FROM notes_fts JOIN notes n ON n.id = notes_fts.note_id \
                 WHERE notes_fts MATCH $1 {filters} ORDER BY bm25(notes_fts, 10.0, 1.0) LIMIT $4"
            );
            db.run(
                sqlx::query_as::<_, SearchHit>(sqlx::AssertSqlSafe(sql))
                    .bind(f.fts5)
                    .bind(f.topic)
                    .bind(f.kind)
                    .bind(i64::from(f.limit))
                    .fetch_all(p),
            )
            .await
        }
        Pool::Postgres(p) => {
            // Rank on the index first, then build headlines for the page only:
            // ts_headline re-parses the text and is the expensive part.
            let sql = format!(
                "WITH q AS (SELECT websearch_to_tsquery('english', $1) AS query), \
                 hits AS (SELECT n.id, n.slug, n.title, n.body_text, \
                          ts_rank_cd('{{0.1, 0.2, 0.4, 1.0}}', n.search, q.query)::float8 AS score \
                          FROM notes n, q WHERE n.search @@ q.query {filters} \
                          ORDER BY score DESC, n.id DESC LIMIT $4) \
                 SELECT hits.slug, hits.title, \
                 ts_headline('english', hits.body_text, q.query, \
                   'StartSel=<mark>, StopSel=</mark>, MaxWords=24, MinWords=8, MaxFragments=1, FragmentDelimiter=…') AS snippet, \
                 hits.score FROM hits, q ORDER BY hits.score DESC, hits.id DESC"
            );
            db.run(
                sqlx::query_as::<_, SearchHit>(sqlx::AssertSqlSafe(sql))
                    .bind(f.websearch)
                    .bind(f.topic)
                    .bind(f.kind)
                    .bind(i64::from(f.limit))
                    .fetch_all(p),
            )
            .await
        }
    }
}
