//! Start-up checks of values that parse but make no sense, each naming its key.

use std::fmt;

use super::sections::parse_net;
use super::{SecretUrl, Settings};

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

impl Settings {
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
            ("upload", rl.upload),
            ("collaboration", rl.collaboration),
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
        self.storage.check(&self.data_dir, &mut problems);
        if auth.login_failures_before_lockout == 0 {
            problems.push("key `auth.login_failures_before_lockout`: must be at least 1".into());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError { problems })
        }
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
