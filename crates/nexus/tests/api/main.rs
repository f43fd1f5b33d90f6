//! HTTP-level tests of the whole service, on SQLite and (when configured) PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod cache;
mod cohorts;
mod collaboration;
mod contract;
mod database;
mod discussion;
mod foundation;
mod hub;
mod identity;
mod internals;
mod jobs;
mod learning;
mod portfolios;
mod progress;
// Shared with the service tests; this binary does not use all of it.
#[allow(dead_code)]
mod receiver;
mod registry;
mod safety;
mod submissions;
mod uploads;
mod webhooks;
