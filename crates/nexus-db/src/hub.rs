//! Queries for topics, notes, revisions, links and search.
//!
//! Full-text search is the one place where the backends differ in kind: SQLite keeps an
//! FTS5 table written by [`index_note`] in the note's transaction; PostgreSQL derives a
//! generated `tsvector` column, so [`index_note`] has nothing to do there. Both branches
//! sit side by side in [`index_note`] and [`search`].

use chrono::{DateTime, Utc};
use nexus_core::error::AppResult;
use nexus_core::hub::{NoteKind, NoteStatus};
use uuid::Uuid;

use crate::exec::{Exec, Query, placeholders, query, rows_per_statement};
use crate::{Backend, Db};

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

/// The columns of a [`TopicRow`] before its count, from `topics t`.
macro_rules! topic_columns {
    () => {
        "SELECT t.id, t.slug, t.title, t.description, t.created_at, t.updated_at"
    };
}
pub(crate) const TOPIC_SELECT: &str = concat!(
    topic_columns!(),
    ", (SELECT COUNT(*) FROM note_topics nt JOIN notes n ON n.id = nt.note_id \
       WHERE nt.topic_id = t.id AND n.status = 'published') AS note_count FROM topics t"
);

pub async fn insert_topic(
    x: impl Into<Exec<'_>>,
    id: Uuid,
    slug: &str,
    title: &str,
    description: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let sql = "INSERT INTO topics (id, slug, title, description, created_at, updated_at) \
               VALUES ($1, $2, $3, $4, $5, $5)";
    x.into()
        .run(query(sql).args((id, slug, title, description, now)))
        .await
}

pub async fn update_topic(
    x: impl Into<Exec<'_>>,
    id: Uuid,
    title: Option<&str>,
    description: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let sql = "UPDATE topics SET title = COALESCE($2, title), \
               description = COALESCE($3, description), updated_at = $4 WHERE id = $1";
    x.into()
        .run(query(sql).args((id, title, description, now)))
        .await
}

pub async fn topic_by_slug(x: impl Into<Exec<'_>>, slug: &str) -> AppResult<Option<TopicRow>> {
    x.into()
        .fetch_optional(query(format!("{TOPIC_SELECT} WHERE t.slug = $1")).bind(slug))
        .await
}

/// Every topic with its count of published notes. The counts come from one grouped pass
/// over `note_topics` rather than [`TOPIC_SELECT`]'s count per topic: at 100,000 notes on
/// PostgreSQL that is 90 ms instead of 1.0-1.5 s (50 separate scans of ~4,500 rows).
pub async fn list_topics(x: impl Into<Exec<'_>>) -> AppResult<Vec<TopicRow>> {
    const SQL: &str = concat!(
        topic_columns!(),
        ", COALESCE(c.n, 0) AS note_count FROM topics t LEFT JOIN \
         (SELECT nt.topic_id, COUNT(*) AS n FROM note_topics nt JOIN notes n ON n.id = nt.note_id \
          WHERE n.status = 'published' GROUP BY nt.topic_id) c ON c.topic_id = t.id \
         ORDER BY t.slug LIMIT 1000"
    );
    x.into().fetch_all(query(SQL)).await
}

/// Topics sharing published notes with `topic_id`, most shared first.
pub async fn related_topics(
    x: impl Into<Exec<'_>>,
    topic_id: Uuid,
) -> AppResult<Vec<(String, String, i64)>> {
    let sql = "SELECT t.slug, t.title, COUNT(*) AS shared FROM note_topics a \
               JOIN notes n ON n.id = a.note_id AND n.status = 'published' \
               JOIN note_topics b ON b.note_id = a.note_id AND b.topic_id <> a.topic_id \
               JOIN topics t ON t.id = b.topic_id WHERE a.topic_id = $1 \
               GROUP BY t.slug, t.title ORDER BY shared DESC, t.slug LIMIT 20";
    x.into().fetch_all(query(sql).args(topic_id)).await
}

/// Ids of the topics with these slugs, in no particular order.
pub async fn topic_ids(x: impl Into<Exec<'_>>, slugs: &[String]) -> AppResult<Vec<(Uuid, String)>> {
    if slugs.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id, slug FROM topics WHERE slug IN ({})",
        placeholders(1, slugs.len())
    );
    x.into().fetch_all(query(sql).bind_all(slugs)).await
}

// ---- notes ------------------------------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NoteRow {
    pub id: Uuid,
    pub slug: String,
    pub author_id: Uuid,
    pub author_handle: String,
    pub author_name: String,
    pub kind: NoteKind,
    pub status: NoteStatus,
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

/// The columns of a [`NoteRow`], from `notes n` and `users u`.
macro_rules! note_columns {
    () => {
        "SELECT n.id, n.slug, n.author_id, u.handle AS author_handle, \
         u.display_name AS author_name, n.kind, n.status, n.title, n.summary, n.body_md, \
         n.body_html, n.problem, n.solution, n.outcome, n.version, n.created_at, n.updated_at, \
         n.published_at"
    };
}
const NOTE_COLUMNS: &str = note_columns!();
pub(crate) const NOTE_SELECT: &str = concat!(
    note_columns!(),
    " FROM notes n JOIN users u ON u.id = n.author_id"
);

/// Every stored field of a note that an edit can change.
pub struct NoteContent<'a> {
    pub kind: NoteKind,
    pub status: NoteStatus,
    pub title: &'a str,
    pub summary: &'a str,
    pub body_md: &'a str,
    pub body_html: &'a str,
    pub body_text: &'a str,
    pub problem: Option<&'a str>,
    pub solution: Option<&'a str>,
    pub outcome: Option<&'a str>,
}

/// A new note as [`insert_notes`] stores it, at version 1.
pub struct NewNoteRow<'a> {
    pub id: Uuid,
    pub slug: &'a str,
    pub author: Uuid,
    pub content: NoteContent<'a>,
}

/// Inserts new notes, many per statement.
pub async fn insert_notes(
    x: impl Into<Exec<'_>>,
    notes: &[NewNoteRow<'_>],
    now: DateTime<Utc>,
) -> AppResult<()> {
    x.into()
        .insert_rows(
            "INSERT INTO notes (id, slug, author_id, kind, status, title, summary, body_md, \
             body_html, body_text, problem, solution, outcome, version, created_at, updated_at, \
             published_at)",
            16,
            notes,
            |b, n| {
                let c = &n.content;
                b.bind(n.id)
                    .bind(n.slug)
                    .bind(n.author)
                    .bind(c.kind)
                    .bind(c.status)
                    .bind(c.title)
                    .bind(c.summary)
                    .bind(c.body_md)
                    .bind(c.body_html)
                    .bind(c.body_text)
                    .bind(c.problem)
                    .bind(c.solution)
                    .bind(c.outcome)
                    .raw("1")
                    .bind(now)
                    .bind(now)
                    .bind((c.status == NoteStatus::Published).then_some(now));
            },
        )
        .await
}

/// Writes new content if the note is still at `expected_version`; returns false when
/// someone else changed it first (the caller answers 412).
pub async fn update_note(
    x: impl Into<Exec<'_>>,
    id: Uuid,
    expected_version: i32,
    n: &NoteContent<'_>,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let sql = "UPDATE notes SET kind = $3, status = $4, title = $5, summary = $6, body_md = $7, \
               body_html = $8, body_text = $9, problem = $10, solution = $11, outcome = $12, \
               version = version + 1, updated_at = $13, published_at = CASE WHEN $4 = 'published' \
               THEN COALESCE(published_at, $13) ELSE published_at END \
               WHERE id = $1 AND version = $2";
    let args = (
        id,
        expected_version,
        n.kind,
        n.status,
        n.title,
        n.summary,
        n.body_md,
        n.body_html,
        n.body_text,
        n.problem,
        n.solution,
        n.outcome,
        now,
    );
    x.into().changed_one(query(sql).args(args)).await
}

pub async fn set_status(
    x: impl Into<Exec<'_>>,
    id: Uuid,
    status: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let sql = "UPDATE notes SET status = $2, version = version + 1, updated_at = $3 WHERE id = $1";
    x.into().run(query(sql).args((id, status, now))).await
}

pub async fn note_by_slug(x: impl Into<Exec<'_>>, slug: &str) -> AppResult<Option<NoteRow>> {
    x.into()
        .fetch_optional(query(format!("{NOTE_SELECT} WHERE n.slug = $1")).bind(slug))
        .await
}

/// A note with its topics and tags, in one statement: the read path of a note's detail
/// (a cache miss), where a second round trip was a third of the cost.
pub async fn note_detail_by_slug(
    x: impl Into<Exec<'_>>,
    slug: &str,
) -> AppResult<Option<NoteDetailRow>> {
    // string_agg with ORDER BY inside: PostgreSQL, and SQLite since 3.44. Slugs and tags
    // are [a-z0-9-], so a space separates them unambiguously.
    const SQL: &str = concat!(
        note_columns!(),
        ", (SELECT string_agg(t.slug, ' ' ORDER BY t.slug) FROM note_topics nt \
           JOIN topics t ON t.id = nt.topic_id WHERE nt.note_id = n.id) AS topic_list, \
         (SELECT string_agg(g.tag, ' ' ORDER BY g.tag) FROM note_tags g \
           WHERE g.note_id = n.id) AS tag_list \
         FROM notes n JOIN users u ON u.id = n.author_id WHERE n.slug = $1"
    );
    let row: Option<DetailRow> = x.into().fetch_optional(query(SQL).bind(slug)).await?;
    Ok(row.map(|r| NoteDetailRow {
        topics: split_list(r.topic_list),
        tags: split_list(r.tag_list),
        note: r.note,
    }))
}

/// A note and the slugs of its topics and its tags, each sorted.
pub struct NoteDetailRow {
    pub note: NoteRow,
    pub topics: Vec<String>,
    pub tags: Vec<String>,
}

#[derive(sqlx::FromRow)]
struct DetailRow {
    #[sqlx(flatten)]
    note: NoteRow,
    topic_list: Option<String>,
    tag_list: Option<String>,
}

fn split_list(list: Option<String>) -> Vec<String> {
    list.map(|l| l.split(' ').map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Which of `candidates` are already the slug of a note.
pub async fn slugs_taken(
    x: impl Into<Exec<'_>>,
    candidates: &[String],
) -> AppResult<std::collections::HashSet<String>> {
    let mut x = x.into();
    let mut taken = std::collections::HashSet::new();
    for chunk in candidates.chunks(rows_per_statement(1)) {
        let sql = format!(
            "SELECT slug FROM notes WHERE slug IN ({})",
            placeholders(1, chunk.len())
        );
        let found: Vec<String> = x.scalars(query(sql).bind_all(chunk)).await?;
        taken.extend(found);
    }
    Ok(taken)
}

/// Replaces a note's topics.
pub async fn set_topics(x: impl Into<Exec<'_>>, note: Uuid, topics: &[Uuid]) -> AppResult<()> {
    let mut x = x.into();
    delete_children(&mut x, "DELETE FROM note_topics WHERE note_id = $1", note).await?;
    let rows: Vec<(Uuid, Uuid)> = topics.iter().map(|t| (note, *t)).collect();
    insert_topics(&mut x, &rows).await
}

/// Files notes under topics: `(note, topic)` pairs, many per statement.
pub async fn insert_topics(x: impl Into<Exec<'_>>, rows: &[(Uuid, Uuid)]) -> AppResult<()> {
    x.into()
        .insert_rows(
            "INSERT INTO note_topics (note_id, topic_id)",
            2,
            rows,
            |b, r| {
                b.bind(r.0).bind(r.1);
            },
        )
        .await
}

/// Replaces a note's tags.
pub async fn set_tags(x: impl Into<Exec<'_>>, note: Uuid, tags: &[String]) -> AppResult<()> {
    let mut x = x.into();
    delete_children(&mut x, "DELETE FROM note_tags WHERE note_id = $1", note).await?;
    let rows: Vec<(Uuid, &str)> = tags.iter().map(|t| (note, t.as_str())).collect();
    insert_tags(&mut x, &rows).await
}

/// Tags notes: `(note, tag)` pairs, many per statement.
pub async fn insert_tags(x: impl Into<Exec<'_>>, rows: &[(Uuid, &str)]) -> AppResult<()> {
    x.into()
        .insert_rows("INSERT INTO note_tags (note_id, tag)", 2, rows, |b, r| {
            b.bind(r.0).bind(r.1);
        })
        .await
}

/// Deletes a note's rows from a child table before they are written again.
async fn delete_children(x: &mut Exec<'_>, delete: &'static str, note: Uuid) -> AppResult<()> {
    x.execute(query(delete).bind(note)).await?;
    Ok(())
}

/// Topic slugs of several notes in one query (never one per note), by slug.
pub async fn topics_of(x: impl Into<Exec<'_>>, notes: &[Uuid]) -> AppResult<Vec<(Uuid, String)>> {
    if notes.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT nt.note_id, t.slug FROM note_topics nt JOIN topics t ON t.id = nt.topic_id \
         WHERE nt.note_id IN ({}) ORDER BY t.slug",
        placeholders(1, notes.len())
    );
    x.into().fetch_all(query(sql).bind_all(notes)).await
}

/// List filters. Visibility is decided by the service and passed in as `status` plus
/// `author`: drafts are only ever asked for together with the caller's own id.
#[derive(Debug)]
pub struct NoteFilter<'a> {
    pub status: NoteStatus,
    pub topic: Option<&'a str>,
    pub kind: Option<NoteKind>,
    pub author: Option<Uuid>,
    pub tag: Option<&'a str>,
    /// Sort by last update instead of creation.
    pub by_updated: bool,
    /// The position after the previous page: `(updated_at, id)` or `(_, id)`.
    pub after: Option<(Option<DateTime<Utc>>, Uuid)>,
    pub limit: u32,
}

/// One page of notes. With a topic (or else a tag) the query is driven from that
/// filter's `(topic_id, note_id)` (or `(tag, note_id)`) index, newest note first, so a
/// page costs about the same for a rare topic as for a common one; otherwise notes are
/// read newest first along the primary key. Only the filters given appear in the
/// statement, so each combination is planned for what it asks.
pub async fn list_notes(x: impl Into<Exec<'_>>, f: &NoteFilter<'_>) -> AppResult<Vec<NoteRow>> {
    let mut q: Query = query(NOTE_COLUMNS);
    let id = if let Some(topic) = f.topic {
        q.push(
            " FROM note_topics d JOIN notes n ON n.id = d.note_id \
             JOIN users u ON u.id = n.author_id \
             WHERE d.topic_id = (SELECT id FROM topics WHERE slug = ",
        )
        .push_bind(topic)
        .push(") AND ");
        "d.note_id"
    } else if let Some(tag) = f.tag {
        q.push(
            " FROM note_tags d JOIN notes n ON n.id = d.note_id \
             JOIN users u ON u.id = n.author_id WHERE d.tag = ",
        )
        .push_bind(tag)
        .push(" AND ");
        "d.note_id"
    } else {
        q.push(" FROM notes n JOIN users u ON u.id = n.author_id WHERE ");
        "n.id"
    };
    q.push("n.status = ").push_bind(f.status);
    if let Some(kind) = f.kind {
        q.push(" AND n.kind = ").push_bind(kind);
    }
    if let Some(author) = f.author {
        q.push(" AND n.author_id = ").push_bind(author);
    }
    if let (Some(tag), Some(_)) = (f.tag, f.topic) {
        q.push(" AND EXISTS (SELECT 1 FROM note_tags g WHERE g.note_id = n.id AND g.tag = ")
            .push_bind(tag)
            .push(")");
    }
    if f.by_updated {
        if let Some((Some(at), after)) = f.after {
            q.push(" AND (n.updated_at < ")
                .push_bind(at)
                .push(" OR (n.updated_at = ")
                .push_bind(at)
                .push(" AND n.id < ")
                .push_bind(after)
                .push("))");
        }
        q.push(" ORDER BY n.updated_at DESC, n.id DESC");
    } else {
        if let Some((_, after)) = f.after {
            q.push(&format!(" AND {id} < ")).push_bind(after);
        }
        q.push(&format!(" ORDER BY {id} DESC"));
    }
    q.push(" LIMIT ").push_bind(i64::from(f.limit));
    x.into().fetch_all(q).await
}

// ---- revisions ----------------------------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RevisionRow {
    pub number: i32,
    pub editor_handle: String,
    pub message: String,
    pub kind: NoteKind,
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

/// Inserts revisions, many per statement.
pub async fn insert_revisions(
    x: impl Into<Exec<'_>>,
    revisions: &[NewRevision<'_>],
) -> AppResult<()> {
    x.into()
        .insert_rows(
            "INSERT INTO note_revisions (note_id, number, editor_id, message, kind, title, \
             body_md, problem, solution, outcome, created_at)",
            11,
            revisions,
            |b, r| {
                b.bind(r.note)
                    .bind(r.number)
                    .bind(r.editor)
                    .bind(r.message)
                    .bind(r.content.kind)
                    .bind(r.content.title)
                    .bind(r.content.body_md)
                    .bind(r.content.problem)
                    .bind(r.content.solution)
                    .bind(r.content.outcome)
                    .bind(r.now);
            },
        )
        .await
}

const REVISION_SELECT: &str = "SELECT r.number, u.handle AS editor_handle, r.message, r.kind, r.title, \
     r.body_md, r.problem, r.solution, r.outcome, r.created_at \
     FROM note_revisions r JOIN users u ON u.id = r.editor_id";

pub async fn revisions(x: impl Into<Exec<'_>>, note: Uuid) -> AppResult<Vec<RevisionRow>> {
    let sql = format!("{REVISION_SELECT} WHERE r.note_id = $1 ORDER BY r.number DESC LIMIT 1000");
    x.into().fetch_all(query(sql).bind(note)).await
}

pub async fn revision(
    x: impl Into<Exec<'_>>,
    note: Uuid,
    number: i32,
) -> AppResult<Option<RevisionRow>> {
    let sql = format!("{REVISION_SELECT} WHERE r.note_id = $1 AND r.number = $2");
    x.into()
        .fetch_optional(query(sql).bind(note).bind(number))
        .await
}

// ---- links --------------------------------------------------------------------------------

/// Replaces a note's outgoing links, resolving each slug to a note if one exists.
pub async fn set_links(x: impl Into<Exec<'_>>, source: Uuid, slugs: &[String]) -> AppResult<()> {
    let mut x = x.into();
    delete_children(
        &mut x,
        "DELETE FROM note_links WHERE source_id = $1",
        source,
    )
    .await?;
    let rows: Vec<(Uuid, &str)> = slugs.iter().map(|s| (source, s.as_str())).collect();
    insert_links(&mut x, &rows).await
}

/// Inserts `(source, target slug)` links, many per statement, each pointing at the note
/// that has the slug now (if any).
pub async fn insert_links(x: impl Into<Exec<'_>>, rows: &[(Uuid, &str)]) -> AppResult<()> {
    x.into()
        .insert_rows(
            "INSERT INTO note_links (source_id, target_slug, target_id)",
            3,
            rows,
            |b, r| {
                b.bind(r.0)
                    .bind(r.1)
                    .bind_in("(SELECT id FROM notes WHERE slug = ", r.1, ")");
            },
        )
        .await
}

/// Notes now exist at `slugs`: links written before them pointed at nothing; now they
/// point at them.
pub async fn resolve_links_to(x: impl Into<Exec<'_>>, slugs: &[&str]) -> AppResult<()> {
    let mut x = x.into();
    for chunk in slugs.chunks(rows_per_statement(1)) {
        let sql = format!(
            "UPDATE note_links SET target_id = \
             (SELECT n.id FROM notes n WHERE n.slug = note_links.target_slug) \
             WHERE target_id IS NULL AND target_slug IN ({})",
            placeholders(1, chunk.len())
        );
        x.execute(query(sql).bind_all(chunk.iter().copied()))
            .await?;
    }
    Ok(())
}

/// Published notes linking to `target`, newest first.
pub async fn backlinks(x: impl Into<Exec<'_>>, target: Uuid) -> AppResult<Vec<NoteRow>> {
    let sql = format!(
        "{NOTE_SELECT} WHERE n.status = 'published' AND n.id IN \
         (SELECT source_id FROM note_links WHERE target_id = $1) ORDER BY n.id DESC LIMIT 200"
    );
    x.into().fetch_all(query(sql).bind(target)).await
}

// ---- search -------------------------------------------------------------------------------

/// Keeps the search index in step with an edited note, inside the note's transaction.
pub async fn index_note(
    x: impl Into<Exec<'_>>,
    note: Uuid,
    title: &str,
    body: &str,
) -> AppResult<()> {
    let mut x = x.into();
    if x.backend() == Backend::Sqlite {
        x.execute(query("DELETE FROM notes_fts WHERE note_id = $1").bind(note))
            .await?;
    }
    index_new_notes(&mut x, &[(note, title, body)]).await
}

/// Adds new notes to the search index: `(note, title, text)`, many per statement.
pub async fn index_new_notes(
    x: impl Into<Exec<'_>>,
    notes: &[(Uuid, &str, &str)],
) -> AppResult<()> {
    let mut x = x.into();
    match x.backend() {
        Backend::Sqlite => {
            x.insert_rows(
                "INSERT INTO notes_fts (note_id, title, body)",
                3,
                notes,
                |b, n| {
                    b.bind(n.0).bind(n.1).bind(n.2);
                },
            )
            .await
        }
        // PostgreSQL: the generated `search` column follows title and body_text by itself.
        Backend::Postgres => Ok(()),
    }
}

#[derive(Debug, Clone)]
pub struct SearchHit {
    pub slug: String,
    pub title: String,
    pub excerpt: Excerpt,
    pub score: f64,
}

/// What a hit carries for its snippet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Excerpt {
    /// Made by the engine (SQLite's FTS5 `snippet()`): raw text with `<mark>` around
    /// matches, not yet escaped.
    Marked(String),
    /// The note's whole plain text (PostgreSQL), for the caller to cut: `ts_headline`
    /// costs ~450 µs a hit, most of a search.
    Text(String),
}

#[derive(sqlx::FromRow)]
struct SearchRow {
    slug: String,
    title: String,
    snippet: String,
    score: f64,
}

impl SearchRow {
    fn hit(self, excerpt: fn(String) -> Excerpt) -> SearchHit {
        SearchHit {
            slug: self.slug,
            title: self.title,
            excerpt: excerpt(self.snippet),
            score: self.score,
        }
    }
}

pub struct SearchFilter<'a> {
    /// The query in FTS5 syntax (SQLite).
    pub fts5: &'a str,
    /// The query in `websearch_to_tsquery` syntax (PostgreSQL).
    pub websearch: &'a str,
    pub topic: Option<&'a str>,
    pub kind: Option<NoteKind>,
    pub limit: u32,
}

/// How many matching notes a search ranks at most: the newest this many matches. Below
/// it, ranking is exact; above it (a query of common words), the cost of a search stays
/// bounded instead of growing with the number of matches, and the answer is the best of
/// the most recent matches.
pub const SEARCH_CANDIDATES: u32 = 300;

/// Published notes matching the query, best first among the newest
/// [`SEARCH_CANDIDATES`] matches, with a highlighted snippet. Scores are comparable
/// within one answer only (bm25 on SQLite, ts_rank_cd on PostgreSQL).
pub async fn search(db: &Db, f: &SearchFilter<'_>) -> AppResult<Vec<SearchHit>> {
    let filters = "AND n.status = 'published' \
         AND ($2 IS NULL OR EXISTS (SELECT 1 FROM note_topics nt JOIN topics t ON t.id = nt.topic_id \
                                    WHERE nt.note_id = n.id AND t.slug = $2)) \
         AND ($3 IS NULL OR n.kind = $3)";
    let newest = SEARCH_CANDIDATES - 1;
    let mut x = Exec::from(db);
    match db.backend() {
        Backend::Sqlite => {
            // The index's rowids grow as notes are written, and FTS5 walks a match list
            // backwards and seeks a rowid range without reading the rest: the subquery
            // finds the rowid of the N-th newest match, the outer query ranks from there.
            // bm25 weights: a title hit counts ten times a body hit. bm25 is
            // lower-is-better, so the score is its negation.
            let sql = format!(
                "SELECT n.slug, n.title, snippet(notes_fts, 1, '<mark>', '</mark>', '…', 16) AS snippet, \
                 -bm25(notes_fts, 10.0, 1.0) AS score \
                 FROM notes_fts JOIN notes n ON n.id = notes_fts.note_id \
                 WHERE notes_fts MATCH $1 AND notes_fts.rowid >= COALESCE( \
                   (SELECT rowid FROM notes_fts WHERE notes_fts MATCH $1 \
                    ORDER BY rowid DESC LIMIT 1 OFFSET {newest}), 0) \
                 {filters} ORDER BY bm25(notes_fts, 10.0, 1.0) LIMIT $4"
            );
            let rows: Vec<SearchRow> = x
                .fetch_all(
                    query(sql)
                        .bind(f.fts5)
                        .bind(f.topic)
                        .bind(f.kind)
                        .bind(i64::from(f.limit)),
                )
                .await?;
            Ok(rows.into_iter().map(|r| r.hit(Excerpt::Marked)).collect())
        }
        Backend::Postgres => {
            // Take the newest N matches, rank only those, and return the page's plain
            // texts for the caller to cut snippets from (see [`Excerpt::Text`]). The
            // statement is not kept prepared, so PostgreSQL plans each search with its
            // words as constants and its statistics of how common they are: for common
            // words it reads the primary key backwards (most rows match, N are found
            // at once), for rare ones the GIN index. A cached generic plan would use the
            // GIN index and read every match. The query is written out each time rather
            // than in a CTE for the same reason: the planner sees through neither.
            let ts = "websearch_to_tsquery('english', $1)";
            let sql = format!(
                "WITH candidates AS (SELECT n.id, n.search FROM notes n \
                          WHERE n.search @@ {ts} {filters} ORDER BY n.id DESC LIMIT {SEARCH_CANDIDATES}), \
                 hits AS (SELECT c.id, ts_rank_cd('{{0.1, 0.2, 0.4, 1.0}}', c.search, {ts})::float8 AS score \
                          FROM candidates c ORDER BY score DESC, c.id DESC LIMIT $4) \
                 SELECT n.slug, n.title, n.body_text AS snippet, hits.score \
                 FROM hits JOIN notes n ON n.id = hits.id ORDER BY hits.score DESC, hits.id DESC"
            );
            let rows: Vec<SearchRow> = x
                .fetch_all(
                    query(sql)
                        .bind(f.websearch)
                        .bind(f.topic)
                        .bind(f.kind)
                        .bind(i64::from(f.limit))
                        .unprepared(),
                )
                .await?;
            Ok(rows.into_iter().map(|r| r.hit(Excerpt::Text)).collect())
        }
    }
}
