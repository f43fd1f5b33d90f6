//! Where the data lives: the pool's settings and the backend a URL selects.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// Most connections one process holds. SQLite serialises writers anyway, so a handful
    /// is plenty there; PostgreSQL benefits from roughly two per core of the database host.
    pub max_connections: u32,
    /// Connections kept open while idle.
    pub min_connections: u32,
    /// How long a request waits for a pooled connection (including establishing one) before
    /// it is answered 503. Keeps a frozen database from turning into hung requests.
    pub acquire_timeout_ms: u64,
    /// Client-side bound on one query; the server-side `statement_timeout` cannot fire when
    /// the database process itself is stopped, this can.
    pub query_timeout_ms: u64,
    /// SQLite write-ahead logging. Turn off only on filesystems that cannot share memory
    /// maps (some network mounts).
    pub sqlite_wal: bool,
    /// How long SQLite waits on a locked database before giving up.
    pub sqlite_busy_timeout_ms: u64,
    /// SQLite page cache of each connection, in MiB. Each pooled connection fills its
    /// own, so a process may hold up to `max_connections` times this; reads beyond it come
    /// from the operating system's file cache. `nexus seed` raises it for its one writer.
    pub sqlite_cache_mib: u32,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            min_connections: 0,
            acquire_timeout_ms: 3_000,
            query_timeout_ms: 10_000,
            sqlite_wal: true,
            sqlite_busy_timeout_ms: 5_000,
            sqlite_cache_mib: 2,
        }
    }
}

/// Which database a URL selects. Chosen from the scheme; anything else is refused rather
/// than guessed, so a misspelt URL never creates an empty SQLite file somewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    Sqlite(String),
    Postgres(String),
}

impl DatabaseTarget {
    pub fn parse(url: &str) -> Result<Self, String> {
        let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or_default();
        match scheme {
            "sqlite" => {
                let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
                if rest.is_empty() || rest.starts_with('?') {
                    return Err("a sqlite URL needs a file path: sqlite://path/to/nexus.db".into());
                }
                Ok(DatabaseTarget::Sqlite(url.to_owned()))
            }
            "postgres" | "postgresql" => {
                let parsed = url::Url::parse(url).map_err(|e| format!("not a valid URL: {e}"))?;
                if parsed.host_str().unwrap_or_default().is_empty() && !url.contains("host=") {
                    return Err("a postgres URL needs a host: postgres://user@host:5432/db".into());
                }
                Ok(DatabaseTarget::Postgres(url.to_owned()))
            }
            "" => Err(
                "not a URL; use sqlite://path/to/nexus.db or postgres://user@host:5432/db".into(),
            ),
            other => Err(format!(
                "unsupported scheme `{other}`; use sqlite://path/to/nexus.db or postgres://user@host:5432/db"
            )),
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            DatabaseTarget::Sqlite(_) => "sqlite",
            DatabaseTarget::Postgres(_) => "postgres",
        }
    }
}
