//! Assembling and running a Nexus process, shared by `main` and the tests.
//!
//! [`Application::build`] does everything `nexus serve` does before it answers requests
//! (data directory, database pool, migrations, listener) and reports the real port, so a
//! test can bind port 0 and talk to exactly what production runs.

/// mimalloc for the server, the worker and the benchmark ceiling alike, so that the
/// ceiling measures the same allocator as the server. glibc's malloc, free and
/// consolidation took about 15% of the CPU of cached reads at 64 connections, with
/// contention between threads; mimalloc's thread-local heaps avoid that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod bench;
pub mod demo;
pub mod seed;
pub mod seed_cohort;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use nexus_core::config::Settings;
use nexus_db::{Db, OpenError};
use nexus_http::AppState;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Missing statistics make slow plans, not wrong answers: a failure is logged, not fatal.
async fn refresh_statistics(db: &nexus_db::Db) {
    let started = std::time::Instant::now();
    match db.refresh_statistics().await {
        Ok(()) => tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "planner statistics checked"
        ),
        Err(e) => {
            tracing::warn!(error = %e, "refreshing planner statistics failed; queries may plan badly")
        }
    }
}

/// `nexus worker`: runs jobs (no HTTP) until `shutdown` completes. Migrates first, like
/// `serve`, so a worker started before any server still finds its tables.
pub async fn run_worker(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let db = open_database(&settings).await?;
    db.migrate().await?;
    refresh_statistics(&db).await;
    let drain = Duration::from_secs(settings.http.shutdown_drain_secs);
    let services = nexus_service::Services::new(db.clone(), std::sync::Arc::new(settings))?;
    let stop = CancellationToken::new();
    let worker = tokio::spawn(nexus_service::jobs::worker::run(
        services,
        stop.clone(),
        drain,
    ));
    shutdown.await;
    stop.cancel();
    let _ = worker.await;
    if tokio::time::timeout(Duration::from_secs(5), db.close())
        .await
        .is_err()
    {
        tracing::warn!("database pool did not close within 5 s; exiting anyway");
    }
    Ok(())
}

/// Why start-up failed. Configuration problems exit with status 2, the rest with 1.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl StartError {
    pub fn exit_code(&self) -> u8 {
        match self {
            StartError::Config(_) => 2,
            StartError::Other(_) => 1,
        }
    }
}

impl From<OpenError> for StartError {
    fn from(err: OpenError) -> Self {
        match err {
            OpenError::Config(_) => StartError::Config(err.to_string()),
            OpenError::Connect { .. } => StartError::Other(anyhow::Error::new(err)),
        }
    }
}

/// How often expired idempotency keys are deleted. Expired keys are already ignored when
/// read, so this only bounds the table's size.
const IDEMPOTENCY_CLEANUP_EVERY: Duration = Duration::from_secs(15 * 60);

/// Creates the data directory and opens the database. Does not migrate.
pub async fn open_database(settings: &Settings) -> Result<Db, StartError> {
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("creating data directory {}", settings.data_dir.display()))?;
    Ok(Db::connect(settings).await?)
}

/// A built, migrated, bound instance that is not yet serving.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    worker: bool,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Application, StartError> {
        Application::build_with(settings, &[]).await
    }

    /// As [`Application::build`], with job registrations beyond the domains' own (a job
    /// kind that exists only in a test).
    pub async fn build_with(
        settings: Settings,
        extra: &[nexus_service::Registration],
    ) -> Result<Application, StartError> {
        Application::build_on(settings, extra, nexus_service::clock::Clock::system()).await
    }

    /// As [`Application::build_with`], on `clock`: a test's manual clock, so an HTTP test
    /// can stand a cohort at any moment of its calendar.
    pub async fn build_on(
        settings: Settings,
        extra: &[nexus_service::Registration],
        clock: nexus_service::clock::Clock,
    ) -> Result<Application, StartError> {
        nexus_service::check_settings(&settings).map_err(StartError::Config)?;
        let db = open_database(&settings).await?;
        db.migrate().await?;
        refresh_statistics(&db).await;
        let listener = TcpListener::bind(settings.bind)
            .await
            .with_context(|| format!("cannot listen on {} (key `bind`)", settings.bind))?;
        Ok(Application {
            listener,
            state: AppState::with_clock(db, settings, extra, clock)?,
            worker: true,
        })
    }

    /// Serve HTTP only, leaving jobs to `nexus worker` processes (`serve --no-worker`).
    pub fn without_worker(mut self) -> Self {
        self.worker = false;
        self
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, drains, then closes the database pool.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let router = nexus_http::build_router(self.state.clone());
        self.run_router_until(router, shutdown).await
    }

    /// As [`Application::run_until`] with a router of the caller's making (tests add
    /// routes behind the real middleware with [`nexus_http::assemble`]).
    pub async fn run_router_until(
        self,
        router: axum::Router,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let http = &self.state.settings.http;
        let drain = Duration::from_secs(http.shutdown_drain_secs);
        let header_read_timeout = Duration::from_secs(http.header_read_timeout_secs);
        let cleanup = tokio::spawn(nexus_http::safety::cleanup_loop(
            self.state.db.clone(),
            IDEMPOTENCY_CLEANUP_EVERY,
        ));
        let stop_worker = CancellationToken::new();
        let worker = self.worker.then(|| {
            tokio::spawn(nexus_service::jobs::worker::run(
                self.state.services.clone(),
                stop_worker.clone(),
                drain,
            ))
        });
        let served =
            nexus_http::server::serve(self.listener, router, shutdown, drain, header_read_timeout)
                .await;
        cleanup.abort();
        stop_worker.cancel();
        if let Some(worker) = worker {
            let _ = worker.await;
        }
        served.context("serving HTTP")?;
        // Bounded like the drain: a request still stuck on a frozen database holds its
        // connection, and waiting for it would hold the process open.
        if tokio::time::timeout(Duration::from_secs(5), self.state.db.close())
            .await
            .is_err()
        {
            tracing::warn!("database pool did not close within 5 s; exiting anyway");
        }
        tracing::info!("stopped");
        Ok(())
    }
}
