//! Request-rate limits with GCRA (the generic cell rate algorithm), in this process or in
//! Redis.
//!
//! GCRA keeps one number per bucket, the theoretical arrival time (TAT) of the next
//! request, so a bucket costs one small key and one atomic step, and the answer gives
//! exactly what the `RateLimit` headers need (remaining quota, time to reset, retry after).
//!
//! Written here rather than taken from `governor`: the same step must also run as a Lua
//! script inside Redis so that every instance shares one count, and keeping both halves
//! as the same dozen lines of arithmetic is what makes them agree. `governor` would cover
//! only the in-process half, with its own clock and state format.
//!
//! When Redis does not answer, the limiter counts in this process instead (each instance
//! then enforces the limit on its own share of the traffic), logs the switch once, counts
//! `nexus_rate_limit_fallback_total`, and tries Redis again a few seconds later.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nexus_core::config::{RateLimitSettings, RatePolicy, SecretUrl};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// One limit: `limit` requests per `period`, all of them allowed at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Shown in the `RateLimit-Policy` and `RateLimit` headers.
    pub name: &'static str,
    pub limit: u32,
    pub period: Duration,
}

impl Policy {
    pub fn new(name: &'static str, p: RatePolicy) -> Policy {
        Policy {
            name,
            limit: p.limit,
            period: Duration::from_secs(p.period_secs),
        }
    }

    fn period_ms(&self) -> u64 {
        u64::try_from(self.period.as_millis()).unwrap_or(u64::MAX)
    }

    /// The spacing between requests once the burst is used up.
    fn interval_ms(&self) -> u64 {
        (self.period_ms() / u64::from(self.limit.max(1))).max(1)
    }
}

/// The outcome of one request against one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// Requests still allowed right now.
    pub remaining: u32,
    /// Seconds until the full quota is available again.
    pub reset_secs: u64,
    /// When refused, seconds until one more request is allowed.
    pub retry_after_secs: u64,
}

/// One GCRA step: from the stored TAT (if any) and `now`, the decision and the TAT to
/// store (unchanged when refused). Times in milliseconds. Mirrored by [`GCRA_LUA`].
fn gcra(stored_tat: Option<u64>, now: u64, interval: u64, period: u64) -> (Decision, u64) {
    let tat = stored_tat.unwrap_or(now).max(now);
    let new_tat = tat + interval;
    if new_tat - now > period {
        let decision = Decision {
            allowed: false,
            remaining: 0,
            reset_secs: ceil_secs(tat - now),
            retry_after_secs: ceil_secs(new_tat - period - now).max(1),
        };
        return (decision, tat);
    }
    let remaining = (period - (new_tat - now)) / interval;
    let decision = Decision {
        allowed: true,
        remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
        reset_secs: ceil_secs(new_tat - now),
        retry_after_secs: 0,
    };
    (decision, new_tat)
}

fn ceil_secs(ms: u64) -> u64 {
    ms.div_ceil(1000)
}

/// [`gcra`] inside Redis, atomic because a script runs alone. Redis's own clock is used so
/// that instances with skewed clocks still share one timeline.
/// KEYS[1]: the bucket; ARGV[1]: interval ms; ARGV[2]: period ms.
/// Returns {allowed, remaining, reset ms, retry-after ms}.
const GCRA_LUA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
if new_tat - now > period then
  return {0, 0, tat - now, new_tat - period - now}
end
redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now)
return {1, math.floor((period - (new_tat - now)) / interval), new_tat - now, 0}
";

/// How long one Redis round trip may take before the request is decided locally.
const REDIS_TIMEOUT: Duration = Duration::from_millis(500);
/// After a Redis failure, how long to count locally before trying Redis again, so that a
/// dead Redis costs one timeout per few seconds rather than one per request.
const REDIS_RETRY_AFTER: Duration = Duration::from_secs(5);
/// Above this many local buckets, buckets already back to full quota are dropped.
const MAX_LOCAL_BUCKETS: usize = 100_000;

struct RedisStore {
    conn: ConnectionManager,
    script: redis::Script,
    prefix: String,
    /// Milliseconds since `started` before which Redis is not tried (after a failure).
    skip_until_ms: AtomicU64,
    degraded: AtomicBool,
}

pub struct RateLimiter {
    enabled: bool,
    pub auth: Policy,
    pub write: Policy,
    pub read: Policy,
    pub search: Policy,
    pub upload: Policy,
    pub collaboration: Policy,
    local: Mutex<HashMap<String, u64>>,
    started: Instant,
    redis: Option<RedisStore>,
}

impl RateLimiter {
    /// Builds the limiter; with a Redis URL, the connection is made on first use, so a
    /// Redis that is down at start-up only means local counting until it is up.
    pub fn new(
        settings: &RateLimitSettings,
        redis_url: Option<&SecretUrl>,
    ) -> anyhow::Result<Self> {
        let redis = match redis_url {
            Some(url) => {
                let client = redis::Client::open(url.expose())?;
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(REDIS_TIMEOUT))
                    .set_response_timeout(Some(REDIS_TIMEOUT))
                    .set_number_of_retries(1);
                Some(RedisStore {
                    conn: ConnectionManager::new_lazy_with_config(client, config)?,
                    script: redis::Script::new(GCRA_LUA),
                    prefix: settings.redis_key_prefix.clone(),
                    skip_until_ms: AtomicU64::new(0),
                    degraded: AtomicBool::new(false),
                })
            }
            None => None,
        };
        Ok(RateLimiter {
            enabled: settings.enabled,
            auth: Policy::new("auth", settings.auth),
            write: Policy::new("write", settings.write),
            read: Policy::new("read", settings.read),
            search: Policy::new("search", settings.search),
            upload: Policy::new("upload", settings.upload),
            collaboration: Policy::new("collaboration", settings.collaboration),
            local: Mutex::new(HashMap::new()),
            started: Instant::now(),
            redis,
        })
    }

    /// The policy of an operation class.
    pub fn policy(&self, class: crate::safety::OpClass) -> Policy {
        use crate::safety::OpClass;
        match class {
            OpClass::Read => self.read,
            OpClass::Search => self.search,
            OpClass::Write => self.write,
            OpClass::Upload => self.upload,
            OpClass::Collaboration => self.collaboration,
            OpClass::Auth(_) => self.auth,
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Counts one request against `bucket` under `policy`.
    pub async fn check(&self, policy: &Policy, bucket: &str) -> Decision {
        let decision = match &self.redis {
            Some(redis) => match self.check_redis(redis, policy, bucket).await {
                Some(d) => d,
                None => self.check_local(policy, bucket),
            },
            None => self.check_local(policy, bucket),
        };
        if !decision.allowed {
            metrics::counter!("nexus_rate_limited_total", "policy" => policy.name).increment(1);
        }
        decision
    }

    fn check_local(&self, policy: &Policy, bucket: &str) -> Decision {
        let now = self.now_ms();
        let mut buckets = self.local.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_LOCAL_BUCKETS {
            buckets.retain(|_, tat| *tat > now);
        }
        let stored = buckets.get(bucket).copied();
        let (decision, tat) = gcra(stored, now, policy.interval_ms(), policy.period_ms());
        buckets.insert(bucket.to_owned(), tat);
        decision
    }

    /// `None` when Redis could not decide; the caller then counts locally.
    async fn check_redis(
        &self,
        redis: &RedisStore,
        policy: &Policy,
        bucket: &str,
    ) -> Option<Decision> {
        let now = self.now_ms();
        if now < redis.skip_until_ms.load(Ordering::Relaxed) {
            metrics::counter!("nexus_rate_limit_fallback_total").increment(1);
            return None;
        }
        let mut conn = redis.conn.clone();
        let key = format!("{}{bucket}", redis.prefix);
        let mut call = redis.script.key(key);
        call.arg(policy.interval_ms()).arg(policy.period_ms());
        let outcome = tokio::time::timeout(
            REDIS_TIMEOUT,
            call.invoke_async::<(u8, u64, u64, u64)>(&mut conn),
        )
        .await;
        match outcome {
            Ok(Ok((allowed, remaining, reset_ms, retry_ms))) => {
                if redis.degraded.swap(false, Ordering::Relaxed) {
                    tracing::info!("Redis answers again; rate limits are shared across instances");
                }
                Some(Decision {
                    allowed: allowed == 1,
                    remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
                    reset_secs: ceil_secs(reset_ms),
                    retry_after_secs: if allowed == 1 {
                        0
                    } else {
                        ceil_secs(retry_ms).max(1)
                    },
                })
            }
            failed => {
                let reason = match failed {
                    Ok(Err(e)) => e.to_string(),
                    _ => "no answer in time".to_owned(),
                };
                redis.skip_until_ms.store(
                    now + u64::try_from(REDIS_RETRY_AFTER.as_millis()).unwrap_or(5_000),
                    Ordering::Relaxed,
                );
                if !redis.degraded.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        error = %reason,
                        "Redis is unreachable; rate limits fall back to counting in this process"
                    );
                }
                metrics::counter!("nexus_rate_limit_fallback_total").increment(1);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000;

    #[test]
    fn a_full_burst_is_allowed_then_one_per_interval() {
        let (interval, period) = (MIN / 5, MIN);
        let mut tat = None;
        for expected_remaining in (0..5).rev() {
            let (d, t) = gcra(tat, 0, interval, period);
            assert!(d.allowed);
            assert_eq!(d.remaining, expected_remaining);
            tat = Some(t);
        }
        let (d, t) = gcra(tat, 0, interval, period);
        assert!(!d.allowed);
        assert_eq!(d.retry_after_secs, 12);
        assert_eq!(d.reset_secs, 60);
        assert_eq!(Some(t), tat, "a refusal does not use quota");
        let (d, _) = gcra(tat, 12_000, interval, period);
        assert!(d.allowed, "one interval later one more is allowed");
        let (d, _) = gcra(tat, 61_000, interval, period);
        assert_eq!(d.remaining, 4, "after the period the burst is back");
    }

    #[tokio::test]
    async fn buckets_are_independent() {
        let settings = RateLimitSettings::default();
        let limiter = RateLimiter::new(&settings, None).unwrap();
        let policy = Policy {
            name: "t",
            limit: 2,
            period: Duration::from_secs(60),
        };
        assert!(limiter.check(&policy, "a").await.allowed);
        assert!(limiter.check(&policy, "a").await.allowed);
        assert!(!limiter.check(&policy, "a").await.allowed);
        assert!(limiter.check(&policy, "b").await.allowed);
    }
}
