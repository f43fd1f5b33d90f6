//! Service-level tests: use cases called directly, without HTTP, on SQLite and (when
//! configured) PostgreSQL. No worker runs: jobs are driven step by step with
//! `nexus_service::jobs::worker::drain` at a time the test chooses, so nothing sleeps or
//! polls, and a retry becomes due by asking for a later time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
#[path = "../api/receiver.rs"]
mod receiver;

mod cache;
mod clock;
mod digests;
mod harness;
mod idempotency;
mod jobs;
mod learning;
mod progress;
mod retries;
mod schedules;
mod uploads;
mod webhooks;
