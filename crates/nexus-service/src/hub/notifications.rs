//! The hub's background work: telling authors about activity on their notes, and the
//! weekly digest of new notes in the topics a reader follows.
//!
//! A reader's followed-topic notes go out once a week, by this digest or by another
//! domain's digest that carries them (a learner's weekly digest): whichever queues them
//! first for the ISO week records a `topics` row in `digests_sent` in the same
//! transaction, and the other leaves them out. The hub names no other domain; the
//! ledger is shared machinery (ADR 0008).

use chrono::{DateTime, Utc};
use nexus_core::schedule::iso_week;
use nexus_db::notify;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::events::{COMMENT_CREATED, PROPOSAL_CREATED};
use crate::Services;
use crate::jobs::EnqueueOptions;
use crate::jobs::events::EventEnvelope;
use crate::jobs::registry::{Done, Events, JobError, JobKind, Registry, payload};
use crate::mail::send::{EMAIL_SEND, Preference, email_payload, email_payload_for};
use crate::mail::templates;

/// Tell a note's author about a comment or an edit proposal on it.
pub const NOTIFY_AUTHOR: JobKind = JobKind {
    name: "notify.author",
    max_attempts: 5,
    run: |s, job| Box::pin(async move { notify_author(s, payload(job)?).await }),
};

/// One period of the weekly digest: a `digest.send` per subscribed user.
pub const DIGEST_FANOUT: JobKind = JobKind {
    name: "digest.fanout",
    max_attempts: 5,
    run: |s, job| Box::pin(async move { digest_fanout(s, payload(job)?).await }),
};

/// One user's weekly digest.
pub const DIGEST_SEND: JobKind = JobKind {
    name: "digest.send",
    max_attempts: 5,
    run: |s, job| Box::pin(async move { digest_send(s, payload(job)?).await }),
};

pub fn register(registry: &mut Registry) {
    registry
        .job(NOTIFY_AUTHOR)
        .job(DIGEST_FANOUT)
        .job(DIGEST_SEND)
        .subscribe(
            Events::Only(&[COMMENT_CREATED.name, PROPOSAL_CREATED.name]),
            NOTIFY_AUTHOR,
        )
        .schedule("weekly_digest", DIGEST_FANOUT);
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct DigestFanoutJob {
    schedule: String,
    fire: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct DigestSendJob {
    user_id: Uuid,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
}

/// Tells a note's author that someone commented on it or proposed an edit, unless the
/// author did it, or turned such emails off.
async fn notify_author(services: &Services, event: EventEnvelope) -> Result<Done, JobError> {
    let note_id = event.uuid("note_id")?;
    let (actor_field, what) = match event.event_type.as_str() {
        t if t == COMMENT_CREATED.name => ("author_id", "commented"),
        t if t == PROPOSAL_CREATED.name => ("proposer_id", "proposed an edit"),
        other => {
            return Err(JobError::permanent(format!(
                "notify.author does not handle {other}"
            )));
        }
    };
    let actor = event.uuid(actor_field)?;
    let Some(note) = notify::note_ref(&services.db, note_id).await? else {
        return Ok(Done::finished());
    };
    if note.author_id == actor {
        return Ok(Done::finished());
    }
    let Some(author) = notify::recipient(&services.db, note.author_id).await? else {
        return Ok(Done::finished());
    };
    if !author.email_notifications || author.disabled || !author.verified {
        return Ok(Done::finished());
    }
    let actor_name = notify::display_name(&services.db, actor)
        .await?
        .unwrap_or_else(|| "Someone".into());
    let public = services.settings.public_url.trim_end_matches('/');
    let email = templates::note_activity(
        &author.email,
        &author.display_name,
        &actor_name,
        what,
        &note.title,
        &format!("{public}/notes/{}", note.slug),
        &format!("{public}/settings/email"),
    );
    let opts = EnqueueOptions {
        dedupe_key: Some(format!("email:{}:author", event.event_id)),
        run_at: None,
    };
    services
        .queue
        .enqueue(
            EMAIL_SEND,
            &email_payload(email, false, Some(author.id)),
            &opts,
        )
        .await?;
    Ok(Done::finished())
}

/// Recipients are paged through so one period of a large community is many small
/// queries; each gets a `digest.send` job keyed by period and user, so a fan-out that
/// runs twice sends nobody two digests.
async fn digest_fanout(services: &Services, job: DigestFanoutJob) -> Result<Done, JobError> {
    const PAGE: i64 = 500;
    // The period runs from the schedule's previous fire time to this one.
    let since = services
        .queue
        .settings()
        .schedules
        .get(&job.schedule)
        .and_then(|expr| nexus_core::schedule::Cron::parse(expr).ok())
        .and_then(|cron| cron.current_fire(job.fire - chrono::Duration::seconds(1)))
        .unwrap_or(job.fire - chrono::Duration::days(7));
    let mut after = None;
    let mut total = 0usize;
    loop {
        let users = notify::digest_recipients(&services.db, after, PAGE).await?;
        for user in &users {
            let opts = EnqueueOptions {
                dedupe_key: Some(format!(
                    "digest:{}:{}:{user}",
                    job.schedule,
                    job.fire.format("%Y-%m-%dT%H:%M:%SZ")
                )),
                run_at: None,
            };
            let payload = serde_json::to_value(DigestSendJob {
                user_id: *user,
                since,
                until: job.fire,
            })
            .unwrap_or_else(|_| json!({}));
            services.queue.enqueue(DIGEST_SEND, &payload, &opts).await?;
        }
        total += users.len();
        match users.last() {
            Some(last) if users.len() as i64 == PAGE => after = Some(*last),
            _ => break,
        }
    }
    tracing::info!(recipients = total, fire = %job.fire, "digest fanned out");
    Ok(Done::finished())
}

/// Queues one reader's digest, unless another digest carried their followed-topic notes
/// this ISO week; the claim and the email commit together, so a retried job, a second
/// worker or a restart queues nothing twice.
async fn digest_send(services: &Services, job: DigestSendJob) -> Result<Done, JobError> {
    let Some(user) = notify::recipient(&services.db, job.user_id).await? else {
        return Ok(Done::finished());
    };
    if !user.email_digest || user.disabled || !user.verified {
        return Ok(Done::finished());
    }
    let notes = notify::digest_notes(&services.db, user.id, job.since, job.until, 20).await?;
    if notes.is_empty() {
        return Ok(Done::finished());
    }
    let public = services.settings.public_url.trim_end_matches('/');
    let items: Vec<(String, String, String)> = notes
        .into_iter()
        .map(|n| (n.title, n.topic, n.slug))
        .collect();
    let email = templates::digest(
        &user.email,
        &user.display_name,
        &items,
        public,
        &format!("{public}/settings/email"),
    );
    let period = iso_week(job.until);
    let mut tx = services.db.begin().await?;
    let now = services.clock.now();
    if !notify::claim_digest(&mut tx, user.id, notify::TOPICS_DIGEST, "", &period, now).await? {
        return Ok(Done::finished());
    }
    let opts = EnqueueOptions {
        dedupe_key: Some(format!("digest:topics:{}:{period}", user.id)),
        run_at: None,
    };
    services
        .queue
        .enqueue_tx(
            &mut tx,
            EMAIL_SEND,
            &email_payload_for(email, user.id, Preference::Digest),
            &opts,
        )
        .await?;
    tx.commit().await?;
    services.queue.wake();
    Ok(Done::finished())
}
