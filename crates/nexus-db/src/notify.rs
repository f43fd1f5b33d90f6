//! Reads behind notification emails and the weekly digest.

use chrono::{DateTime, Utc};
use nexus_core::error::AppResult;
use uuid::Uuid;

use crate::exec::{Exec, Order, query};

/// Whom an email goes to, and whether they want it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Recipient {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub email_notifications: bool,
    pub email_digest: bool,
    pub email_learning_digest: bool,
    pub verified: bool,
    pub disabled: bool,
}

const RECIPIENT: &str = "SELECT id, email, display_name, email_notifications, email_digest, \
    email_learning_digest, email_verified_at IS NOT NULL AS verified, disabled_at IS NOT NULL AS disabled FROM users";

pub async fn recipient(x: impl Into<Exec<'_>>, user: Uuid) -> AppResult<Option<Recipient>> {
    x.into()
        .fetch_optional(query(format!("{RECIPIENT} WHERE id = $1")).bind(user))
        .await
}

/// A note as a notification names it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NoteRef {
    pub id: Uuid,
    pub slug: String,
    pub title: String,
    pub author_id: Uuid,
}

pub async fn note_ref(x: impl Into<Exec<'_>>, note: Uuid) -> AppResult<Option<NoteRef>> {
    let sql = "SELECT id, slug, title, author_id FROM notes WHERE id = $1";
    x.into().fetch_optional(query(sql).args(note)).await
}

/// Display name of a user, for "Ada commented on …".
pub async fn display_name(x: impl Into<Exec<'_>>, user: Uuid) -> AppResult<Option<String>> {
    x.into()
        .scalar_optional(query("SELECT display_name FROM users WHERE id = $1").bind(user))
        .await
}

/// Users who get the digest: verified, enabled, opted in, following at least one topic;
/// in id order after `after`, a page at a time.
pub async fn digest_recipients(
    x: impl Into<Exec<'_>>,
    after: Option<Uuid>,
    limit: i64,
) -> AppResult<Vec<Uuid>> {
    let sql = "SELECT u.id FROM users u \
               WHERE u.email_digest AND u.email_verified_at IS NOT NULL \
                 AND u.disabled_at IS NULL \
                 AND EXISTS (SELECT 1 FROM topic_follows f WHERE f.user_id = u.id)";
    let q = query(sql).page("u.id", Order::Oldest, after, limit);
    x.into().scalars(q).await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DigestNote {
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub topic: String,
}

/// Notes published in `[since, until)` in topics `user` follows, newest first, each
/// once (under the first of its followed topics by title).
pub async fn digest_notes(
    x: impl Into<Exec<'_>>,
    user: Uuid,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: i64,
) -> AppResult<Vec<DigestNote>> {
    let sql = "SELECT n.slug, n.title, n.summary, MIN(t.title) AS topic \
               FROM topic_follows f \
               JOIN note_topics nt ON nt.topic_id = f.topic_id \
               JOIN notes n ON n.id = nt.note_id \
               JOIN topics t ON t.id = f.topic_id \
               WHERE f.user_id = $1 AND n.status = 'published' \
                 AND n.published_at >= $2 AND n.published_at < $3 \
               GROUP BY n.id, n.slug, n.title, n.summary \
               ORDER BY n.id DESC LIMIT $4";
    x.into()
        .fetch_all(query(sql).args((user, since, until, limit)))
        .await
}

/// The `digests_sent` kind that says who carried a person's followed-topic notes for a
/// period (the hub's weekly digest, or a digest that includes them).
pub const TOPICS_DIGEST: &str = "topics";

/// Records that `user` got (or had claimed for them) the periodic email `kind` of
/// `period` in `scope`; `false` when it was recorded before. Written in the transaction
/// that queues the email, so the row exists exactly when the email was queued.
pub async fn claim_digest(
    x: impl Into<Exec<'_>>,
    user: Uuid,
    kind: &str,
    scope: &str,
    period: &str,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    x.into()
        .changed_one(
            query(
                "INSERT INTO digests_sent (user_id, kind, scope, period, sent_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .args((user, kind, scope, period, now)),
        )
        .await
}
