//! Background work: a durable job queue, the transactional outbox and its relay,
//! schedules, and the workers that run them.
//!
//! # Guarantees
//! - A job or event exists exactly when the change that caused it commits: both are rows
//!   written in the caller's transaction ([`Jobs::enqueue_tx`], [`Jobs::emit`]).
//! - Delivery is at least once. A worker holds a claimed job under a lease that its
//!   heartbeat extends; a worker that dies loses the job to another when the lease lapses.
//!   Every handler is idempotent (dedupe keys on the jobs it creates, effect keys on what
//!   it does outside), so a job that runs twice acts once.
//! - Failed attempts come back after exponential backoff with jitter; after the kind's
//!   maximum number of attempts the job is dead and waits for an admin's retry.
//!
//! # Backends
//! The `jobs` table is the ledger on every backend. Without `amqp_url` it is also the
//! queue: workers claim due rows with `FOR UPDATE SKIP LOCKED` (PostgreSQL) or under the
//! single writer lock (SQLite). With `amqp_url`, the relay publishes due rows to a durable
//! RabbitMQ queue with publisher confirms and workers consume from it, acknowledging a
//! message only after the job's outcome is committed; see `docs/adr/0003-job-queue.md`.

pub mod admin;
pub mod amqp;
pub mod events;
pub mod registry;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use nexus_core::config::JobsSettings;
use nexus_core::error::AppResult;
use nexus_db::jobs as repo;
use nexus_db::{Db, DbTx};
use rand::Rng;
use serde_json::Value;
use uuid::Uuid;

use crate::clock::Clock;

pub use events::Event;
pub use registry::{Done, JobError, JobKind, Registry};

/// States of a job in the ledger.
pub const STATES: [&str; 4] = ["queued", "running", "succeeded", "dead"];

/// Options of one enqueue.
#[derive(Debug, Clone, Default)]
pub struct EnqueueOptions {
    /// Enqueueing again with the same key does nothing (an event relayed twice, two
    /// workers firing the same schedule period).
    pub dedupe_key: Option<String>,
    /// Not before this time.
    pub run_at: Option<DateTime<Utc>>,
}

/// The queue as the rest of the service layer sees it. Cheap to clone.
#[derive(Clone)]
pub struct Jobs {
    db: Db,
    settings: Arc<JobsSettings>,
    wake: Arc<tokio::sync::Notify>,
    /// When a job is enqueued and an event emitted, and so when a job is due.
    clock: Clock,
}

impl Jobs {
    pub fn new(db: Db, settings: &JobsSettings, clock: Clock) -> Jobs {
        Jobs {
            db,
            clock,
            settings: Arc::new(settings.clone()),
            wake: Arc::new(tokio::sync::Notify::new()),
        }
    }

    pub fn settings(&self) -> &JobsSettings {
        &self.settings
    }

    /// Attempts before a job of `kind` is dead: `jobs.max_attempts` or the kind's own.
    pub fn max_attempts(&self, kind: JobKind) -> u32 {
        self.settings
            .max_attempts
            .get(kind.name)
            .copied()
            .unwrap_or(kind.max_attempts)
    }

    /// When attempt `attempt` (1-based) failed, the next one is due after
    /// `base * 2^(attempt-1)` capped at the maximum, half of it fixed and half random
    /// ("equal jitter"), so retries of many jobs that failed together spread out.
    pub fn backoff(&self, attempt: i32) -> Duration {
        backoff(
            Duration::from_millis(self.settings.backoff_base_ms),
            Duration::from_secs(self.settings.backoff_max_secs),
            attempt,
            &mut rand::rng(),
        )
    }

    fn new_job<'a>(
        &self,
        kind: JobKind,
        payload: &'a Value,
        opts: &'a EnqueueOptions,
        now: DateTime<Utc>,
    ) -> repo::NewJob<'a> {
        repo::NewJob {
            id: Uuid::now_v7(),
            kind: kind.name,
            payload,
            max_attempts: i32::try_from(self.max_attempts(kind)).unwrap_or(5),
            run_at: opts.run_at.unwrap_or(now),
            dedupe_key: opts.dedupe_key.as_deref(),
        }
    }

    /// Enqueues in the caller's transaction: the job exists if and only if it commits.
    /// Call [`Jobs::wake`] after the commit to start it without waiting for a poll.
    pub async fn enqueue_tx(
        &self,
        tx: &mut DbTx,
        kind: JobKind,
        payload: &Value,
        opts: &EnqueueOptions,
    ) -> AppResult<bool> {
        let now = self.clock.now();
        let job = self.new_job(kind, payload, opts, now);
        repo::insert_job(&mut *tx, &job, now).await
    }

    /// Enqueues on its own; `false` when the dedupe key was already taken.
    pub async fn enqueue(
        &self,
        kind: JobKind,
        payload: &Value,
        opts: &EnqueueOptions,
    ) -> AppResult<bool> {
        Ok(self.enqueue_new(kind, payload, opts).await?.is_some())
    }

    /// Enqueues on its own; the new job's id, or `None` when the dedupe key was taken.
    pub async fn enqueue_new(
        &self,
        kind: JobKind,
        payload: &Value,
        opts: &EnqueueOptions,
    ) -> AppResult<Option<Uuid>> {
        let now = self.clock.now();
        let job = self.new_job(kind, payload, opts, now);
        let inserted = repo::insert_job(&self.db, &job, now).await?;
        self.wake();
        Ok(inserted.then_some(job.id))
    }

    /// Records a domain event in the caller's transaction (the outbox).
    pub async fn emit(&self, tx: &mut DbTx, event: &dyn Event) -> AppResult<Uuid> {
        let id = Uuid::now_v7();
        repo::insert_event(
            &mut *tx,
            id,
            event.event_type(),
            &event.payload(),
            self.clock.now(),
        )
        .await?;
        Ok(id)
    }

    /// Tells this process's worker that work is waiting.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub(crate) fn woken(&self) -> &tokio::sync::Notify {
        &self.wake
    }
}

fn backoff(base: Duration, max: Duration, attempt: i32, rng: &mut impl Rng) -> Duration {
    let exp = u32::try_from(attempt.saturating_sub(1))
        .unwrap_or(0)
        .min(30);
    let full = base.saturating_mul(2u32.saturating_pow(exp)).min(max);
    let half = full / 2;
    let jitter_ms = rng.random_range(0..=u64::try_from(half.as_millis()).unwrap_or(u64::MAX));
    half + Duration::from_millis(jitter_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn backoff_doubles_within_jitter_and_stops_at_the_cap() {
        let base = Duration::from_secs(2);
        let max = Duration::from_secs(60);
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for attempt in 1..=10 {
            let full = (base * 2u32.pow(attempt as u32 - 1)).min(max);
            for _ in 0..50 {
                let d = backoff(base, max, attempt, &mut rng);
                assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
            }
        }
        let spread: std::collections::BTreeSet<_> = (0..50)
            .map(|_| backoff(base, max, 3, &mut rng).as_millis())
            .collect();
        assert!(spread.len() > 10, "jitter spreads retries: {spread:?}");
        assert!(backoff(base, max, i32::MAX, &mut rng) <= max);
        assert!(backoff(base, max, 0, &mut rng) <= base);
    }
}
