//! The learning platform's events and background work: who hears of a hand-in, a review
//! or an assignment (webhooks and email), and deadline reminders.
//!
//! The events concern learners' work in a cohort, so only admins' webhook endpoints
//! receive them; the people concerned hear by email.

use chrono::{DateTime, Duration, Utc};
use nexus_core::learning::CohortRole;
use nexus_db::cohorts as cohort_repo;
use nexus_db::notify;
use nexus_db::submissions as repo;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::Services;
use crate::jobs::EnqueueOptions;
use crate::jobs::events::{Event, EventEnvelope};
use crate::jobs::registry::{Done, EventType, Events, JobError, JobKind, Registry, payload};
use crate::mail::send::{EMAIL_SEND, email_payload};
use crate::mail::templates;

pub const SUBMISSION_CREATED: EventType = EventType {
    name: "submission.created",
    admin_only: true,
};
pub const SUBMISSION_REVIEWED: EventType = EventType {
    name: "submission.reviewed",
    admin_only: true,
};
pub const REVIEW_ASSIGNED: EventType = EventType {
    name: "review.assigned",
    admin_only: true,
};

/// Emails the people a learning event concerns.
pub const LEARNING_NOTIFY: JobKind = JobKind {
    name: "learning.notify",
    max_attempts: 5,
    run: |s, job| Box::pin(async move { notify_people(s, payload(job)?).await }),
};

/// One pass of deadline reminders (the `deadline_reminders` schedule).
pub const DEADLINE_REMINDERS: JobKind = JobKind {
    name: "learning.reminders",
    max_attempts: 5,
    run: |s, job| Box::pin(async move { remind(s, payload(job)?).await }),
};

/// Reminders go this many hours before a deadline, largest first.
pub const REMINDER_LEADS: [i64; 2] = [48, 24];

pub fn register(registry: &mut Registry) {
    for event in [SUBMISSION_CREATED, SUBMISSION_REVIEWED, REVIEW_ASSIGNED] {
        registry.event(event);
    }
    registry
        .job(LEARNING_NOTIFY)
        .job(DEADLINE_REMINDERS)
        .subscribe(
            Events::Only(&[
                SUBMISSION_CREATED.name,
                SUBMISSION_REVIEWED.name,
                REVIEW_ASSIGNED.name,
            ]),
            LEARNING_NOTIFY,
        )
        .schedule("deadline_reminders", DEADLINE_REMINDERS);
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LearningEvent {
    SubmissionCreated {
        submission: Uuid,
        cohort: Uuid,
        learner: Uuid,
        revision: i32,
    },
    SubmissionReviewed {
        submission: Uuid,
        review: Uuid,
        learner: Uuid,
        mentor: bool,
    },
    ReviewAssigned {
        assignment: Uuid,
        submission: Uuid,
        reviewer: Uuid,
    },
}

impl Event for LearningEvent {
    fn event_type(&self) -> &'static str {
        match self {
            LearningEvent::SubmissionCreated { .. } => SUBMISSION_CREATED.name,
            LearningEvent::SubmissionReviewed { .. } => SUBMISSION_REVIEWED.name,
            LearningEvent::ReviewAssigned { .. } => REVIEW_ASSIGNED.name,
        }
    }

    fn payload(&self) -> Value {
        match self {
            LearningEvent::SubmissionCreated {
                submission,
                cohort,
                learner,
                revision,
            } => json!({
                "submission_id": submission, "cohort_id": cohort,
                "learner_id": learner, "revision": revision,
            }),
            LearningEvent::SubmissionReviewed {
                submission,
                review,
                learner,
                mentor,
            } => json!({
                "submission_id": submission, "review_id": review,
                "learner_id": learner, "by_mentor": mentor,
            }),
            LearningEvent::ReviewAssigned {
                assignment,
                submission,
                reviewer,
            } => json!({
                "assignment_id": assignment, "submission_id": submission,
                "reviewer_id": reviewer,
            }),
        }
    }
}

/// Queues one email to `user`, unless they cannot get mail; keyed so that a handler
/// that runs twice sends it once.
async fn email_user(
    services: &Services,
    user: Uuid,
    key: String,
    subject: &str,
    lines: Vec<String>,
) -> Result<(), JobError> {
    let Some(to) = notify::recipient(&services.db, user).await? else {
        return Ok(());
    };
    if to.disabled || !to.verified {
        return Ok(());
    }
    let mut paragraphs = vec![format!("Hello {},", to.display_name)];
    paragraphs.extend(lines);
    let email = templates::notice(&to.email, subject, &paragraphs);
    let opts = EnqueueOptions {
        dedupe_key: Some(key),
        run_at: None,
    };
    services
        .queue
        .enqueue(EMAIL_SEND, &email_payload(email, false, Some(user)), &opts)
        .await?;
    Ok(())
}

async fn notify_people(services: &Services, event: EventEnvelope) -> Result<Done, JobError> {
    let submission = event.uuid("submission_id")?;
    let Some(sub) = repo::submission(&services.db, submission).await? else {
        return Ok(Done::finished());
    };
    let public = services.settings.public_url.trim_end_matches('/');
    let link = format!(
        "{public}/cohorts/{}/submissions/{}",
        sub.cohort_slug, sub.id
    );
    let what = format!("`{}` in {}", sub.deliverable, sub.cohort_slug);
    let key = |user: Uuid| format!("email:{}:{user}", event.event_id);
    match event.event_type.as_str() {
        t if t == SUBMISSION_CREATED.name => {
            let mentors =
                cohort_repo::active_members(&services.db, sub.cohort_id, CohortRole::Mentor)
                    .await?;
            for mentor in mentors {
                email_user(
                    services,
                    mentor,
                    key(mentor),
                    &format!("{} handed in {}", sub.learner_handle, sub.deliverable),
                    vec![
                        format!("{} handed in {what}.", sub.learner_handle),
                        format!("Review it at {link}"),
                    ],
                )
                .await?;
            }
        }
        t if t == SUBMISSION_REVIEWED.name => {
            let learner = event.uuid("learner_id")?;
            email_user(
                services,
                learner,
                key(learner),
                &format!("Your {} has a new review", sub.deliverable),
                vec![
                    format!("Your submission {what} has a new review."),
                    format!("Read it at {link}"),
                ],
            )
            .await?;
        }
        t if t == REVIEW_ASSIGNED.name => {
            let reviewer = event.uuid("reviewer_id")?;
            email_user(
                services,
                reviewer,
                key(reviewer),
                &format!("Please review a submission of {}", sub.deliverable),
                vec![
                    format!("You have been asked to review a submission {what}."),
                    format!(
                        "Open it at {link}; your assignments are at {public}/me/review-assignments."
                    ),
                ],
            )
            .await?;
        }
        other => {
            return Err(JobError::permanent(format!(
                "learning.notify does not handle {other}"
            )));
        }
    }
    Ok(Done::finished())
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ReminderJob {
    fire: DateTime<Utc>,
}

/// Which reminder is due for a deadline at `now`: the lead whose window `now` is in
/// (from `due - lead` up to the next smaller lead's start, or the deadline). A pass that
/// comes late inside a window still sends it; one past the window sends the next lead
/// only.
pub(crate) fn due_reminder(due: DateTime<Utc>, now: DateTime<Utc>) -> Option<i64> {
    if now >= due {
        return None;
    }
    let mut window_end = due;
    for lead in REMINDER_LEADS.iter().rev() {
        let start = due - Duration::hours(*lead);
        if now >= start && now < window_end {
            return Some(*lead);
        }
        window_end = start;
    }
    None
}

/// One pass: for every cohort deadline inside a reminder window at the schedule's fire
/// time, every active learner who has not handed in gets that reminder once. The
/// reminder is recorded in the transaction that queues its email, so two workers, a
/// retried job or a restart send nobody the same reminder twice.
async fn remind(services: &Services, job: ReminderJob) -> Result<Done, JobError> {
    const PAGE: u32 = 200;
    let now = job.fire;
    let horizon = (now + Duration::hours(REMINDER_LEADS[0])).date_naive();
    let since = (now - Duration::days(1)).date_naive();
    let public = services.settings.public_url.trim_end_matches('/');
    let mut after = None;
    let mut sent = 0usize;
    loop {
        let rows =
            cohort_repo::running_cohorts(&services.db, now, since, horizon, after, PAGE).await?;
        let full = rows.len() == PAGE as usize;
        after = rows.last().map(|r| r.id);
        for row in rows {
            let cohort = services.learning().cohorts().load_row(row).await?;
            let overrides = services
                .learning()
                .cohorts()
                .overrides(cohort.row.id)
                .await?;
            for item in cohort.schedule(&overrides) {
                let Some(lead) = due_reminder(item.due_at, now) else {
                    continue;
                };
                let waiting = repo::learners_without_submission(
                    &services.db,
                    cohort.row.id,
                    &item.deliverable,
                )
                .await?;
                for learner in waiting {
                    let Some(to) = notify::recipient(&services.db, learner).await? else {
                        continue;
                    };
                    let mut tx = services.db.begin().await?;
                    let first = repo::record_reminder(
                        &mut tx,
                        cohort.row.id,
                        &item.deliverable,
                        learner,
                        lead as i32,
                        now,
                    )
                    .await?;
                    if !first {
                        continue;
                    }
                    if !to.disabled && to.verified {
                        let email = templates::notice(
                            &to.email,
                            &format!("{} is due in {lead} hours", item.title),
                            &[
                                format!("Hello {},", to.display_name),
                                format!(
                                    "\u{201c}{}\u{201d} for {} is due at {} ({} UTC).",
                                    item.title, cohort.row.title, item.due_local, item.due_at
                                ),
                                format!(
                                    "Hand it in at {public}/cohorts/{}/deliverables/{}",
                                    cohort.row.slug, item.deliverable
                                ),
                            ],
                        );
                        let opts = EnqueueOptions {
                            dedupe_key: Some(format!(
                                "reminder:{}:{}:{learner}:{lead}",
                                cohort.row.id, item.deliverable
                            )),
                            run_at: None,
                        };
                        services
                            .queue
                            .enqueue_tx(
                                &mut tx,
                                EMAIL_SEND,
                                &email_payload(email, false, Some(learner)),
                                &opts,
                            )
                            .await?;
                        sent += 1;
                    }
                    tx.commit().await?;
                }
            }
        }
        if !full {
            break;
        }
    }
    if sent > 0 {
        services.queue.wake();
    }
    tracing::info!(sent, fire = %job.fire, "deadline reminders queued");
    Ok(Done::finished())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reminder_has_its_window_before_the_deadline() {
        let due: DateTime<Utc> = "2027-03-21T22:59:00Z".parse().unwrap();
        let at = |h: i64| due - Duration::hours(h);
        assert_eq!(due_reminder(due, at(72)), None);
        assert_eq!(due_reminder(due, at(48)), Some(48));
        assert_eq!(due_reminder(due, at(30)), Some(48));
        assert_eq!(due_reminder(due, at(24)), Some(24));
        assert_eq!(due_reminder(due, at(1)), Some(24));
        assert_eq!(due_reminder(due, due), None);
        assert_eq!(due_reminder(due, due + Duration::hours(1)), None);
    }

    #[test]
    fn learning_events_are_for_admins_endpoints() {
        let mut registry = Registry::default();
        register(&mut registry);
        for name in [
            "submission.created",
            "submission.reviewed",
            "review.assigned",
        ] {
            assert!(registry.event_type(name).is_some_and(|e| e.admin_only));
        }
        assert!(registry.scheduled_job("deadline_reminders").is_some());
    }
}
