//! What each kind of job does. Every handler is idempotent: jobs it creates carry dedupe
//! keys, and its outside effect (an email) is named by its own job id.

use chrono::{DateTime, Utc};
use nexus_db::jobs::ClaimedJob;
use nexus_db::notify;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::events::EventEnvelope;
use super::{EnqueueOptions, JobKind};
use crate::Services;
use crate::mail::{OutgoingEmail, templates};

/// A successful run.
pub(crate) enum Done {
    /// Finished; `scrubbed` replaces the stored payload (to drop secrets).
    Finished { scrubbed: Option<Value> },
    /// Not tried now; due again at `until` without using up an attempt.
    Postpone { until: DateTime<Utc>, why: String },
}

impl Done {
    pub(crate) fn finished() -> Done {
        Done::Finished { scrubbed: None }
    }
}

/// A failed run. `permanent` failures go straight to dead: retrying cannot help.
#[derive(Debug)]
pub(crate) struct JobError {
    pub message: String,
    pub permanent: bool,
}

impl JobError {
    pub(crate) fn permanent(message: impl std::fmt::Display) -> Self {
        JobError {
            message: message.to_string(),
            permanent: true,
        }
    }
}

impl From<nexus_core::AppError> for JobError {
    fn from(e: nexus_core::AppError) -> Self {
        JobError {
            message: format!("{e:#}"),
            permanent: false,
        }
    }
}

/// The payload of `email.send`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmailJob {
    #[serde(flatten)]
    pub email: OutgoingEmail,
    /// Verification and reset mail always goes; other mail honours the recipient's
    /// `email_notifications` setting at send time.
    pub essential: bool,
    pub user_id: Option<Uuid>,
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

fn parse<T: serde::de::DeserializeOwned>(job: &ClaimedJob) -> Result<T, JobError> {
    serde_json::from_value(job.payload.0.clone())
        .map_err(|e| JobError::permanent(format!("payload of {} is not valid: {e}", job.kind)))
}

pub(crate) async fn run(services: &Services, job: &ClaimedJob) -> Result<Done, JobError> {
    let Some(kind) = JobKind::parse(&job.kind) else {
        return Err(JobError::permanent(format!(
            "no handler for job kind `{}`",
            job.kind
        )));
    };
    match kind {
        JobKind::EmailSend => send_email(services, job.id, parse(job)?).await,
        JobKind::NotifyAuthor => notify_author(services, parse(job)?).await,
        JobKind::DigestFanout => digest_fanout(services, parse(job)?).await,
        JobKind::DigestSend => digest_send(services, job.id, parse(job)?).await,
        JobKind::WebhookFanout => crate::webhooks::deliver::fanout(services, parse(job)?).await,
        JobKind::WebhookDeliver => {
            crate::webhooks::deliver::deliver(services, job, parse(job)?).await
        }
    }
}

async fn send_email(services: &Services, id: Uuid, job: EmailJob) -> Result<Done, JobError> {
    if !job.essential
        && let Some(user) = job.user_id
    {
        let wanted = notify::recipient(&services.db, user)
            .await?
            .is_some_and(|r| r.email_notifications && !r.disabled);
        if !wanted {
            return Ok(Done::finished());
        }
    }
    services
        .mailer
        .send(id, &job.email)
        .await
        .map_err(|e| JobError {
            message: e.message,
            permanent: e.permanent,
        })?;
    metrics::counter!("emails_sent_total", "transport" => services.mailer.transport_name())
        .increment(1);
    // The bodies may hold a one-time code; once sent, the ledger keeps only the envelope.
    Ok(Done::Finished {
        scrubbed: Some(json!({
            "to": job.email.to,
            "subject": job.email.subject,
            "essential": job.essential,
            "user_id": job.user_id,
            "sent": true,
        })),
    })
}

/// Tells a note's author that someone commented on it or proposed an edit, unless the
/// author did it, or turned such emails off.
async fn notify_author(services: &Services, event: EventEnvelope) -> Result<Done, JobError> {
    let note_id = uuid_field(&event.data, "note_id")?;
    let (actor_field, what) = match event.event_type.as_str() {
        "comment.created" => ("author_id", "commented"),
        "proposal.created" => ("proposer_id", "proposed an edit"),
        other => {
            return Err(JobError::permanent(format!(
                "notify.author does not handle {other}"
            )));
        }
    };
    let actor = uuid_field(&event.data, actor_field)?;
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
        .jobs
        .enqueue(
            JobKind::EmailSend,
            &email_payload(email, false, Some(author.id)),
            &opts,
        )
        .await?;
    Ok(Done::finished())
}

pub fn email_payload(email: OutgoingEmail, essential: bool, user: Option<Uuid>) -> Value {
    serde_json::to_value(EmailJob {
        email,
        essential,
        user_id: user,
    })
    .unwrap_or_else(|_| json!({}))
}

fn uuid_field(data: &Value, field: &str) -> Result<Uuid, JobError> {
    data.get(field)
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| JobError::permanent(format!("event data has no `{field}`")))
}

/// Recipients are paged through so one period of a large community is many small
/// queries; each gets a `digest.send` job keyed by period and user, so a fan-out that
/// runs twice sends nobody two digests.
async fn digest_fanout(services: &Services, job: DigestFanoutJob) -> Result<Done, JobError> {
    const PAGE: i64 = 500;
    // The period runs from the schedule's previous fire time to this one.
    let since = services
        .jobs
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
            services
                .jobs
                .enqueue(JobKind::DigestSend, &payload, &opts)
                .await?;
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

async fn digest_send(services: &Services, id: Uuid, job: DigestSendJob) -> Result<Done, JobError> {
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
    services
        .mailer
        .send(id, &email)
        .await
        .map_err(|e| JobError {
            message: e.message,
            permanent: e.permanent,
        })?;
    metrics::counter!("emails_sent_total", "transport" => services.mailer.transport_name())
        .increment(1);
    Ok(Done::finished())
}
