//! The nested sections of [`super::Settings`] and their compiled-in defaults.

use serde::{Deserialize, Serialize};

use super::SecretString;

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
    /// File uploads: each one moves up to `storage.max_upload_bytes` into the store, so
    /// they have a budget of their own, counted in files rather than requests of any kind.
    pub upload: RatePolicy,
    /// Collaboration requests (`POST /collaborations`): each one lands in another
    /// learner's inbox, so they have a small budget of their own, on top of `write`.
    pub collaboration: RatePolicy,
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
            upload: RatePolicy {
                limit: 30,
                period_secs: 3_600,
            },
            collaboration: RatePolicy {
                limit: 10,
                period_secs: 86_400,
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
            schedules: [
                ("weekly_digest".to_owned(), "0 0 8 * * Mon".to_owned()),
                // Deadline reminders go at most a quarter of an hour late.
                ("deadline_reminders".to_owned(), "0 */15 * * * *".to_owned()),
                // Mentor and learner digests, an hour before the topic digest: the week
                // starts with them.
                ("learning_digests".to_owned(), "0 0 7 * * Mon".to_owned()),
            ]
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

pub(super) fn parse_net(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    if let Ok(net) = text.parse::<ipnet::IpNet>() {
        return Ok(net.trunc());
    }
    text.parse::<std::net::IpAddr>()
        .map(ipnet::IpNet::from)
        .map_err(|_| "is neither an IP address nor a CIDR block (10.0.0.0/8)".to_owned())
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
