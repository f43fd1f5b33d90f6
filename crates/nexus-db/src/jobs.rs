//! The job ledger, the transactional outbox and the record of effects already had.
//!
//! Claiming is one statement on both backends: an `UPDATE … WHERE id IN (SELECT … LIMIT
//! n) RETURNING`, which on PostgreSQL locks its candidates with `FOR UPDATE SKIP LOCKED`
//! so concurrent workers take disjoint batches, and on SQLite runs under the database's
//! single writer lock. Every later transition of a running job is fenced on
//! `(worker, attempts)`: a worker whose lease ran out and whose job was taken over can no
//! longer finish or fail it.

use chrono::{DateTime, Utc};
use nexus_core::error::AppResult;
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use crate::Backend;
use crate::exec::{Args, Exec, Order, query};

/// Microseconds since the Unix epoch, the unit of `run_at_us` and `lease_until_us`.
pub fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

pub fn from_micros(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub id: Uuid,
    pub kind: &'a str,
    pub payload: &'a Value,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub dedupe_key: Option<&'a str>,
}

/// A job handed to a worker: what to run and which attempt this is.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedJob {
    pub id: Uuid,
    pub kind: String,
    pub payload: Json<Value>,
    pub attempts: i32,
    pub max_attempts: i32,
    pub created_at: DateTime<Utc>,
}

/// A job as the admin API shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobRow {
    pub id: Uuid,
    pub kind: String,
    pub payload: Json<Value>,
    pub state: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at_us: i64,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: Uuid,
    pub event_type: String,
    pub payload: Json<Value>,
    pub occurred_at: DateTime<Utc>,
}

const INSERT_JOB: &str = "INSERT INTO jobs (id, kind, payload, state, attempts, max_attempts, \
     run_at_us, dedupe_key, created_at, updated_at) \
     VALUES ($1, $2, $3, 'queued', 0, $4, $5, $6, $7, $7) ON CONFLICT (dedupe_key) DO NOTHING";

/// Enqueues a job. Given the caller's transaction (`&mut tx`), it exists exactly when the
/// change that asked for it commits; given the pool (`&db`), it is written on its own.
/// Returns `false` when a job with the same dedupe key exists.
pub async fn insert_job(
    x: impl Into<Exec<'_>>,
    job: &NewJob<'_>,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let done = x
        .into()
        .execute(
            query(INSERT_JOB)
                .bind(job.id)
                .bind(job.kind)
                .bind(job.payload)
                .bind(job.max_attempts)
                .bind(micros(job.run_at))
                .bind(job.dedupe_key)
                .bind(now),
        )
        .await?;
    Ok(done == 1)
}

pub async fn insert_event(
    x: impl Into<Exec<'_>>,
    id: Uuid,
    event_type: &str,
    payload: &Value,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let sql = "INSERT INTO outbox_events (id, event_type, payload, occurred_at) \
               VALUES ($1, $2, $3, $4)";
    x.into()
        .run(query(sql).args((id, event_type, payload, now)))
        .await
}

fn skip_locked(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    }
}

/// Locks (on PostgreSQL) and returns the oldest events not yet relayed. Call inside the
/// transaction that enqueues their jobs and then [`mark_relayed`]s them.
pub async fn lock_pending_events(x: impl Into<Exec<'_>>, limit: i64) -> AppResult<Vec<EventRow>> {
    let mut x = x.into();
    let sql = format!(
        "SELECT id, event_type, payload, occurred_at FROM outbox_events \
         WHERE relayed_at IS NULL ORDER BY id LIMIT $1{}",
        skip_locked(x.backend())
    );
    x.fetch_all(query(sql).bind(limit)).await
}

pub async fn mark_relayed(x: impl Into<Exec<'_>>, id: Uuid, now: DateTime<Utc>) -> AppResult<()> {
    let sql = "UPDATE outbox_events SET relayed_at = $2 WHERE id = $1";
    x.into().run(query(sql).args((id, now))).await
}

/// Claiming, on both paths: the job runs for `worker` ($2) under a lease until $1 (µs),
/// as of $3, with one more attempt counted.
const CLAIM: &str = "UPDATE jobs SET state = 'running', attempts = attempts + 1, \
     lease_until_us = $1, worker = $2, updated_at = $3";
/// A job that may be claimed at $4 (µs): queued and due, or running with a lapsed lease.
const CLAIMABLE: &str =
    "((state = 'queued' AND run_at_us <= $4) OR (state = 'running' AND lease_until_us < $4))";
const RETURNING: &str = "RETURNING id, kind, payload, attempts, max_attempts, created_at";

/// Takes up to `limit` due jobs (queued and due, or running with a lapsed lease) for
/// `worker`, counting an attempt on each.
pub async fn claim(
    x: impl Into<Exec<'_>>,
    worker: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> AppResult<Vec<ClaimedJob>> {
    let mut x = x.into();
    let sql = format!(
        "{CLAIM} WHERE id IN (SELECT id FROM jobs WHERE {CLAIMABLE} \
         ORDER BY run_at_us LIMIT $5{}) {RETURNING}",
        skip_locked(x.backend())
    );
    let args = (micros(lease_until), worker, now, micros(now), limit);
    x.fetch_all(query(sql).args(args)).await
}

/// Takes one named job, if it is claimable (the broker path: a message names its job).
pub async fn claim_one(
    x: impl Into<Exec<'_>>,
    id: Uuid,
    worker: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> AppResult<Option<ClaimedJob>> {
    let sql = format!("{CLAIM} WHERE id = $5 AND {CLAIMABLE} {RETURNING}");
    let args = (micros(lease_until), worker, now, micros(now), id);
    x.into().fetch_optional(query(sql).args(args)).await
}

/// A worker's hold on a running job, as its claim made it: every later transition names
/// it and takes effect only while the job is still held so.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    pub job: Uuid,
    pub worker: &'a str,
    /// The job's attempt count after the claim.
    pub number: i32,
}

/// `UPDATE jobs SET {set}` for `attempt`'s job while it is still `attempt`'s; `false`
/// otherwise. `set`'s own values are `$4` onwards, bound from `values`.
async fn transition(
    x: impl Into<Exec<'_>>,
    attempt: &Attempt<'_>,
    set: &str,
    values: impl Args,
) -> AppResult<bool> {
    let sql = format!(
        "UPDATE jobs SET {set} WHERE id = $1 AND worker = $2 AND attempts = $3 AND state = 'running'"
    );
    let held = (attempt.job, attempt.worker, attempt.number);
    x.into()
        .changed_one(query(sql).args(held).args(values))
        .await
}

/// Pushes the lease of a running job forward; `false` if the job is no longer ours.
pub async fn extend_lease(
    x: impl Into<Exec<'_>>,
    attempt: &Attempt<'_>,
    lease_until: DateTime<Utc>,
) -> AppResult<bool> {
    transition(x, attempt, "lease_until_us = $4", micros(lease_until)).await
}

/// Marks our attempt done. `payload` replaces the stored one (a job may scrub secrets
/// it no longer needs, such as a one-time code in an email).
pub async fn succeed(
    x: impl Into<Exec<'_>>,
    attempt: &Attempt<'_>,
    now: DateTime<Utc>,
    payload: Option<&Value>,
) -> AppResult<bool> {
    let set = "state = 'succeeded', lease_until_us = NULL, last_error = NULL, \
               updated_at = $4, finished_at = $4, payload = COALESCE($5, payload)";
    transition(x, attempt, set, (now, payload)).await
}

/// Records a failed attempt: back to the queue at `retry_at`, or dead when `None`.
pub async fn fail(
    x: impl Into<Exec<'_>>,
    attempt: &Attempt<'_>,
    now: DateTime<Utc>,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> AppResult<bool> {
    let set = "state = CASE WHEN $5 IS NULL THEN 'dead' ELSE 'queued' END, \
               run_at_us = COALESCE($5, run_at_us), lease_until_us = NULL, \
               published_at = NULL, last_error = $6, updated_at = $4, \
               finished_at = CASE WHEN $5 IS NULL THEN $4 ELSE NULL END";
    transition(x, attempt, set, (now, retry_at.map(micros), error)).await
}

/// Puts a job back in the queue without counting the attempt against it: used when a job
/// was taken but could not be tried (an endpoint's breaker is open, say).
pub async fn postpone(
    x: impl Into<Exec<'_>>,
    attempt: &Attempt<'_>,
    now: DateTime<Utc>,
    run_at: DateTime<Utc>,
) -> AppResult<bool> {
    let set = "state = 'queued', attempts = attempts - 1, run_at_us = $5, \
               lease_until_us = NULL, published_at = NULL, updated_at = $4";
    transition(x, attempt, set, (now, micros(run_at))).await
}

/// An admin's retry of a dead job: a fresh set of attempts, due now.
/// Revives a dead job and returns it as it stands right after the revival, before any
/// worker can claim it, so the caller reports what it did rather than a later state.
pub async fn retry(
    x: impl Into<Exec<'_>>,
    id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<Option<JobRow>> {
    x.into()
        .fetch_optional(
            query(format!(
                "UPDATE jobs SET state = 'queued', attempts = 0, run_at_us = $2, \
                 published_at = NULL, finished_at = NULL, updated_at = $3 \
                 WHERE id = $1 AND state = 'dead' RETURNING {JOB_COLUMNS}"
            ))
            .bind(id)
            .bind(micros(now))
            .bind(now),
        )
        .await
}

pub async fn find(x: impl Into<Exec<'_>>, id: Uuid) -> AppResult<Option<JobRow>> {
    x.into()
        .fetch_optional(query(format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1")).bind(id))
        .await
}

const JOB_COLUMNS: &str = "id, kind, payload, state, attempts, max_attempts, run_at_us, \
    last_error, created_at, updated_at, finished_at";

/// Jobs newest first, optionally of one state and kind, after the cursor id.
pub async fn list(
    x: impl Into<Exec<'_>>,
    state: Option<&str>,
    kind: Option<&str>,
    before: Option<Uuid>,
    limit: u32,
) -> AppResult<Vec<JobRow>> {
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM jobs \
         WHERE ($1 IS NULL OR state = $1) AND ($2 IS NULL OR kind = $2)"
    );
    let q = query(sql).args((state, kind));
    x.into()
        .fetch_all(q.page("id", Order::Newest, before, limit))
        .await
}

/// How many jobs there are of each (kind, state).
pub async fn counts(x: impl Into<Exec<'_>>) -> AppResult<Vec<(String, String, i64)>> {
    x.into()
        .fetch_all(query(
            "SELECT kind, state, COUNT(*) FROM jobs GROUP BY kind, state ORDER BY kind, state",
        ))
        .await
}

/// The broker path: queued jobs that are due and not yet handed to the broker. Locked on
/// PostgreSQL for the life of the transaction passed as `x` so two relays do not publish
/// the same job at once (if they did, the consumer's claim would still run it once).
pub async fn lock_unpublished(
    x: impl Into<Exec<'_>>,
    now: DateTime<Utc>,
    limit: i64,
) -> AppResult<Vec<(Uuid, String)>> {
    let mut x = x.into();
    let sql = format!(
        "SELECT id, kind FROM jobs WHERE state = 'queued' AND published_at IS NULL \
         AND run_at_us <= $1 ORDER BY run_at_us LIMIT $2{}",
        skip_locked(x.backend())
    );
    x.fetch_all(query(sql).bind(micros(now)).bind(limit)).await
}

pub async fn mark_published(
    x: impl Into<Exec<'_>>,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> AppResult<()> {
    let mut x = x.into();
    for id in ids {
        x.execute(
            query("UPDATE jobs SET published_at = $2 WHERE id = $1 AND state = 'queued'")
                .bind(id)
                .bind(now),
        )
        .await?;
    }
    Ok(())
}

/// The broker path: a running job whose worker died is put back for the relay to
/// publish again (the broker may also redeliver it; whichever comes first claims it).
pub async fn requeue_lapsed(x: impl Into<Exec<'_>>, now: DateTime<Utc>) -> AppResult<u64> {
    let sql = "UPDATE jobs SET state = 'queued', published_at = NULL, lease_until_us = NULL, \
               updated_at = $2 WHERE state = 'running' AND lease_until_us < $1";
    x.into().execute(query(sql).args((micros(now), now))).await
}

/// Records that the effect named `key` has happened; `false` if it already had.
pub async fn record_effect(
    x: impl Into<Exec<'_>>,
    key: &str,
    job: Uuid,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let sql = "INSERT INTO job_effects (key, job_id, created_at) VALUES ($1, $2, $3) \
               ON CONFLICT (key) DO NOTHING";
    x.into().changed_one(query(sql).args((key, job, now))).await
}

pub async fn effect_exists(x: impl Into<Exec<'_>>, key: &str) -> AppResult<bool> {
    let n: i64 = x
        .into()
        .scalar(query("SELECT COUNT(*) FROM job_effects WHERE key = $1").bind(key))
        .await?;
    Ok(n > 0)
}

/// Jobs waiting to run, by kind, for the queue-depth gauge.
pub async fn depth(x: impl Into<Exec<'_>>) -> AppResult<Vec<(String, i64)>> {
    x.into()
        .fetch_all(query(
            "SELECT kind, COUNT(*) FROM jobs WHERE state = 'queued' GROUP BY kind",
        ))
        .await
}

/// Deletes finished jobs older than `before`, keeping dead ones for an admin to see.
pub async fn delete_succeeded_before(
    x: impl Into<Exec<'_>>,
    before: DateTime<Utc>,
) -> AppResult<u64> {
    let sql = "DELETE FROM jobs WHERE state = 'succeeded' AND finished_at < $1";
    x.into().execute(query(sql).args(before)).await
}

/// Outbox events not yet relayed.
pub async fn pending_event_count(x: impl Into<Exec<'_>>) -> AppResult<i64> {
    x.into()
        .scalar(query(
            "SELECT COUNT(*) FROM outbox_events WHERE relayed_at IS NULL",
        ))
        .await
}
