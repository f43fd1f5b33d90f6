//! Persistence for Nexus on SQLite (embedded default) and PostgreSQL (production).
//!
//! # Layout
//! - [`Db`]: a cloneable handle over one connection pool of either backend. The backend is
//!   chosen once, from the URL scheme ([`nexus_core::config::DatabaseTarget`]).
//! - Migrations live in `migrations/sqlite` and `migrations/postgres` with identical
//!   version numbers and names (checked by a test); each is reversible. They run at
//!   `nexus serve` start and with `nexus migrate`, guarded against concurrent starts: a
//!   PostgreSQL advisory lock (sqlx's migrator), and an exclusive file lock beside the
//!   SQLite file (`nexus.db.lock`), where sqlx has no lock of its own.
//! - [`exec`]: the one executor. Every query function takes `impl Into<Exec>`, so it runs
//!   on the pool (`&db`) or as a step of a transaction (`&mut tx`); one SQL text (with
//!   `$1` placeholders, which both backends accept) serves both backends, and the few
//!   places where dialects differ branch visibly on [`Exec::backend`].
//! - [`constraints`]: the one table from database constraints to the domain's
//!   uniqueness rules, so no constraint, table or column name reaches a client.
//! - One module per domain's tables: [`identity`], [`hub`], [`discussion`], [`learning`],
//!   [`cohorts`], [`submissions`], [`portfolios`], [`collaboration`], [`jobs`],
//!   [`webhooks`], [`uploads`], [`idempotency`], [`notify`].
//!
//! Every query runs under a client-side timeout (carried by the executor) and every pool
//! under an acquire timeout, so a frozen database becomes quick 503s rather than hung
//! requests.

pub mod cohorts;
pub mod collaboration;
pub mod constraints;
pub mod digests;
pub mod discussion;
pub mod exec;
pub mod hub;
pub mod idempotency;
pub mod identity;
pub mod jobs;
pub mod learning;
pub mod notify;
pub mod portfolios;
pub mod progress;
pub mod submissions;
pub mod uploads;
pub mod webhooks;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use nexus_core::config::{DatabaseTarget, Settings};
use nexus_core::{AppError, error::AppResult};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use exec::{Arg, Args, Exec, IntoArg, Order, Query, Row, query};

pub static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
pub static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The pool of one backend. Public for tests that read the catalog of one engine;
/// statements go through [`Exec`], everything else through [`Db`]'s methods.
#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// How long a pooled connection may sit unused before it is checked on its way out.
const PING_AFTER_IDLE: std::time::Duration = std::time::Duration::from_secs(30);

/// Checks a PostgreSQL connection before handing it out, but only one that has been idle
/// for a while: that is the one a server restart or a firewall may have cut. sqlx's
/// default pings on every acquire: a second round trip, and a wake-up of the server
/// process, before every statement. A connection that breaks while busy fails its query
/// (a 503 when transient) and is not returned to the pool.
async fn ping_if_idle(
    conn: &mut sqlx::PgConnection,
    meta: sqlx::pool::PoolConnectionMetadata,
) -> Result<bool, sqlx::Error> {
    use sqlx::Connection;
    if meta.idle_for >= PING_AFTER_IDLE {
        conn.ping().await?;
    }
    Ok(true)
}

/// An open transaction of either backend. Obtain one with [`Db::begin`]; run statements in
/// it through [`Exec`] (`&mut tx`).
pub(crate) enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// A transaction plus the query timeout of the [`Db`] it came from.
pub struct DbTx {
    pub(crate) tx: Tx,
    timeout: Duration,
    pub(crate) statements: Statements,
}

impl DbTx {
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub async fn commit(self) -> AppResult<()> {
        let timeout = self.timeout;
        match self.tx {
            Tx::Sqlite(tx) => timed(timeout, tx.commit()).await,
            Tx::Postgres(tx) => timed(timeout, tx.commit()).await,
        }
    }
}

/// Awaits a query under `timeout` and maps its error (see [`Db::run`]).
pub async fn timed<T>(
    timeout: Duration,
    query: impl Future<Output = Result<T, sqlx::Error>>,
) -> AppResult<T> {
    match tokio::time::timeout(timeout, query).await {
        Ok(result) => result.map_err(map_sqlx_error),
        Err(_) => Err(AppError::Unavailable(
            "the database did not answer in time".into(),
        )),
    }
}

/// A handle on the database: cheap to clone, shared by every request.
#[derive(Clone, Debug)]
pub struct Db {
    pool: Pool,
    query_timeout: Duration,
    /// The SQLite file, for the migration lock; `None` on PostgreSQL.
    sqlite_file: Option<PathBuf>,
    statements: Statements,
}

/// How many statements went through [`Exec`] on one [`Db`] and its transactions: tests
/// use it to prove that a read costs a bounded number of statements whatever the number
/// of rows (no query per row). One relaxed atomic add per statement.
#[derive(Clone, Debug, Default)]
pub(crate) struct Statements(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl Statements {
    pub(crate) fn count(&self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Pool occupancy, for `/metrics`.
#[derive(Debug, Clone, Copy)]
pub struct PoolStats {
    pub max: u32,
    pub open: u32,
    pub idle: u32,
}

/// Why the database could not be opened. `Config` means the URL itself is wrong (exit 2);
/// `Connect` means it is right but the server did not answer.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("key `database_url` (DATABASE_URL): {0}")]
    Config(String),
    #[error("cannot open the {backend} database: {source:#}")]
    Connect {
        backend: &'static str,
        source: anyhow::Error,
    },
}

impl Db {
    /// Opens a pool for the configured database, creating the SQLite file (and its
    /// directory) if needed. Does not migrate.
    pub async fn connect(settings: &Settings) -> Result<Db, OpenError> {
        let target = settings.database_target().map_err(OpenError::Config)?;
        let cfg = &settings.database;
        let acquire = Duration::from_millis(cfg.acquire_timeout_ms);
        let query_timeout = Duration::from_millis(cfg.query_timeout_ms);
        match target {
            DatabaseTarget::Sqlite(url) => {
                let opts = SqliteConnectOptions::from_str(&url)
                    .map_err(|e| OpenError::Config(format!("not a valid sqlite URL: {e}")))?
                    .create_if_missing(true)
                    .journal_mode(if cfg.sqlite_wal {
                        SqliteJournalMode::Wal
                    } else {
                        SqliteJournalMode::Delete
                    })
                    // NORMAL is durable across application crashes in WAL mode; only an OS
                    // crash can lose the last transactions, which is the usual trade.
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_millis(cfg.sqlite_busy_timeout_ms))
                    // A negative cache_size is in KiB rather than pages.
                    .pragma(
                        "cache_size",
                        format!("-{}", u64::from(cfg.sqlite_cache_mib) * 1024),
                    );
                let file = opts.get_filename().to_path_buf();
                let in_memory = file.as_os_str().is_empty() || file.as_os_str() == ":memory:";
                if !in_memory && let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty())
                {
                    std::fs::create_dir_all(dir).map_err(|e| OpenError::Connect {
                        backend: "sqlite",
                        source: anyhow::Error::new(e)
                            .context(format!("creating directory {}", dir.display())),
                    })?;
                }
                // The first connection to a new file switches it to WAL, which needs an
                // exclusive lock that SQLite's busy handler does not wait for; several
                // processes starting together would fail with "database is locked". The
                // file lock serialises those first opens; later connections find WAL set.
                let _guard = if in_memory {
                    None
                } else {
                    Some(
                        FileLock::beside(&file)
                            .await
                            .map_err(|e| OpenError::Connect {
                                backend: "sqlite",
                                source: e,
                            })?,
                    )
                };
                let pool = SqlitePoolOptions::new()
                    .max_connections(cfg.max_connections)
                    .min_connections(cfg.min_connections)
                    .acquire_timeout(acquire)
                    // A file has no connection to lose; the default ping before every
                    // acquire was a round trip to the connection's thread per query.
                    .test_before_acquire(false)
                    .connect_with(opts)
                    .await
                    .map_err(|e| OpenError::Connect {
                        backend: "sqlite",
                        source: e.into(),
                    })?;
                Ok(Db {
                    pool: Pool::Sqlite(pool),
                    query_timeout,
                    sqlite_file: (!in_memory).then_some(file),
                    statements: Statements::default(),
                })
            }
            DatabaseTarget::Postgres(url) => {
                let statement_timeout = format!("{}ms", cfg.query_timeout_ms);
                let opts = PgConnectOptions::from_str(&url)
                    .map_err(|e| OpenError::Config(format!("not a valid postgres URL: {e}")))?
                    .application_name("nexus")
                    .options([("statement_timeout", statement_timeout.as_str())]);
                let pool = PgPoolOptions::new()
                    .max_connections(cfg.max_connections)
                    .min_connections(cfg.min_connections)
                    .acquire_timeout(acquire)
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move { ping_if_idle(conn, meta).await })
                    })
                    .connect_with(opts)
                    .await
                    .map_err(|e| OpenError::Connect {
                        backend: "postgres",
                        source: e.into(),
                    })?;
                Ok(Db {
                    pool: Pool::Postgres(pool),
                    query_timeout,
                    sqlite_file: None,
                    statements: Statements::default(),
                })
            }
        }
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The migration set of this backend.
    pub fn migrator(&self) -> &'static Migrator {
        match self.pool {
            Pool::Sqlite(_) => &SQLITE_MIGRATIONS,
            Pool::Postgres(_) => &POSTGRES_MIGRATIONS,
        }
    }

    /// Applies every pending migration. Safe to call from several processes at once.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match &self.pool {
            // sqlx takes a session advisory lock around the whole run on PostgreSQL.
            Pool::Postgres(pool) => POSTGRES_MIGRATIONS
                .run(pool)
                .await
                .context("applying PostgreSQL migrations"),
            Pool::Sqlite(pool) => {
                // sqlx's SQLite migrator takes no lock: two processes could both see a
                // migration as pending and the second would fail half-way. An exclusive
                // lock on a file beside the database serialises them.
                let _guard = match &self.sqlite_file {
                    Some(file) => Some(FileLock::beside(file).await?),
                    None => None,
                };
                SQLITE_MIGRATIONS
                    .run(pool)
                    .await
                    .context("applying SQLite migrations")
            }
        }
    }

    /// Gives SQLite's planner statistics for tables that have none, as SQLite advises for
    /// every long-lived connection (`PRAGMA optimize=0x10002`, sampling at most 1,000
    /// rows per index). Without them it guesses, and at 100,000 notes it guessed wrong:
    /// a topic's first page scanned every published note and sorted them (0.01% of the
    /// ceiling instead of 15%, BENCHMARKS.md). PostgreSQL's autovacuum analyses by itself.
    pub async fn refresh_statistics(&self) -> AppResult<()> {
        if let Pool::Sqlite(pool) = &self.pool {
            let mut conn = self.run(pool.acquire()).await?;
            self.run(sqlx::query("PRAGMA analysis_limit = 1000").execute(&mut *conn))
                .await?;
            self.run(sqlx::query("PRAGMA optimize = 0x10002").execute(&mut *conn))
                .await?;
        }
        Ok(())
    }

    /// Full planner statistics on either backend, after a bulk load (`nexus seed`). On
    /// PostgreSQL also a VACUUM: it merges the search index's pending list, which every
    /// search would otherwise scan (the index part of a 2-word search took 1.9 ms after
    /// seeding 100,000 notes, 0.3 ms once merged), and marks pages all-visible for index-only scans.
    pub async fn analyze(&self) -> AppResult<()> {
        let statement = match self.backend() {
            Backend::Sqlite => "ANALYZE",
            Backend::Postgres => "VACUUM (ANALYZE)",
        };
        Exec::from(self).execute(query(statement)).await?;
        Ok(())
    }

    /// Reverts every migration. Used by the migration tests; no command exposes it.
    pub async fn revert_all(&self) -> anyhow::Result<()> {
        match &self.pool {
            Pool::Sqlite(pool) => self.migrator().undo(pool, 0).await,
            Pool::Postgres(pool) => self.migrator().undo(pool, 0).await,
        }
        .context("reverting migrations")
    }

    /// A round trip that proves the database answers and the schema is in place.
    pub async fn ping(&self) -> AppResult<()> {
        let product: String = Exec::from(self)
            .scalar(query("SELECT value FROM app_meta WHERE key = 'product'"))
            .await?;
        if product == "nexus" {
            Ok(())
        } else {
            Err(AppError::Unavailable(
                "the database belongs to another product".into(),
            ))
        }
    }

    /// Awaits a query under the client-side timeout and maps its error.
    async fn run<T>(&self, query: impl Future<Output = Result<T, sqlx::Error>>) -> AppResult<T> {
        timed(self.query_timeout, query).await
    }

    /// Starts a write transaction. On SQLite it is `BEGIN IMMEDIATE`, taking the write
    /// lock up front: a deferred transaction that reads and then writes can fail with
    /// "database is locked" without waiting, where an immediate one waits its turn.
    pub async fn begin(&self) -> AppResult<DbTx> {
        let tx = match &self.pool {
            Pool::Sqlite(pool) => Tx::Sqlite(self.run(pool.begin_with("BEGIN IMMEDIATE")).await?),
            Pool::Postgres(pool) => Tx::Postgres(self.run(pool.begin()).await?),
        };
        Ok(DbTx {
            tx,
            timeout: self.query_timeout,
            statements: self.statements.clone(),
        })
    }

    /// Statements run through [`Exec`] on this handle (and its clones and transactions)
    /// since it was opened.
    pub fn statements(&self) -> u64 {
        self.statements.get()
    }

    pub fn stats(&self) -> PoolStats {
        let (max, open, idle) = match &self.pool {
            Pool::Sqlite(pool) => (
                pool.options().get_max_connections(),
                pool.size(),
                pool.num_idle(),
            ),
            Pool::Postgres(pool) => (
                pool.options().get_max_connections(),
                pool.size(),
                pool.num_idle(),
            ),
        };
        PoolStats {
            max,
            open,
            idle: u32::try_from(idle).unwrap_or(u32::MAX),
        }
    }

    /// Closes every connection, waiting for checked-out ones to come back.
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }
}

/// Turns a driver error into the service vocabulary: unavailability is 503, a unique
/// violation is 409, anything else is an internal error whose cause is logged, not shown.
pub fn map_sqlx_error(err: sqlx::Error) -> AppError {
    match err {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            AppError::Unavailable("the database is not answering".into())
        }
        sqlx::Error::RowNotFound => AppError::not_found("not found"),
        sqlx::Error::Database(db) if is_transient(db.code().as_deref()) => {
            // The engine's own words may name a table or a lock; they are for the log.
            tracing::info!(message = db.message(), "the database is busy");
            AppError::Unavailable("the database is busy; retry shortly".into())
        }
        sqlx::Error::Database(db) if db.is_unique_violation() => constraints::duplicate(&*db),
        other => AppError::Internal(anyhow::Error::new(other).context("database query")),
    }
}

/// Errors that say "not now" rather than "not this": the write lock was busy past
/// `busy_timeout` (SQLite `SQLITE_BUSY` and its extended codes, `SQLITE_LOCKED`), or
/// PostgreSQL gave up on a lock, a serialisation or its connection slots. The client did
/// nothing wrong and the same request may succeed in a moment, so it is a 503, not a 500.
fn is_transient(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("5" | "6" | "261" | "517" | "40001" | "40P01" | "55P03" | "53300" | "57P01")
    )
}

/// An exclusive lock on `<db file>.lock`, held while a process opens a new SQLite file or
/// migrates it; released on drop. `std`'s `File::lock` is an OS advisory lock (`flock`),
/// so it is released by the kernel even if the process dies.
struct FileLock {
    _file: std::fs::File,
}

impl FileLock {
    async fn beside(db_file: &Path) -> anyhow::Result<Self> {
        let mut name = db_file.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        tokio::task::spawn_blocking(move || {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .with_context(|| format!("opening migration lock {}", path.display()))?;
            file.lock()
                .with_context(|| format!("locking {}", path.display()))?;
            Ok(FileLock { _file: file })
        })
        .await
        .context("file lock task")?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_migrations() {
        let names = |m: &Migrator| {
            m.iter()
                .map(|x| (x.version, x.description.to_string(), x.migration_type))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&SQLITE_MIGRATIONS), names(&POSTGRES_MIGRATIONS));
        assert!(
            SQLITE_MIGRATIONS
                .iter()
                .all(|m| m.migration_type.is_reversible()),
            "every migration has a down script"
        );
    }

    #[tokio::test]
    async fn a_write_lock_held_too_long_is_unavailable_not_internal() {
        use sqlx::ConnectOptions;
        use sqlx::sqlite::SqliteConnectOptions;
        let dir = tempfile::tempdir().unwrap();
        let opts = SqliteConnectOptions::new()
            .filename(dir.path().join("busy.db"))
            .create_if_missing(true)
            .busy_timeout(Duration::from_millis(0));
        let mut holder = opts.connect().await.unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER)")
            .execute(&mut holder)
            .await
            .unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut holder)
            .await
            .unwrap();
        let mut other = opts.connect().await.unwrap();
        let err = sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&mut other)
            .await
            .unwrap_err();
        assert!(
            matches!(map_sqlx_error(err), AppError::Unavailable(_)),
            "SQLITE_BUSY maps to 503"
        );
    }
}
