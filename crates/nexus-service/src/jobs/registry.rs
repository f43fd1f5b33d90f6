//! What the job machinery runs, declared by the domains that own it.
//!
//! The queue, the outbox relay, the scheduler and the workers name no domain. Each domain
//! declares its job kinds, event types, subscriptions and schedules as constants and adds
//! them in its own `register` function; [`crate::Services::new`] calls those once at
//! start-up and checks the configuration against the result. A new kind of job is one
//! constant and one `register` line in the domain that needs it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;

use nexus_core::config::JobsSettings;
use nexus_core::error::AppResult;
use nexus_db::DbTx;
use nexus_db::jobs::ClaimedJob;
use serde::de::DeserializeOwned;

use crate::Services;

/// What a handler's run returns.
pub type JobFuture<'a> = Pin<Box<dyn Future<Output = Result<Done, JobError>> + Send + 'a>>;

/// The handler of a job kind. A plain function pointer, so kinds are constants.
pub type JobFn = for<'a> fn(&'a Services, &'a ClaimedJob) -> JobFuture<'a>;

/// One kind of job: its stored name, how often it is tried, and what it does. Every
/// handler must be idempotent (delivery is at least once).
#[derive(Clone, Copy)]
pub struct JobKind {
    /// Stored in the ledger, shown in the admin API, named in `jobs.max_attempts`.
    pub name: &'static str,
    /// Attempts before the job is dead, unless `jobs.max_attempts` says otherwise.
    pub max_attempts: u32,
    pub run: JobFn,
}

impl std::fmt::Debug for JobKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl PartialEq for JobKind {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

/// A successful run.
pub enum Done {
    /// Finished; `scrubbed` replaces the stored payload (to drop secrets).
    Finished { scrubbed: Option<serde_json::Value> },
    /// Not tried now; due again at `until` without using up an attempt.
    Postpone {
        until: chrono::DateTime<chrono::Utc>,
        why: String,
    },
}

impl Done {
    pub fn finished() -> Done {
        Done::Finished { scrubbed: None }
    }
}

/// A failed run. `permanent` failures go straight to dead: retrying cannot help.
#[derive(Debug)]
pub struct JobError {
    pub message: String,
    pub permanent: bool,
}

impl JobError {
    pub fn permanent(message: impl std::fmt::Display) -> Self {
        JobError {
            message: message.to_string(),
            permanent: true,
        }
    }

    pub fn transient(message: impl std::fmt::Display) -> Self {
        JobError {
            message: message.to_string(),
            permanent: false,
        }
    }
}

impl From<nexus_core::AppError> for JobError {
    fn from(e: nexus_core::AppError) -> Self {
        JobError::transient(format!("{e:#}"))
    }
}

/// A job's payload as the type its handler expects; a payload that does not parse can
/// never succeed, so it is a permanent failure.
pub fn payload<T: DeserializeOwned>(job: &ClaimedJob) -> Result<T, JobError> {
    serde_json::from_value(job.payload.0.clone())
        .map_err(|e| JobError::permanent(format!("payload of {} is not valid: {e}", job.kind)))
}

/// A type of domain event that the outbox carries and webhooks may receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventType {
    pub name: &'static str,
    /// Only an admin's webhook endpoint may receive it: it concerns other users'
    /// accounts or moderation.
    pub admin_only: bool,
}

/// Which of the given event types someone wants right now (for example, an endpoint
/// subscribed to them), read in the relay's transaction. A subscription with a gate gets
/// no job for the others.
pub type GateFn =
    for<'a> fn(
        &'a mut DbTx,
        &'a [&'a str],
    ) -> Pin<Box<dyn Future<Output = AppResult<HashSet<String>>> + Send + 'a>>;

/// A job that every event of some types becomes.
#[derive(Clone, Copy)]
struct Subscription {
    job: JobKind,
    gate: Option<GateFn>,
}

/// Which event types a subscription covers.
#[derive(Clone, Copy)]
pub enum Events {
    /// These, by name.
    Only(&'static [&'static str]),
    /// Every registered type, including those registered after the subscription.
    All,
}

/// Every job kind, event type, subscription and schedule of the process.
#[derive(Default)]
pub struct Registry {
    jobs: BTreeMap<&'static str, JobKind>,
    events: BTreeMap<&'static str, EventType>,
    subscriptions: Vec<(Events, Subscription)>,
    schedules: BTreeMap<&'static str, JobKind>,
}

impl Registry {
    /// Adds a job kind.
    pub fn job(&mut self, kind: JobKind) -> &mut Self {
        add_once(&mut self.jobs, "job kind", kind.name, kind);
        self
    }

    pub fn event(&mut self, event: EventType) -> &mut Self {
        add_once(&mut self.events, "event", event.name, event);
        self
    }

    /// Every event of `events` becomes a `job` (with the event's envelope as payload).
    pub fn subscribe(&mut self, events: Events, job: JobKind) -> &mut Self {
        self.subscriptions
            .push((events, Subscription { job, gate: None }));
        self
    }

    /// As [`Registry::subscribe`], but only for event types `gate` says someone wants.
    pub fn subscribe_gated(&mut self, events: Events, job: JobKind, gate: GateFn) -> &mut Self {
        self.subscriptions.push((
            events,
            Subscription {
                job,
                gate: Some(gate),
            },
        ));
        self
    }

    /// A schedule named in `jobs.schedules` fires `job` once per period.
    pub fn schedule(&mut self, name: &'static str, job: JobKind) -> &mut Self {
        self.schedules.insert(name, job);
        self
    }

    pub fn job_kind(&self, name: &str) -> Option<&JobKind> {
        self.jobs.get(name)
    }

    pub fn job_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.jobs.keys().copied()
    }

    pub fn event_type(&self, name: &str) -> Option<&EventType> {
        self.events.get(name)
    }

    pub fn event_types(&self) -> impl Iterator<Item = &EventType> + '_ {
        self.events.values()
    }

    pub fn scheduled_job(&self, schedule: &str) -> Option<JobKind> {
        self.schedules.get(schedule).copied()
    }

    /// The jobs an event of `event_type` becomes, each with its gate.
    pub(crate) fn subscribers(&self, event_type: &str) -> Vec<(JobKind, Option<GateFn>)> {
        if !self.events.contains_key(event_type) {
            return Vec::new();
        }
        self.subscriptions
            .iter()
            .filter(|(events, _)| match events {
                Events::All => true,
                Events::Only(names) => names.contains(&event_type),
            })
            .map(|(_, s)| (s.job, s.gate))
            .collect()
    }

    /// Refuses configuration that names what nobody registered: a misspelt job kind in
    /// `jobs.max_attempts` or an unknown schedule is a start-up error, not ignored.
    pub fn check(&self, jobs: &JobsSettings) -> Result<(), String> {
        let mut problems = Vec::new();
        let known = |names: Vec<&str>| names.join(", ");
        for kind in jobs.max_attempts.keys() {
            if !self.jobs.contains_key(kind.as_str()) {
                problems.push(format!(
                    "key `jobs.max_attempts.{kind}`: unknown job kind; known: {}",
                    known(self.jobs.keys().copied().collect())
                ));
            }
        }
        for name in jobs.schedules.keys() {
            if !self.schedules.contains_key(name.as_str()) {
                problems.push(format!(
                    "key `jobs.schedules.{name}`: unknown schedule; known: {}",
                    known(self.schedules.keys().copied().collect())
                ));
            }
        }
        let subscribed: HashMap<&str, ()> = self
            .subscriptions
            .iter()
            .filter_map(|(e, _)| match e {
                Events::Only(names) => Some(*names),
                Events::All => None,
            })
            .flatten()
            .map(|n| (*n, ()))
            .collect();
        for name in subscribed.keys() {
            if !self.events.contains_key(name) {
                problems.push(format!("a subscription names the unknown event `{name}`"));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }
}

/// Adds `value` under `name`. A name registered twice is a programming error, caught by
/// the first test that builds the services.
fn add_once<V>(map: &mut BTreeMap<&'static str, V>, what: &str, name: &'static str, value: V) {
    let previous = map.insert(name, value);
    assert!(previous.is_none(), "{what} `{name}` registered twice");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nothing<'a>(_: &'a Services, _: &'a ClaimedJob) -> JobFuture<'a> {
        Box::pin(async { Ok(Done::finished()) })
    }

    const A: JobKind = JobKind {
        name: "test.a",
        max_attempts: 3,
        run: nothing,
    };
    const B: JobKind = JobKind {
        name: "test.b",
        max_attempts: 3,
        run: nothing,
    };
    const SAID: EventType = EventType {
        name: "thing.said",
        admin_only: false,
    };
    const DONE: EventType = EventType {
        name: "thing.done",
        admin_only: true,
    };

    fn registry() -> Registry {
        let mut r = Registry::default();
        r.job(A)
            .job(B)
            .event(SAID)
            .event(DONE)
            .subscribe(Events::Only(&["thing.said"]), A)
            .subscribe(Events::All, B)
            .schedule("weekly_a", A);
        r
    }

    #[test]
    fn events_reach_their_subscribers_and_unknown_events_reach_nobody() {
        let r = registry();
        let said: Vec<&str> = r
            .subscribers("thing.said")
            .iter()
            .map(|s| s.0.name)
            .collect();
        assert_eq!(said, ["test.a", "test.b"]);
        let done: Vec<&str> = r
            .subscribers("thing.done")
            .iter()
            .map(|s| s.0.name)
            .collect();
        assert_eq!(done, ["test.b"]);
        assert!(r.subscribers("thing.unknown").is_empty());
    }

    #[test]
    fn configuration_must_name_registered_kinds_and_schedules() {
        let r = registry();
        let mut jobs = JobsSettings::default();
        jobs.schedules.clear();
        jobs.max_attempts.insert("test.a".into(), 4);
        jobs.schedules
            .insert("weekly_a".into(), "0 0 8 * * Mon".into());
        assert!(r.check(&jobs).is_ok());
        jobs.max_attempts.insert("test.c".into(), 4);
        jobs.schedules.insert("daily".into(), "0 0 8 * * *".into());
        let err = r.check(&jobs).unwrap_err();
        assert!(err.contains("jobs.max_attempts.test.c"), "{err}");
        assert!(err.contains("known: test.a, test.b"), "{err}");
        assert!(err.contains("jobs.schedules.daily"), "{err}");
    }

    #[test]
    #[should_panic(expected = "registered twice")]
    fn a_kind_registered_twice_is_refused() {
        let mut r = Registry::default();
        r.job(A).job(A);
    }
}
