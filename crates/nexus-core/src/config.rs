//! Settings: compiled-in defaults, then an optional `nexus.toml`, then the environment.
//!
//! Environment keys are `NEXUS_<KEY>` for top-level keys and `NEXUS_<SECTION>__<KEY>` for
//! nested ones (`NEXUS_HTTP__BODY_LIMIT_BYTES`), plus the conventional unprefixed
//! `DATABASE_URL`, `REDIS_URL`, `AMQP_URL` and `SMTP_URL`. Unknown keys are refused so that
//! a typo does not silently fall back to a default.
//!
//! With nothing set, Nexus runs on its embedded defaults: SQLite under `./nexus-data/`,
//! listening on `127.0.0.1:8080`.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
}

/// Request-rate limits per client (user, or address when anonymous) and route class,
/// enforced with GCRA: `limit` requests may come at once, then one every
/// `period_secs / limit` seconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitSettings {
    /// Off only for benchmarks and trusted networks.
    pub enabled: bool,
    /// Sign-in, registration and password reset: each operation its own bucket, kept
    /// small because every call costs an argon2 hash or sends an email.
    pub auth: RatePolicy,
    /// Every other change, shared across operations and transports.
    pub write: RatePolicy,
    /// Reading objects and lists, shared across operations and transports.
    pub read: RatePolicy,
    /// Full-text searches: each ranks many rows, so they have a budget of their own.
    pub search: RatePolicy,
    /// Prefix of every Redis key, so several deployments (or tests) can share one Redis.
    pub redis_key_prefix: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatePolicy {
    /// Requests allowed within one period (and at once, as a burst).
    pub limit: u32,
    pub period_secs: u64,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            auth: RatePolicy {
                limit: 5,
                period_secs: 60,
            },
            write: RatePolicy {
                limit: 60,
                period_secs: 60,
            },
            read: RatePolicy {
                limit: 600,
                period_secs: 60,
            },
            search: RatePolicy {
                limit: 120,
                period_secs: 60,
            },
            redis_key_prefix: "nexus:rl:".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheSettings {
    /// Memory the in-process note cache may use, in MiB, counted by the size of each
    /// answer (its text fields and their JSON). A count of entries would not bound the
    /// process: notes run from 1 to 100 KiB.
    pub memory_mib: u64,
    /// Longest an entry lives, in process and in Redis. Writes invalidate at once; this
    /// only bounds how stale an instance can be if it misses an invalidation.
    pub ttl_secs: u64,
    /// Prefix of every cache key and of the invalidation channel in Redis.
    pub redis_key_prefix: String,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            memory_mib: 64,
            ttl_secs: 60,
            redis_key_prefix: "nexus:cache:".into(),
        }
    }
}

/// Background work: the queue's workers, retries and schedules.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobsSettings {
    /// Jobs one worker runs at the same time.
    pub concurrency: usize,
    /// How often an idle worker looks for due jobs on the table queue (a job enqueued by
    /// the same process wakes it at once).
    pub poll_interval_ms: u64,
    /// How long a claimed job stays with its worker without a heartbeat; a worker that
    /// dies loses its jobs to others after this.
    pub lease_secs: u64,
    /// First retry delay; each later one doubles, up to `backoff_max_secs`, with jitter.
    pub backoff_base_ms: u64,
    pub backoff_max_secs: u64,
    /// Attempts per job kind before the job is dead, overriding the built-in defaults
    /// (`email.send = 8`, `webhook.deliver = 8`, others 5).
    pub max_attempts: std::collections::BTreeMap<String, u32>,
    /// Durable RabbitMQ queue the jobs travel through when `amqp_url` is set.
    pub amqp_queue: String,
    /// Limit on every outbound call a job makes (SMTP, webhook requests).
    pub outbound_timeout_secs: u64,
    /// Succeeded jobs are deleted after this many days; dead ones are kept.
    pub retention_days: u32,
    /// Recurring jobs as cron expressions with seconds (`sec min hour day month weekday`),
    /// in UTC. Each fires once per period however many workers run.
    pub schedules: std::collections::BTreeMap<String, String>,
}

impl Default for JobsSettings {
    fn default() -> Self {
        Self {
            concurrency: 4,
            poll_interval_ms: 500,
            lease_secs: 60,
            backoff_base_ms: 2_000,
            backoff_max_secs: 3_600,
            max_attempts: Default::default(),
            amqp_queue: "nexus.jobs".into(),
            outbound_timeout_secs: 10,
            retention_days: 7,
            schedules: [("weekly_digest".to_owned(), "0 0 8 * * Mon".to_owned())]
                .into_iter()
                .collect(),
        }
    }
}

/// Outgoing webhooks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookSettings {
    /// Whether endpoints may resolve to loopback, private, link-local or other
    /// non-public addresses. Off in production: it would let users probe the internal
    /// network. Tests turn it on for receivers on 127.0.0.1.
    pub allow_private_targets: bool,
    /// Consecutive failures that open an endpoint's circuit breaker.
    pub breaker_failures: u32,
    /// How long an open breaker waits before letting one probe delivery through.
    pub breaker_cooldown_secs: u64,
    /// Endpoints one user may register.
    pub max_per_owner: u32,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_private_targets: false,
            breaker_failures: 5,
            breaker_cooldown_secs: 60,
            max_per_owner: 10,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// HMAC key for access tokens (HS256), at least 32 bytes. Unset on embedded defaults:
    /// a random key is generated once and kept in `{data_dir}/jwt.key`. Every instance
    /// behind one load balancer must share the same key.
    pub jwt_secret: Option<SecretString>,
    /// Lifetime of an access token.
    pub access_token_ttl_secs: u64,
    /// Lifetime of a session: its refresh tokens stop working after this.
    pub refresh_token_ttl_days: u64,
    /// Lifetime of an email-verification link.
    pub verify_token_ttl_hours: u64,
    /// Lifetime of a password-reset link.
    pub reset_token_ttl_minutes: u64,
    /// Failed logins per account or client address before further attempts are refused.
    pub login_failures_before_lockout: u32,
    /// How long the refusal lasts after the last failure; doubles with each further one.
    pub login_lockout_secs: u64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            access_token_ttl_secs: 900,
            refresh_token_ttl_days: 30,
            verify_token_ttl_hours: 48,
            reset_token_ttl_minutes: 60,
            login_failures_before_lockout: 5,
            login_lockout_secs: 60,
        }
    }
}

/// A secret string (a key, a password). Never printed: `Debug` and `Serialize` show
/// `REDACTED`; [`SecretString::expose`] gives the value to the one place that uses it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for SecretString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(SecretString)
    }
}

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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// Largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    /// Longest time one request may take before it is answered 503.
    pub request_timeout_secs: u64,
    /// On SIGTERM/SIGINT, how long in-flight requests may take to finish before the
    /// process exits anyway.
    pub shutdown_drain_secs: u64,
    /// Origins allowed to call the API from a browser (`https://app.example.com`). Empty
    /// means no cross-origin access; `*` allows any origin without credentials.
    pub cors_allowed_origins: Vec<String>,
    /// Addresses or CIDR blocks of reverse proxies whose `X-Forwarded-For` is believed.
    /// From anyone else the header is ignored, since a client can write anything in it.
    pub trusted_proxies: Vec<String>,
    /// How long a client may take to send the request line and headers before its
    /// connection is closed; bounds slow-header (slowloris) connections.
    pub header_read_timeout_secs: u64,
    /// How long an `Idempotency-Key` is remembered; a retry within it replays the answer.
    pub idempotency_ttl_hours: u64,
}

impl HttpSettings {
    /// [`HttpSettings::trusted_proxies`] parsed; a bare address is a one-address block.
    /// Entries that do not parse are skipped here and refused by [`Settings::validate`].
    pub fn trusted_proxy_nets(&self) -> Vec<ipnet::IpNet> {
        self.trusted_proxies
            .iter()
            .filter_map(|p| parse_net(p).ok())
            .collect()
    }
}

fn parse_net(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    if let Ok(net) = text.parse::<ipnet::IpNet>() {
        return Ok(net.trunc());
    }
    text.parse::<std::net::IpAddr>()
        .map(ipnet::IpNet::from)
        .map_err(|_| "is neither an IP address nor a CIDR block (10.0.0.0/8)".to_owned())
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
        }
    }
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

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            body_limit_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            shutdown_drain_secs: 20,
            cors_allowed_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            header_read_timeout_secs: 10,
            idempotency_ttl_hours: 24,
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

/// A URL that may carry credentials. `Debug` and `Serialize` show it with the password and
/// any secret-looking query values replaced, so it can be logged and printed safely;
/// [`SecretUrl::expose`] gives the real value to the one place that connects.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(String);

impl SecretUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn redacted(&self) -> String {
        redact_url(&self.0)
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for SecretUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.redacted())
    }
}

impl<'de> Deserialize<'de> for SecretUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(SecretUrl)
    }
}

const REDACTED: &str = "REDACTED";

fn redact_url(raw: &str) -> String {
    let Ok(mut url) = url::Url::parse(raw) else {
        // Not parseable as a URL: it may still hold a secret, so show nothing of it.
        return REDACTED.to_owned();
    };
    if url.password().is_some() {
        let _ = url.set_password(Some(REDACTED));
    }
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let lower = k.to_ascii_lowercase();
                let secret = ["pass", "secret", "token", "key"]
                    .iter()
                    .any(|s| lower.contains(s));
                (
                    k.into_owned(),
                    if secret {
                        REDACTED.to_owned()
                    } else {
                        v.into_owned()
                    },
                )
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

/// Start-up configuration failed; every problem found is listed, each naming its key.
#[derive(Debug)]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid configuration:")?;
        for p in &self.problems {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl From<figment::Error> for ConfigError {
    fn from(err: figment::Error) -> Self {
        let problems = err
            .into_iter()
            .map(|e| {
                let key = if e.path.is_empty() {
                    "<root>".to_owned()
                } else {
                    e.path.join(".")
                };
                let source = e
                    .metadata
                    .as_ref()
                    .map(|m| match &m.source {
                        Some(src) => format!(" (from {} {src})", m.name),
                        None => format!(" (from {})", m.name),
                    })
                    .unwrap_or_default();
                format!("key `{key}`: {}{source}", e.kind)
            })
            .collect();
        ConfigError { problems }
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

    /// Checks values that parse but make no sense, naming each key and the fix.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        if let Err(e) = self.database_target() {
            problems.push(format!("key `database_url` (DATABASE_URL): {e}"));
        }
        let schemes: [(&str, &Option<SecretUrl>, &[&str]); 3] = [
            ("redis_url", &self.redis_url, &["redis", "rediss"]),
            ("amqp_url", &self.amqp_url, &["amqp", "amqps"]),
            ("smtp_url", &self.smtp_url, &["smtp", "smtps"]),
        ];
        for (key, value, allowed) in schemes {
            if let Some(url) = value {
                match url::Url::parse(url.expose()) {
                    Ok(u) if allowed.contains(&u.scheme()) => {}
                    Ok(u) => problems.push(format!(
                        "key `{key}` ({}): unsupported scheme `{}`; expected {}",
                        key.to_ascii_uppercase(),
                        u.scheme(),
                        allowed.join(" or ")
                    )),
                    Err(e) => problems.push(format!(
                        "key `{key}` ({}): not a valid URL: {e}",
                        key.to_ascii_uppercase()
                    )),
                }
            }
        }
        if self.data_dir.as_os_str().is_empty() {
            problems.push("key `data_dir` (NEXUS_DATA_DIR): must not be empty".into());
        }
        let db = &self.database;
        if db.sqlite_cache_mib == 0 || db.sqlite_cache_mib > 4_096 {
            problems.push("key `database.sqlite_cache_mib`: must be between 1 and 4096".into());
        }
        if db.max_connections == 0 {
            problems.push("key `database.max_connections`: must be at least 1".into());
        }
        if db.min_connections > db.max_connections {
            problems.push(format!(
                "key `database.min_connections`: {} is more than database.max_connections ({})",
                db.min_connections, db.max_connections
            ));
        }
        if db.acquire_timeout_ms == 0 || db.query_timeout_ms == 0 {
            problems.push(
                "keys `database.acquire_timeout_ms` and `database.query_timeout_ms`: must be above 0"
                    .into(),
            );
        }
        let http = &self.http;
        if !(1..=1024 * 1024 * 1024).contains(&http.body_limit_bytes) {
            problems.push("key `http.body_limit_bytes`: must be between 1 and 1 GiB".into());
        }
        if http.request_timeout_secs == 0 {
            problems.push("key `http.request_timeout_secs`: must be at least 1".into());
        }
        for origin in &http.cors_allowed_origins {
            if let Err(e) = check_origin(origin) {
                problems.push(format!("key `http.cors_allowed_origins`: `{origin}` {e}"));
            }
        }
        for proxy in &http.trusted_proxies {
            if let Err(e) = parse_net(proxy) {
                problems.push(format!("key `http.trusted_proxies`: `{proxy}` {e}"));
            }
        }
        if !(1..=300).contains(&http.header_read_timeout_secs) {
            problems.push("key `http.header_read_timeout_secs`: must be between 1 and 300".into());
        }
        if !(1..=24 * 30).contains(&http.idempotency_ttl_hours) {
            problems.push("key `http.idempotency_ttl_hours`: must be between 1 and 720".into());
        }
        let rl = &self.rate_limit;
        for (name, policy) in [
            ("auth", rl.auth),
            ("write", rl.write),
            ("read", rl.read),
            ("search", rl.search),
        ] {
            if policy.limit == 0 || !(1..=86_400).contains(&policy.period_secs) {
                problems.push(format!(
                    "key `rate_limit.{name}`: limit must be at least 1 and period_secs between 1 and 86400"
                ));
            }
        }
        if rl.redis_key_prefix.len() > 100 {
            problems.push("key `rate_limit.redis_key_prefix`: at most 100 bytes".into());
        }
        match url::Url::parse(&self.public_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => problems.push(format!(
                "key `public_url` (NEXUS_PUBLIC_URL): `{}` must be an http(s) URL",
                self.public_url
            )),
        }
        let auth = &self.auth;
        if let Some(secret) = &auth.jwt_secret
            && secret.expose().len() < 32
        {
            problems.push(
                "key `auth.jwt_secret` (NEXUS_AUTH__JWT_SECRET): must be at least 32 bytes".into(),
            );
        }
        if auth.access_token_ttl_secs < 30 || auth.access_token_ttl_secs > 86_400 {
            problems.push("key `auth.access_token_ttl_secs`: must be between 30 and 86400".into());
        }
        if auth.refresh_token_ttl_days == 0
            || auth.verify_token_ttl_hours == 0
            || auth.reset_token_ttl_minutes == 0
        {
            problems.push(
                "keys `auth.refresh_token_ttl_days`, `auth.verify_token_ttl_hours` and \
                 `auth.reset_token_ttl_minutes`: must be above 0"
                    .into(),
            );
        }
        if self.cache.memory_mib == 0
            || self.cache.memory_mib > 65_536
            || self.cache.ttl_secs == 0
            || self.cache.redis_key_prefix.len() > 100
        {
            problems.push(
                "keys `cache.memory_mib` (1 to 65536) and `cache.ttl_secs`: must be above 0; `cache.redis_key_prefix`: at most 100 bytes".into(),
            );
        }
        let jobs = &self.jobs;
        if !(1..=256).contains(&jobs.concurrency) {
            problems.push("key `jobs.concurrency`: must be between 1 and 256".into());
        }
        if jobs.poll_interval_ms == 0 || jobs.lease_secs == 0 || jobs.backoff_base_ms == 0 {
            problems.push(
                "keys `jobs.poll_interval_ms`, `jobs.lease_secs` and `jobs.backoff_base_ms`: must be above 0"
                    .into(),
            );
        }
        if !(1..=600).contains(&jobs.outbound_timeout_secs) {
            problems.push("key `jobs.outbound_timeout_secs`: must be between 1 and 600".into());
        }
        // Which job kinds and schedules exist is known only to the service layer, whose
        // domains register them; it refuses unknown names at start-up.
        for (kind, n) in &jobs.max_attempts {
            if !(1..=100).contains(n) {
                problems.push(format!(
                    "key `jobs.max_attempts.{kind}`: must be between 1 and 100"
                ));
            }
        }
        if jobs.amqp_queue.is_empty() || jobs.amqp_queue.len() > 200 {
            problems.push("key `jobs.amqp_queue`: 1 to 200 bytes".into());
        }
        for (name, expr) in &jobs.schedules {
            if let Err(e) = crate::schedule::Cron::parse(expr) {
                problems.push(format!("key `jobs.schedules.{name}`: {e}"));
            }
        }
        let hooks = &self.webhooks;
        if hooks.breaker_failures == 0 || hooks.breaker_cooldown_secs == 0 {
            problems.push(
                "keys `webhooks.breaker_failures` and `webhooks.breaker_cooldown_secs`: must be above 0"
                    .into(),
            );
        }
        if auth.login_failures_before_lockout == 0 {
            problems.push("key `auth.login_failures_before_lockout`: must be at least 1".into());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError { problems })
        }
    }

    /// The effective configuration as TOML with every secret redacted, for `nexus config`.
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }
}

fn check_origin(origin: &str) -> Result<(), String> {
    if origin == "*" {
        return Ok(());
    }
    let url = url::Url::parse(origin).map_err(|e| format!("is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must use http or https".into());
    }
    if url.path() != "/" || url.query().is_some() || origin.ends_with('/') {
        return Err("must be an origin only (scheme://host[:port]), with no path".into());
    }
    Ok(())
}

#[cfg(test)]
// figment's Jail closures return its large error type; boxing it would only add noise.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn nothing_set_gives_embedded_defaults() {
        Jail::expect_with(|_jail| {
            let s = Settings::load(None).expect("defaults load");
            assert_eq!(s.bind.to_string(), "127.0.0.1:8080");
            assert_eq!(s.data_dir, PathBuf::from("./nexus-data"));
            assert_eq!(
                s.database_target().unwrap(),
                DatabaseTarget::Sqlite("sqlite://./nexus-data/nexus.db".into())
            );
            assert_eq!(s.http.body_limit_bytes, 1024 * 1024);
            Ok(())
        });
    }

    #[test]
    fn environment_overrides_file_which_overrides_defaults() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "nexus.toml",
                "bind = \"127.0.0.1:9000\"\n[http]\nbody_limit_bytes = 2048\n",
            )?;
            jail.set_env("NEXUS_HTTP__BODY_LIMIT_BYTES", "4096");
            jail.set_env("DATABASE_URL", "postgres://u:pw@127.0.0.1/db");
            let s = Settings::load(None).expect("loads");
            assert_eq!(s.bind.port(), 9000);
            assert_eq!(s.http.body_limit_bytes, 4096);
            assert_eq!(
                s.database_target().unwrap().backend_name(),
                "postgres",
                "DATABASE_URL is read without a prefix"
            );
            Ok(())
        });
    }

    #[test]
    fn a_bad_value_names_its_key() {
        Jail::expect_with(|jail| {
            jail.set_env("NEXUS_BIND", "not-an-address");
            let err = Settings::load(None).unwrap_err().to_string();
            assert!(err.contains("`bind`"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn test_harness_variables_are_not_configuration() {
        Jail::expect_with(|jail| {
            jail.set_env("NEXUS_TEST_POSTGRES_URL", "postgres://x@127.0.0.1/y");
            jail.set_env("NEXUS_CONFIG", "nexus.toml");
            assert!(Settings::load(None).is_ok());
            Ok(())
        });
    }

    #[test]
    fn an_unknown_key_is_refused() {
        Jail::expect_with(|jail| {
            jail.set_env("NEXUS_BODY_LIMT", "5");
            let err = Settings::load(None).unwrap_err().to_string();
            assert!(err.contains("body_limt"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn an_unparsable_toml_file_is_refused_with_its_location() {
        Jail::expect_with(|jail| {
            jail.create_file("nexus.toml", "bind = [unclosed\n")?;
            let err = Settings::load(None).unwrap_err().to_string();
            assert!(err.contains("nexus.toml"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn a_named_config_file_must_exist() {
        Jail::expect_with(|_jail| {
            assert!(Settings::load(Some(Path::new("missing.toml"))).is_err());
            Ok(())
        });
    }

    #[test]
    fn unknown_database_schemes_are_refused_not_guessed() {
        for bad in ["mysql://x/y", "nexus.db", "sqlite://", "postgres://", ""] {
            assert!(
                DatabaseTarget::parse(bad).is_err(),
                "{bad} should be refused"
            );
        }
        assert!(DatabaseTarget::parse("postgresql://root@127.0.0.1/test").is_ok());
        assert!(DatabaseTarget::parse("sqlite:///tmp/x.db").is_ok());
    }

    #[test]
    fn secrets_are_redacted_when_printed() {
        let s = Settings {
            database_url: Some(SecretUrl::new(
                "postgres://nexus:s3cret@db/nexus?sslpassword=x",
            )),
            redis_url: Some(SecretUrl::new("redis://:hunter2@cache:6379")),
            auth: AuthSettings {
                jwt_secret: Some(SecretString::new("jwt-key-that-must-never-be-printed!!")),
                ..AuthSettings::default()
            },
            ..Settings::default()
        };
        let printed = s.to_redacted_toml();
        let debugged = format!("{s:?}");
        for text in [&printed, &debugged] {
            assert!(!text.contains("s3cret"), "{text}");
            assert!(!text.contains("hunter2"), "{text}");
            assert!(!text.contains("never-be-printed"), "{text}");
            assert!(text.contains("REDACTED"), "{text}");
        }
    }

    #[test]
    fn trusted_proxies_take_addresses_and_blocks() {
        let mut s = Settings::default();
        s.http.trusted_proxies = vec!["10.0.0.0/8".into(), "::1".into()];
        assert!(s.validate().is_ok());
        assert_eq!(s.http.trusted_proxy_nets().len(), 2);
        s.http.trusted_proxies = vec!["10.0.0.0/33".into()];
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("http.trusted_proxies"), "{err}");
    }

    #[test]
    fn rate_limit_policies_come_from_the_environment() {
        Jail::expect_with(|jail| {
            jail.set_env("NEXUS_RATE_LIMIT__AUTH", "{limit=3,period_secs=10}");
            jail.set_env("NEXUS_RATE_LIMIT__READ__LIMIT", "7");
            let s = Settings::load(None).expect("loads");
            assert_eq!(
                s.rate_limit.auth,
                RatePolicy {
                    limit: 3,
                    period_secs: 10
                }
            );
            assert_eq!(s.rate_limit.read.limit, 7);
            assert_eq!(s.rate_limit.write.limit, 60);
            jail.set_env("NEXUS_RATE_LIMIT__WRITE__LIMIT", "0");
            let err = Settings::load(None).unwrap_err().to_string();
            assert!(err.contains("rate_limit.write"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn cors_origins_must_be_bare_origins() {
        let mut s = Settings::default();
        s.http.cors_allowed_origins = vec!["https://app.example.com/path".into()];
        assert!(s.validate().is_err());
        s.http.cors_allowed_origins = vec!["https://app.example.com".into(), "*".into()];
        assert!(s.validate().is_ok());
    }

    #[test]
    fn max_attempts_are_between_1_and_100() {
        let mut s = Settings::default();
        s.jobs.max_attempts.insert("webhook.deliver".into(), 12);
        assert!(s.validate().is_ok());
        s.jobs.max_attempts.insert("webhook.deliver".into(), 101);
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("jobs.max_attempts.webhook.deliver"), "{err}");
        assert!(err.contains("between 1 and 100"), "{err}");
    }

    #[test]
    fn the_cache_budget_is_between_one_mib_and_64_gib() {
        let mut s = Settings::default();
        for bad in [0, 65_537] {
            s.cache.memory_mib = bad;
            let err = s.validate().unwrap_err().to_string();
            assert!(err.contains("cache.memory_mib"), "{err}");
        }
        for good in [1, 64, 65_536] {
            s.cache.memory_mib = good;
            assert!(s.validate().is_ok(), "{good}");
        }
    }
}
