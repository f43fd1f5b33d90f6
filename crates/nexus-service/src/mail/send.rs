//! The `email.send` job: every message Nexus sends goes through it, so a message is
//! written in the transaction of the change that causes it and sent at least once.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::OutgoingEmail;
use crate::Services;
use crate::jobs::registry::{Done, JobError, JobFuture, JobKind, Registry, payload};
use nexus_db::jobs::ClaimedJob;
use nexus_db::notify;

/// Send one rendered email. Outbound: the other side may be down for a while.
pub const EMAIL_SEND: JobKind = JobKind {
    name: "email.send",
    max_attempts: 8,
    run: run_send,
};

pub fn register(registry: &mut Registry) {
    registry.job(EMAIL_SEND);
}

/// The payload of `email.send`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmailJob {
    #[serde(flatten)]
    pub email: OutgoingEmail,
    /// Verification and reset mail always goes; other mail honours the recipient's
    /// `preference` at send time.
    pub essential: bool,
    pub user_id: Option<Uuid>,
    /// Which of the recipient's settings a non-essential email honours; jobs queued
    /// before the field existed are notifications.
    #[serde(default)]
    pub preference: Preference,
}

/// The email preference a message honours when it is sent, so that a change made after
/// it was queued still applies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preference {
    /// `notifications`: activity on the recipient's notes and work.
    #[default]
    Notifications,
    /// `digest`: the weekly digest of followed topics.
    Digest,
    /// `learning_digest`: the weekly mentor and learner digests.
    LearningDigest,
}

/// The payload of an `email.send` job for `email`.
pub fn email_payload(email: OutgoingEmail, essential: bool, user: Option<Uuid>) -> Value {
    serde_json::to_value(EmailJob {
        email,
        essential,
        user_id: user,
        preference: Preference::Notifications,
    })
    .unwrap_or_else(|_| json!({}))
}

/// The payload of an `email.send` job for a non-essential `email` to `user` that goes
/// only while `preference` is on.
pub fn email_payload_for(email: OutgoingEmail, user: Uuid, preference: Preference) -> Value {
    serde_json::to_value(EmailJob {
        email,
        essential: false,
        user_id: Some(user),
        preference,
    })
    .unwrap_or_else(|_| json!({}))
}

fn run_send<'a>(services: &'a Services, job: &'a ClaimedJob) -> JobFuture<'a> {
    Box::pin(async move { send_email(services, job.id, payload(job)?).await })
}

async fn send_email(services: &Services, id: Uuid, job: EmailJob) -> Result<Done, JobError> {
    if !job.essential
        && let Some(user) = job.user_id
    {
        let wanted = notify::recipient(&services.db, user)
            .await?
            .is_some_and(|r| {
                !r.disabled
                    && match job.preference {
                        Preference::Notifications => r.email_notifications,
                        Preference::Digest => r.email_digest,
                        Preference::LearningDigest => r.email_learning_digest,
                    }
            });
        if !wanted {
            return Ok(Done::finished());
        }
    }
    deliver(services, id, &job.email).await?;
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

/// Sends one message named by the job `id` and counts it; for handlers that render and
/// send in the same job (a digest).
pub async fn deliver(services: &Services, id: Uuid, email: &OutgoingEmail) -> Result<(), JobError> {
    services
        .mailer
        .send(id, email)
        .await
        .map_err(|e| JobError {
            message: e.message,
            permanent: e.permanent,
        })?;
    metrics::counter!("emails_sent_total", "transport" => services.mailer.transport_name())
        .increment(1);
    Ok(())
}
