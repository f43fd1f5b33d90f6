//! The weekly learning digests (schedule `learning_digests`, Mondays at 07:00 UTC by
//! default): a mentor digest for each running cohort a mentor mentors, and one learner
//! digest per learner across their running cohorts.
//!
//! - **Mentor digest**, per cohort: hand-ins whose latest revision has no mentor review
//!   yet (oldest first), every learner at risk with every reason (the progress table's),
//!   and late work: revisions handed in late during the period, and deliverables whose
//!   deadline fell in the period and that some learners have not handed in. It goes even
//!   when all three are empty, saying so: "all clear" is news to a mentor.
//! - **Learner digest**: deadlines in the seven days after the fire time, in the cohort's
//!   time zone (handed-in ones marked), reviews received during the period, open review
//!   assignments, and new notes in followed topics while the hub's `digest` preference is
//!   on. With nothing in any of the four it is not sent.
//!
//! The period is the ISO week of the fire time; "during the period" is the interval from
//! the schedule's previous fire time to this one. Who is concerned is decided at the
//! fire time: active members who joined by then, of cohorts running then (started, and
//! not ended before the day before, unless a moved deadline is still ahead), so a cohort
//! gets one last digest the Monday after its last day and none later.
//!
//! One email per person, period and kind (and cohort, for mentors): the fan-out's jobs
//! are keyed by period, and each email is queued in the transaction that records it in
//! `digests_sent`, so two workers, a retried job, a restart or a second fire time in
//! the same week send nothing twice. Both honour the `learning_digest` preference, when
//! queued and again when sent. A learner digest also records the `topics` claim of the
//! week (ADR 0008): the hub's weekly digest then leaves that reader out, so nobody gets
//! the same followed-topic notes twice.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use nexus_core::learning::{CohortRole, ReviewerRole};
use nexus_core::schedule::{Cron, iso_week};
use nexus_db::cohorts as cohort_repo;
use nexus_db::digests as repo;
use nexus_db::notify::{self, Recipient};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::cohorts::Loaded;
use super::progress::ProgressSort;
use crate::Services;
use crate::jobs::EnqueueOptions;
use crate::jobs::registry::{Done, JobError, JobKind, Registry, payload};
use crate::mail::OutgoingEmail;
use crate::mail::send::{EMAIL_SEND, Preference, email_payload_for};
use crate::mail::templates;

/// The schedule's name in `jobs.schedules`.
pub const SCHEDULE: &str = "learning_digests";

/// One period: a mentor digest job per running cohort, a learner digest job per learner.
pub const DIGESTS_FANOUT: JobKind = JobKind {
    name: "learning.digests",
    max_attempts: 5,
    run: |s, job| Box::pin(async move { fanout(s, payload(job)?).await }),
};

/// One cohort's mentor digests.
pub const MENTOR_DIGEST: JobKind = JobKind {
    name: "learning.digest.mentor",
    max_attempts: 5,
    run: |s, job| Box::pin(async move { mentor_digest(s, payload(job)?).await }),
};

/// One learner's digest.
pub const LEARNER_DIGEST: JobKind = JobKind {
    name: "learning.digest.learner",
    max_attempts: 5,
    run: |s, job| Box::pin(async move { learner_digest(s, payload(job)?).await }),
};

/// `digests_sent` kinds.
const MENTOR: &str = "mentor";
const LEARNER: &str = "learner";

/// How far ahead a learner digest lists deadlines.
const LOOK_AHEAD_DAYS: i64 = 7;
/// At most this many new notes in followed topics (as the hub's digest).
const NOTES_MAX: i64 = 20;

pub fn register(registry: &mut Registry) {
    registry
        .job(DIGESTS_FANOUT)
        .job(MENTOR_DIGEST)
        .job(LEARNER_DIGEST)
        .schedule(SCHEDULE, DIGESTS_FANOUT);
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FanoutJob {
    schedule: String,
    fire: DateTime<Utc>,
}

/// One digest job: the period runs from `since` to `fire`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DigestJob {
    /// The cohort (mentor digests) or the learner (learner digests).
    id: Uuid,
    since: DateTime<Utc>,
    fire: DateTime<Utc>,
}

/// The schedule's previous fire time: where this period began.
fn period_start(services: &Services, schedule: &str, fire: DateTime<Utc>) -> DateTime<Utc> {
    services
        .queue
        .settings()
        .schedules
        .get(schedule)
        .and_then(|expr| Cron::parse(expr).ok())
        .and_then(|cron| cron.current_fire(fire - Duration::seconds(1)))
        .unwrap_or(fire - Duration::days(7))
}

/// The dates `running_cohorts` takes: a cohort runs at `fire` when it started by that
/// day and did not end before the day before.
fn running_dates(fire: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
    let today = fire.date_naive();
    (today - Duration::days(1), today)
}

/// An instant as a reader of the cohort reads it: `Sun 7 Mar 2027, 23:59 CET`.
fn local(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz)
        .format("%a %-d %b %Y, %H:%M %Z")
        .to_string()
}

fn job_payload(job: &DigestJob) -> Value {
    serde_json::to_value(job).unwrap_or_else(|_| json!({}))
}

/// Pages through the cohorts running at the fire time; each job is keyed by period, so a
/// fan-out that runs twice (or a second fire time in the same week) adds no job.
async fn fanout(services: &Services, job: FanoutJob) -> Result<Done, JobError> {
    const PAGE: u32 = 200;
    let since = period_start(services, &job.schedule, job.fire);
    let period = iso_week(job.fire);
    let (from, today) = running_dates(job.fire);
    let mut after = None;
    let (mut cohorts, mut learners) = (0usize, 0usize);
    loop {
        let rows =
            cohort_repo::running_cohorts(&services.db, job.fire, from, today, after, PAGE).await?;
        let full = rows.len() == PAGE as usize;
        after = rows.last().map(|r| r.id);
        for row in rows {
            let digest = |id| DigestJob {
                id,
                since,
                fire: job.fire,
            };
            let key = format!("learning-digest:{MENTOR}:{}:{period}", row.id);
            services
                .queue
                .enqueue(MENTOR_DIGEST, &job_payload(&digest(row.id)), &keyed(key))
                .await?;
            cohorts += 1;
            let members = cohort_repo::members_enrolled_by(
                &services.db,
                row.id,
                CohortRole::Learner,
                job.fire,
            )
            .await?;
            for learner in members {
                // A learner of two cohorts gets one digest: the key names the person.
                let key = format!("learning-digest:{LEARNER}:{learner}:{period}");
                services
                    .queue
                    .enqueue(LEARNER_DIGEST, &job_payload(&digest(learner)), &keyed(key))
                    .await?;
                learners += 1;
            }
        }
        if !full {
            break;
        }
    }
    tracing::info!(cohorts, learners, fire = %job.fire, "learning digests fanned out");
    Ok(Done::finished())
}

fn keyed(key: String) -> EnqueueOptions {
    EnqueueOptions {
        dedupe_key: Some(key),
        run_at: None,
    }
}

/// Whether `to` takes learning digests at all.
fn wants(to: &Recipient) -> bool {
    to.email_learning_digest && to.verified && !to.disabled
}

/// Records the claim and queues the email in one transaction; `false` (and nothing
/// queued) when the claim was recorded before.
async fn queue_once(
    services: &Services,
    to: &Recipient,
    kind: &str,
    scope: &str,
    period: &str,
    email: OutgoingEmail,
) -> Result<bool, JobError> {
    let mut tx = services.db.begin().await?;
    let now = services.clock.now();
    if !notify::claim_digest(&mut tx, to.id, kind, scope, period, now).await? {
        return Ok(false);
    }
    let opts = keyed(format!("email:digest:{kind}:{scope}:{}:{period}", to.id));
    services
        .queue
        .enqueue_tx(
            &mut tx,
            EMAIL_SEND,
            &email_payload_for(email, to.id, Preference::LearningDigest),
            &opts,
        )
        .await?;
    tx.commit().await?;
    Ok(true)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn closing(public: &str) -> Vec<String> {
    vec![format!(
        "You get this digest every week. Turn it off (learning_digest) at {public}/settings/email."
    )]
}

async fn mentor_digest(services: &Services, job: DigestJob) -> Result<Done, JobError> {
    let Some(row) = cohort_repo::cohort_by_id(&services.db, job.id).await? else {
        return Ok(Done::finished());
    };
    let mentors =
        cohort_repo::members_enrolled_by(&services.db, row.id, CohortRole::Mentor, job.fire)
            .await?;
    let mut recipients = Vec::new();
    for mentor in mentors {
        if let Some(to) = notify::recipient(&services.db, mentor).await?
            && wants(&to)
        {
            recipients.push(to);
        }
    }
    if recipients.is_empty() {
        return Ok(Done::finished());
    }
    let cohort = services.learning().cohorts().load_row(row).await?;
    let sections = mentor_sections(services, &cohort, &job).await?;
    let all_clear = sections.iter().all(|(_, items)| items.is_empty());
    let public = services.settings.public_url.trim_end_matches('/');
    let period = iso_week(job.fire);
    let scope = cohort.row.id.to_string();
    let mut queued = 0usize;
    for to in recipients {
        let mut opening = vec![
            format!("Hello {},", to.display_name),
            format!(
                "This is your mentor digest of {} ({}) for {period}, as of {}.",
                cohort.row.title,
                cohort.row.slug,
                local(job.fire, cohort.tz)
            ),
        ];
        if all_clear {
            opening.push(
                "All clear: no hand-in awaits review, nobody is at risk and no work is late."
                    .into(),
            );
        }
        let email = templates::sections(
            &to.email,
            &format!("Mentor digest: {} ({period})", cohort.row.title),
            &opening,
            &sections,
            &closing(public),
        );
        if queue_once(services, &to, MENTOR, &scope, &period, email).await? {
            queued += 1;
        }
    }
    if queued > 0 {
        services.queue.wake();
    }
    Ok(Done::finished())
}

/// The three sections of a cohort's mentor digest, the same for each of its mentors.
async fn mentor_sections(
    services: &Services,
    cohort: &Loaded,
    job: &DigestJob,
) -> Result<Vec<(String, Vec<String>)>, JobError> {
    let public = services.settings.public_url.trim_end_matches('/');
    let slug = &cohort.row.slug;
    let overrides = services
        .learning()
        .cohorts()
        .overrides(cohort.row.id)
        .await?;
    let schedule = cohort.schedule(&overrides);
    let title = |deliverable: &str| {
        schedule
            .iter()
            .find(|i| i.deliverable == deliverable)
            .map_or_else(|| deliverable.to_owned(), |i| i.title.clone())
    };
    let link = |id: Uuid| format!("{public}/cohorts/{slug}/submissions/{id}");

    let awaiting: Vec<String> = repo::awaiting_review(&services.db, cohort.row.id, job.fire)
        .await?
        .into_iter()
        .map(|h| {
            format!(
                "{}: {}, revision {}, handed in {} \u{2014} {}",
                h.learner_handle,
                title(&h.deliverable),
                h.revision,
                local(h.submitted_at, cohort.tz),
                link(h.submission_id)
            )
        })
        .collect();

    let table = services
        .learning()
        .progress()
        .table(cohort, ProgressSort::Risk)
        .await?;
    let at_risk: Vec<String> = table
        .learners
        .iter()
        .filter(|r| !r.at_risk.is_empty())
        .map(|r| {
            let reasons: Vec<String> = r
                .at_risk
                .iter()
                .map(|i| format!("{} ({})", i.reason.as_str(), i.detail))
                .collect();
            format!("{}: {}", r.learner, reasons.join("; "))
        })
        .collect();

    let mut late: Vec<String> =
        repo::late_hand_ins(&services.db, cohort.row.id, job.since, job.fire)
            .await?
            .into_iter()
            .map(|h| {
                format!(
                    "{} handed in {} late (revision {}) on {} \u{2014} {}",
                    h.learner_handle,
                    title(&h.deliverable),
                    h.revision,
                    local(h.submitted_at, cohort.tz),
                    link(h.submission_id)
                )
            })
            .collect();
    for item in schedule
        .iter()
        .filter(|i| i.due_at >= job.since && i.due_at < job.fire)
    {
        let missing =
            repo::missing_hand_ins(&services.db, cohort.row.id, &item.deliverable, job.fire)
                .await?;
        if !missing.is_empty() {
            late.push(format!(
                "{}, due {}: not handed in by {}",
                item.title,
                local(item.due_at, cohort.tz),
                missing.join(", ")
            ));
        }
    }
    Ok(vec![
        (
            format!("Awaiting your review ({})", awaiting.len()),
            awaiting,
        ),
        (format!("At risk ({})", at_risk.len()), at_risk),
        (format!("Late work ({})", late.len()), late),
    ])
}

async fn learner_digest(services: &Services, job: DigestJob) -> Result<Done, JobError> {
    let Some(to) = notify::recipient(&services.db, job.id).await? else {
        return Ok(Done::finished());
    };
    if !wants(&to) {
        return Ok(Done::finished());
    }
    let (from, today) = running_dates(job.fire);
    let rows = cohort_repo::running_cohorts_of(
        &services.db,
        to.id,
        CohortRole::Learner,
        job.fire,
        from,
        today,
    )
    .await?;
    if rows.is_empty() {
        return Ok(Done::finished());
    }
    let public = services.settings.public_url.trim_end_matches('/');
    let until = job.fire + Duration::days(LOOK_AHEAD_DAYS);
    let mut deadlines = Vec::new();
    let mut titles = std::collections::HashMap::new();
    for row in rows {
        let cohort = services.learning().cohorts().load_row(row).await?;
        let overrides = services
            .learning()
            .cohorts()
            .overrides(cohort.row.id)
            .await?;
        let handed = repo::handed_in(&services.db, cohort.row.id, to.id).await?;
        for item in cohort.schedule(&overrides) {
            titles.insert(
                (cohort.row.slug.clone(), item.deliverable.clone()),
                item.title.clone(),
            );
            if item.due_at < job.fire || item.due_at >= until {
                continue;
            }
            let done = if handed.contains(&item.deliverable) {
                " (handed in)"
            } else {
                ""
            };
            deadlines.push((
                item.due_at,
                format!(
                    "{} ({}): due {}{done} \u{2014} {public}/cohorts/{}/deliverables/{}",
                    item.title,
                    cohort.row.slug,
                    local(item.due_at, cohort.tz),
                    cohort.row.slug,
                    item.deliverable
                ),
            ));
        }
    }
    deadlines.sort_by_key(|(at, _)| *at);
    let deadlines: Vec<String> = deadlines.into_iter().map(|(_, line)| line).collect();
    let title = |cohort: &str, deliverable: &str| {
        titles
            .get(&(cohort.to_owned(), deliverable.to_owned()))
            .cloned()
            .unwrap_or_else(|| deliverable.to_owned())
    };
    let link = |cohort: &str, id: Uuid| format!("{public}/cohorts/{cohort}/submissions/{id}");

    let reviews: Vec<String> = repo::reviews_received(&services.db, to.id, job.since, job.fire)
        .await?
        .into_iter()
        .map(|r| {
            let by = match r.role {
                ReviewerRole::Mentor => "a mentor",
                ReviewerRole::Peer => "a peer",
            };
            let asked = if r.revision_requested {
                ", revision requested"
            } else {
                ""
            };
            format!(
                "{} ({}), revision {}: {by} scored it {}/100{asked} \u{2014} {}",
                title(&r.cohort_slug, &r.deliverable),
                r.cohort_slug,
                r.revision,
                r.total,
                link(&r.cohort_slug, r.submission_id)
            )
        })
        .collect();

    let to_review: Vec<String> = repo::open_assignments(&services.db, to.id, job.fire)
        .await?
        .into_iter()
        .map(|a| {
            format!(
                "{} ({}), assigned {} \u{2014} {}",
                title(&a.cohort_slug, &a.deliverable),
                a.cohort_slug,
                a.assigned_at.format("%a %-d %b %Y"),
                link(&a.cohort_slug, a.submission_id)
            )
        })
        .collect();

    let notes = if to.email_digest {
        notify::digest_notes(&services.db, to.id, job.since, job.fire, NOTES_MAX).await?
    } else {
        Vec::new()
    };

    let period = iso_week(job.fire);
    let mut tx = services.db.begin().await?;
    let now = services.clock.now();
    if !notify::claim_digest(&mut tx, to.id, LEARNER, "", &period, now).await? {
        return Ok(Done::finished());
    }
    // While the reader takes the topic digest, this digest carries their followed-topic
    // notes for the week and the hub's leaves them out; if the hub's went first, these
    // are left out here instead. Claimed even with no notes to show, so the two
    // digests' windows (an hour apart by default) never overlap.
    let mut opening = vec![
        format!("Hello {},", to.display_name),
        format!("This is your learning digest for {period}."),
    ];
    let notes: Vec<String> = if to.email_digest {
        if notify::claim_digest(&mut tx, to.id, notify::TOPICS_DIGEST, "", &period, now).await? {
            notes
                .into_iter()
                .map(|n| {
                    format!(
                        "[{}] {} \u{2014} {public}/notes/{}",
                        n.topic, n.title, n.slug
                    )
                })
                .collect()
        } else {
            opening.push(
                "New notes in the topics you follow came in this week's topic digest.".into(),
            );
            Vec::new()
        }
    } else {
        Vec::new()
    };
    if deadlines.is_empty() && reviews.is_empty() && to_review.is_empty() && notes.is_empty() {
        // Nothing to say: the claims stand (this week is dealt with), no email goes.
        tx.commit().await?;
        return Ok(Done::finished());
    }
    let mut sections = vec![
        (
            format!(
                "Deadlines in the next {LOOK_AHEAD_DAYS} days ({})",
                deadlines.len()
            ),
            deadlines,
        ),
        (format!("Reviews received ({})", reviews.len()), reviews),
        (format!("Reviews to do ({})", to_review.len()), to_review),
    ];
    if to.email_digest {
        sections.push((
            format!(
                "{} in topics you follow",
                plural(notes.len(), "new note", "new notes")
            ),
            notes,
        ));
    }
    let email = templates::sections(
        &to.email,
        &format!("Your learning digest ({period})"),
        &opening,
        &sections,
        &closing(public),
    );
    let opts = keyed(format!("email:digest:{LEARNER}:{}:{period}", to.id));
    services
        .queue
        .enqueue_tx(
            &mut tx,
            EMAIL_SEND,
            &email_payload_for(email, to.id, Preference::LearningDigest),
            &opts,
        )
        .await?;
    tx.commit().await?;
    services.queue.wake();
    Ok(Done::finished())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_digests_register_their_schedule_and_jobs() {
        let mut registry = Registry::default();
        register(&mut registry);
        assert_eq!(
            registry.scheduled_job(SCHEDULE).map(|j| j.name),
            Some("learning.digests")
        );
        let kinds: Vec<&str> = registry.job_names().collect();
        assert_eq!(
            kinds,
            [
                "learning.digest.learner",
                "learning.digest.mentor",
                "learning.digests"
            ]
        );
    }

    #[test]
    fn local_times_carry_the_zone_of_the_cohort() {
        let at = Utc.with_ymd_and_hms(2027, 3, 7, 22, 59, 0).unwrap();
        assert_eq!(local(at, chrono_tz::UTC), "Sun 7 Mar 2027, 22:59 UTC");
        assert_eq!(
            local(at, chrono_tz::Europe::Berlin),
            "Sun 7 Mar 2027, 23:59 CET"
        );
    }

    #[test]
    fn a_cohort_runs_from_its_first_day_to_the_day_after_its_last() {
        let fire = Utc.with_ymd_and_hms(2027, 3, 15, 7, 0, 0).unwrap();
        let (from, today) = running_dates(fire);
        assert_eq!(from, NaiveDate::from_ymd_opt(2027, 3, 14).unwrap());
        assert_eq!(today, NaiveDate::from_ymd_opt(2027, 3, 15).unwrap());
    }
}
