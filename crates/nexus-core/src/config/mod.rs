//! Settings: compiled-in defaults, then an optional `nexus.toml`, then the environment.
//!
//! Environment keys are `NEXUS_<KEY>` for top-level keys and `NEXUS_<SECTION>__<KEY>` for
//! nested ones (`NEXUS_HTTP__BODY_LIMIT_BYTES`), plus the conventional unprefixed
//! `DATABASE_URL`, `REDIS_URL`, `AMQP_URL` and `SMTP_URL`. Unknown keys are refused so that
//! a typo does not silently fall back to a default.
//!
//! With nothing set, Nexus runs on its embedded defaults: SQLite under `./nexus-data/`,
//! listening on `127.0.0.1:8080`.

mod database;
mod secrets;
mod sections;
mod storage;
mod validate;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

pub use database::{DatabaseSettings, DatabaseTarget};
pub use secrets::{SecretString, SecretUrl};
pub use sections::{
    AuthSettings, CacheSettings, HttpSettings, JobsSettings, RateLimitSettings, RatePolicy,
    WebhookSettings,
};
pub use storage::{StorageSettings, StorageTarget};
pub use validate::ConfigError;

/// The file read when `--config`/`NEXUS_CONFIG` is not given and it exists.
pub const DEFAULT_CONFIG_FILE: &str = "nexus.toml";

/// The complete configuration of one Nexus process.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Address the HTTP server listens on. Only loopback by default.
    pub bind: SocketAddr,
    /// Where embedded-default state lives: the SQLite file, the mail outbox, uploaded files.
    pub data_dir: PathBuf,
    /// `sqlite://path` or `postgres://…`. Unset means `sqlite://{data_dir}/nexus.db`.
    pub database_url: Option<SecretUrl>,
    /// `redis://…`: shared cache and rate limits. Unset means in-process.
    pub redis_url: Option<SecretUrl>,
    /// `amqp://…`: RabbitMQ-backed job queue. Unset means the database-backed queue.
    pub amqp_url: Option<SecretUrl>,
    /// Outgoing mail: `smtp://host:port` (plain), `smtp://host:port?tls=required`
    /// (STARTTLS, refused if the server does not offer it) or `smtps://host:port` (TLS).
    /// Unset means `.eml` files in the outbox.
    pub smtp_url: Option<SecretUrl>,
    /// `pretty` for people at a terminal, `json` for log collectors.
    pub log_format: LogFormat,
    /// The address people reach this service at, used in links inside emails.
    pub public_url: String,
    /// Sender of every email, as `Name <address>`.
    pub mail_from: String,
    pub database: DatabaseSettings,
    pub http: HttpSettings,
    pub auth: AuthSettings,
    pub rate_limit: RateLimitSettings,
    pub cache: CacheSettings,
    pub jobs: JobsSettings,
    pub webhooks: WebhookSettings,
    pub storage: StorageSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Pretty,
    Json,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./nexus-data"),
            database_url: None,
            redis_url: None,
            amqp_url: None,
            smtp_url: None,
            log_format: LogFormat::Pretty,
            public_url: "http://127.0.0.1:8080".into(),
            mail_from: "Nexus <no-reply@nexus.localhost>".into(),
            database: DatabaseSettings::default(),
            http: HttpSettings::default(),
            auth: AuthSettings::default(),
            rate_limit: RateLimitSettings::default(),
            cache: CacheSettings::default(),
            jobs: JobsSettings::default(),
            webhooks: WebhookSettings::default(),
            storage: StorageSettings::default(),
        }
    }
}

/// Environment variables read without the `NEXUS_` prefix, by convention.
const UNPREFIXED: [&str; 4] = ["DATABASE_URL", "REDIS_URL", "AMQP_URL", "SMTP_URL"];

impl Settings {
    /// The layered sources, lowest precedence first. `file` is the explicit config path
    /// (`--config` or `NEXUS_CONFIG`); without one, `./nexus.toml` is read if it exists.
    pub fn figment(file: Option<&Path>) -> Figment {
        let mut fig = Figment::from(Serialized::defaults(Settings::default()));
        match file {
            // An explicitly named file must exist: `Toml::file` alone would skip it quietly.
            Some(path) => fig = fig.merge(Toml::file_exact(path)),
            None => fig = fig.merge(Toml::file(DEFAULT_CONFIG_FILE)),
        }
        fig.merge(
            Env::prefixed("NEXUS_")
                // `NEXUS_CONFIG` names the file; `NEXUS_TEST_*` belong to the test harness.
                .filter(|k| k != "config" && !k.as_str().to_ascii_lowercase().starts_with("test_"))
                .split("__"),
        )
        .merge(Env::raw().only(&UNPREFIXED))
    }

    /// Loads and validates. `file` as in [`Settings::figment`].
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        Self::from_figment(Self::figment(file))
    }

    pub fn from_figment(fig: Figment) -> Result<Settings, ConfigError> {
        let settings: Settings = fig.extract()?;
        settings.validate()?;
        Ok(settings)
    }

    /// The database this process uses: the configured URL, or the embedded SQLite file.
    pub fn database_target(&self) -> Result<DatabaseTarget, String> {
        match &self.database_url {
            Some(url) => DatabaseTarget::parse(url.expose()),
            None => Ok(DatabaseTarget::Sqlite(format!(
                "sqlite://{}",
                self.data_dir.join("nexus.db").display()
            ))),
        }
    }

    /// Where uploaded files go: the configured store, or `{data_dir}/files`.
    pub fn storage_target(&self) -> Result<StorageTarget, String> {
        self.storage.target(&self.data_dir)
    }

    /// The effective configuration as TOML with every secret redacted, for `nexus config`.
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }
}

#[cfg(test)]
mod tests;
