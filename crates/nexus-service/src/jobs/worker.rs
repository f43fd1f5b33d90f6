//! The worker: relays outbox events, fires schedules, claims jobs and runs them.
//!
//! `nexus serve` runs one inside the process unless `--no-worker`; `nexus worker` runs one
//! alone. Any number may run against the same database (and broker): claims, relays and
//! schedule periods are all arbitrated by the database, never by the workers talking to
//! each other.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use nexus_core::error::AppResult;
use nexus_core::schedule::{Cron, period_key};
use nexus_db::jobs::{self as repo, ClaimedJob};
use serde_json::json;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::EnqueueOptions;
use super::events::EventEnvelope;
use super::registry::{Done, JobError};
use crate::Services;

/// Events moved from the outbox per relay transaction.
const RELAY_BATCH: i64 = 200;
/// How often schedules are checked; periods are minutes apart at the finest, so a
/// second's delay is invisible.
const SCHEDULE_TICK: Duration = Duration::from_secs(1);
/// How often the queue-depth gauge is refreshed and old jobs are deleted.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(15);

/// A unique name for this worker, stored on the jobs it holds.
pub fn worker_name() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        &Uuid::new_v4().simple().to_string()[..8]
    )
}

/// Runs a worker until `stop` is cancelled, then waits (bounded by `drain`) for the jobs
/// in hand. Jobs still running after that keep their lease and go to another worker when
/// it lapses.
pub async fn run(services: Services, stop: CancellationToken, drain: Duration) {
    let name = Arc::new(worker_name());
    tracing::info!(worker = %name, backend = %services.jobs_backend(), "worker started");
    let slots = Arc::new(Semaphore::new(services.queue.settings().concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(relay_loop(services.clone(), stop.clone()));
    tasks.spawn(schedule_loop(services.clone(), stop.clone()));
    tasks.spawn(housekeeping_loop(services.clone(), stop.clone()));
    match services.amqp.clone() {
        Some(link) => {
            tasks.spawn(super::amqp::publish_loop(
                services.clone(),
                link.clone(),
                stop.clone(),
            ));
            tasks.spawn(super::amqp::consume_loop(
                services.clone(),
                link,
                name.clone(),
                slots.clone(),
                stop.clone(),
            ));
            tasks.spawn(lapsed_loop(services.clone(), stop.clone()));
        }
        None => {
            tasks.spawn(claim_loop(
                services.clone(),
                name.clone(),
                slots.clone(),
                stop.clone(),
            ));
        }
    }
    stop.cancelled().await;
    let all = u32::try_from(services.queue.settings().concurrency).unwrap_or(u32::MAX);
    if tokio::time::timeout(drain, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!(worker = %name, "jobs still running at shutdown; their leases will lapse");
    }
    tasks.abort_all();
    tracing::info!(worker = %name, "worker stopped");
}

/// Sleeps for `d` or until stopped; `false` when stopped.
async fn pause(stop: &CancellationToken, d: Duration) -> bool {
    tokio::select! {
        _ = stop.cancelled() => false,
        _ = tokio::time::sleep(d) => true,
    }
}

fn poll_interval(services: &Services) -> Duration {
    Duration::from_millis(services.queue.settings().poll_interval_ms)
}

fn lease(services: &Services) -> Duration {
    Duration::from_secs(services.queue.settings().lease_secs)
}

// ---- stepping by hand ------------------------------------------------------------------

/// One step of the whole machinery, as of the services' clock: relays pending outbox
/// events, then claims and runs one job due by then. `false` when there was nothing to
/// do. Tests drive the queue with this instead of a running worker, on a manual clock,
/// so nothing sleeps or polls: retries and postponed jobs become due by moving the clock.
pub async fn step(services: &Services) -> AppResult<bool> {
    let relayed = relay_once(services).await?;
    let now = services.clock.now();
    let until = now + lease(services);
    let mut claimed = repo::claim(&services.db, "step", now, until, 1).await?;
    match claimed.pop() {
        Some(job) => {
            execute(services, "step", job).await;
            Ok(true)
        }
        None => Ok(relayed > 0),
    }
}

/// Steps until nothing is due; returns how many steps did something. Bounded, so a job
/// that keeps making jobs cannot hang a test.
pub async fn drain(services: &Services) -> AppResult<usize> {
    const MAX_STEPS: usize = 10_000;
    let mut steps = 0;
    while steps < MAX_STEPS && step(services).await? {
        steps += 1;
    }
    Ok(steps)
}

/// Fires the current period of every schedule, as of the services' clock, as each
/// worker's schedule loop does; returns how many periods this call enqueued (a period
/// fired before, by this or another worker, is not fired again).
pub async fn fire_due_schedules(services: &Services) -> AppResult<usize> {
    let now = services.clock.now();
    let mut fired = 0;
    for (name, cron) in schedules(services) {
        if let Some(fire) = cron.current_fire(now)
            && fire_schedule(services, &name, fire).await?
        {
            fired += 1;
        }
    }
    Ok(fired)
}

// ---- the table queue -------------------------------------------------------------------

async fn claim_loop(
    services: Services,
    name: Arc<String>,
    slots: Arc<Semaphore>,
    stop: CancellationToken,
) {
    let idle = poll_interval(&services);
    loop {
        if stop.is_cancelled() {
            return;
        }
        let free = slots.available_permits();
        let mut claimed = 0;
        if free > 0 {
            let now = services.clock.now();
            let until = now + lease(&services);
            match repo::claim(&services.db, &name, now, until, free as i64).await {
                Ok(jobs) => {
                    claimed = jobs.len();
                    for job in jobs {
                        let Ok(permit) = slots.clone().acquire_owned().await else {
                            return;
                        };
                        let services = services.clone();
                        let name = name.clone();
                        tokio::spawn(async move {
                            execute(&services, &name, job).await;
                            drop(permit);
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "claiming jobs failed; retrying"),
            }
        }
        if claimed == 0 || slots.available_permits() == 0 {
            // Full, or nothing due: wait for a wake-up, a finished job or the next poll.
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = services.queue.woken().notified() => {}
                _ = tokio::time::sleep(idle) => {}
            }
        }
    }
}

/// Runs one claimed job with a heartbeat, and records its outcome. Returns once the
/// outcome is committed (the broker path acknowledges its message after that).
pub(crate) async fn execute(services: &Services, worker: &str, job: ClaimedJob) {
    let kind = job.kind.clone();
    let started = Instant::now();
    let waited = (services.clock.now() - job.created_at)
        .to_std()
        .unwrap_or_default();
    metrics::counter!("jobs_attempts_total", "kind" => kind.clone()).increment(1);
    let heartbeat = {
        let services = services.clone();
        let worker = worker.to_owned();
        let (id, number) = (job.id, job.attempts);
        tokio::spawn(async move {
            let every = lease(&services) / 3;
            let attempt = repo::Attempt {
                job: id,
                worker: &worker,
                number,
            };
            loop {
                tokio::time::sleep(every).await;
                let until = services.clock.now() + lease(&services);
                match repo::extend_lease(&services.db, &attempt, until).await {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(e) => tracing::warn!(error = %e, job = %id, "lease heartbeat failed"),
                }
            }
        })
    };
    let result = match services.registry.job_kind(&job.kind) {
        Some(kind) => (kind.run)(services, &job).await,
        None => Err(JobError::permanent(format!(
            "no handler for job kind `{}`",
            job.kind
        ))),
    };
    heartbeat.abort();
    let attempt = repo::Attempt {
        job: job.id,
        worker,
        number: job.attempts,
    };
    let now = services.clock.now();
    let recorded = match result {
        Ok(Done::Finished { scrubbed }) => {
            metrics::histogram!("jobs_run_seconds", "kind" => kind.clone())
                .record(started.elapsed().as_secs_f64());
            metrics::histogram!("jobs_latency_seconds", "kind" => kind.clone())
                .record(waited.as_secs_f64() + started.elapsed().as_secs_f64());
            repo::succeed(&services.db, &attempt, now, scrubbed.as_ref()).await
        }
        Ok(Done::Postpone { until, why }) => {
            tracing::debug!(job = %job.id, %kind, %why, "job postponed");
            repo::postpone(&services.db, &attempt, now, until).await
        }
        Err(JobError { message, permanent }) => {
            metrics::counter!("jobs_failures_total", "kind" => kind.clone()).increment(1);
            let retry_at = (!permanent && job.attempts < job.max_attempts)
                .then(|| now + services.queue.backoff(job.attempts));
            if retry_at.is_none() {
                metrics::counter!("jobs_dead_total", "kind" => kind.clone()).increment(1);
                tracing::warn!(job = %job.id, %kind, attempts = job.attempts, error = %message, "job is dead");
            } else {
                tracing::info!(job = %job.id, %kind, attempt = job.attempts, error = %message, "job failed; will retry");
            }
            repo::fail(&services.db, &attempt, now, &message, retry_at).await
        }
    };
    match recorded {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(job = %job.id, %kind, "job was taken over before it finished; its outcome is the other worker's")
        }
        Err(e) => {
            tracing::error!(job = %job.id, %kind, error = %e, "recording a job's outcome failed; it will run again when its lease lapses")
        }
    }
    // A finished job frees a slot: look for more at once.
    services.queue.wake();
}

// ---- the outbox relay ------------------------------------------------------------------

async fn relay_loop(services: Services, stop: CancellationToken) {
    let idle = poll_interval(&services);
    loop {
        match relay_once(&services).await {
            Ok(n) if n as i64 == RELAY_BATCH => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "relaying outbox events failed; retrying"),
        }
        if !pause(&stop, idle).await {
            return;
        }
    }
}

/// Moves one batch of outbox events into jobs, in one transaction: the events are marked
/// relayed only if their jobs were written. Each job's dedupe key is the event id and the
/// job kind, so a batch relayed twice (two relays racing on SQLite) adds nothing.
pub async fn relay_once(services: &Services) -> nexus_core::error::AppResult<usize> {
    let mut tx = services.db.begin().await?;
    let events = repo::lock_pending_events(&mut tx, RELAY_BATCH).await?;
    let now = services.clock.now();
    // A gated subscription (say, a fan-out to webhook endpoints) gets no job for event
    // types nobody wants: that saves a job per note written when nobody uses webhooks.
    // Each gate is asked once per batch, in the relay's transaction, so an endpoint
    // registered after this gets later events.
    let mut types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    types.sort_unstable();
    types.dedup();
    let mut wanted: std::collections::HashMap<&str, std::collections::HashSet<String>> =
        Default::default();
    for event_type in &types {
        for (job, gate) in services.registry.subscribers(event_type) {
            if let Some(gate) = gate
                && !wanted.contains_key(job.name)
            {
                wanted.insert(job.name, gate(&mut tx, &types).await?);
            }
        }
    }
    for event in &events {
        let envelope = EventEnvelope {
            event_id: event.id,
            event_type: event.event_type.clone(),
            occurred_at: event.occurred_at,
            data: event.payload.0.clone(),
        };
        let payload = serde_json::to_value(&envelope).unwrap_or_else(|_| json!({}));
        for (kind, gate) in services.registry.subscribers(&event.event_type) {
            if gate.is_some()
                && !wanted
                    .get(kind.name)
                    .is_some_and(|w| w.contains(&event.event_type))
            {
                continue;
            }
            let opts = EnqueueOptions {
                dedupe_key: Some(format!("event:{}:{}", event.id, kind.name)),
                run_at: None,
            };
            services
                .queue
                .enqueue_tx(&mut tx, kind, &payload, &opts)
                .await?;
        }
        repo::mark_relayed(&mut tx, event.id, now).await?;
    }
    tx.commit().await?;
    if !events.is_empty() {
        metrics::counter!("outbox_events_relayed_total").increment(events.len() as u64);
        services.queue.wake();
    }
    Ok(events.len())
}

// ---- schedules --------------------------------------------------------------------------

/// The configured schedules that parse (`Settings::validate` refuses the others at start).
fn schedules(services: &Services) -> Vec<(String, Cron)> {
    services
        .queue
        .settings()
        .schedules
        .iter()
        .filter_map(|(name, expr)| match Cron::parse(expr) {
            Ok(cron) => Some((name.clone(), cron)),
            Err(e) => {
                tracing::error!(schedule = %name, error = %e, "schedule skipped");
                None
            }
        })
        .collect()
}

async fn schedule_loop(services: Services, stop: CancellationToken) {
    let schedules = schedules(&services);
    let mut fired: std::collections::HashMap<String, chrono::DateTime<Utc>> = Default::default();
    loop {
        for (name, cron) in &schedules {
            let Some(fire) = cron.current_fire(services.clock.now()) else {
                continue;
            };
            if fired.get(name) == Some(&fire) {
                continue;
            }
            match fire_schedule(&services, name, fire).await {
                Ok(_) => {
                    fired.insert(name.clone(), fire);
                }
                Err(e) => tracing::warn!(schedule = %name, error = %e, "firing a schedule failed"),
            }
        }
        if !pause(&stop, SCHEDULE_TICK).await {
            return;
        }
    }
}

/// Enqueues the job of one period of a schedule; `false` if another worker already did.
pub async fn fire_schedule(
    services: &Services,
    name: &str,
    fire: chrono::DateTime<Utc>,
) -> nexus_core::error::AppResult<bool> {
    let Some(kind) = services.registry.scheduled_job(name) else {
        return Err(nexus_core::AppError::Internal(anyhow::anyhow!(
            "no job for schedule `{name}`"
        )));
    };
    let opts = EnqueueOptions {
        dedupe_key: Some(period_key(name, fire)),
        run_at: None,
    };
    let inserted = services
        .queue
        .enqueue(kind, &json!({ "schedule": name, "fire": fire }), &opts)
        .await?;
    if inserted {
        tracing::info!(schedule = %name, %fire, "schedule fired");
    }
    Ok(inserted)
}

// ---- housekeeping -----------------------------------------------------------------------

async fn housekeeping_loop(services: Services, stop: CancellationToken) {
    loop {
        match repo::depth(&services.db).await {
            Ok(rows) => {
                for kind in services.registry.job_names() {
                    let n = rows.iter().find(|(k, _)| k == kind).map_or(0, |(_, n)| *n);
                    metrics::gauge!("jobs_queue_depth", "kind" => kind).set(n as f64);
                }
            }
            Err(e) => tracing::debug!(error = %e, "reading queue depth failed"),
        }
        let keep = chrono::Duration::days(i64::from(services.queue.settings().retention_days));
        if let Err(e) =
            repo::delete_succeeded_before(&services.db, services.clock.now() - keep).await
        {
            tracing::debug!(error = %e, "deleting old jobs failed");
        }
        if !pause(&stop, HOUSEKEEPING_EVERY).await {
            return;
        }
    }
}

/// The broker path: jobs whose worker died mid-run go back to the relay.
async fn lapsed_loop(services: Services, stop: CancellationToken) {
    let every = (lease(&services) / 2).max(Duration::from_millis(200));
    loop {
        match repo::requeue_lapsed(&services.db, services.clock.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, "jobs of a lost worker put back in the queue"),
            Err(e) => tracing::debug!(error = %e, "requeueing lapsed jobs failed"),
        }
        if !pause(&stop, every).await {
            return;
        }
    }
}
