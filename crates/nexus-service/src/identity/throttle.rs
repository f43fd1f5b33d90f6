//! Slowing down password guessing: after a number of failed logins for one account or from
//! one client address, further attempts are refused for a while, and the while doubles
//! with each further failure.
//!
//! The counters live in this process. With several instances each keeps its own, so the
//! effective allowance is per instance; the shared, Redis-backed rate limiter of the
//! safety-controls issue is the cross-instance bound. Written here rather than taken from
//! a crate because the policy (two keys, lock-out that grows with failures, reset on
//! success) is a dozen lines and no rate-limit crate expresses it directly.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

pub struct LoginThrottle {
    free_failures: u32,
    base_lockout: Duration,
    entries: Mutex<HashMap<String, Failures>>,
}

/// Entries older than this are forgotten.
const MEMORY: Duration = Duration::from_secs(3600);
const MAX_ENTRIES: usize = 100_000;

impl LoginThrottle {
    pub fn new(free_failures: u32, base_lockout: Duration) -> LoginThrottle {
        LoginThrottle {
            free_failures,
            base_lockout,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lockout_for(&self, f: Failures) -> Duration {
        if f.count < self.free_failures {
            return Duration::ZERO;
        }
        let doublings = (f.count - self.free_failures).min(10);
        self.base_lockout * 2u32.pow(doublings)
    }

    /// Seconds the caller must wait before trying any of `keys` again, if any.
    pub fn retry_after(&self, keys: &[&str], now: Instant) -> Option<u64> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        keys.iter()
            .filter_map(|k| entries.get(*k))
            .filter_map(|f| {
                let until = f.last + self.lockout_for(*f);
                (until > now).then(|| (until - now).as_secs().max(1))
            })
            .max()
    }

    pub fn record_failure(&self, keys: &[&str], now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, f| now.duration_since(f.last) < MEMORY);
        }
        for key in keys {
            let entry = entries.entry((*key).to_owned()).or_insert(Failures {
                count: 0,
                last: now,
            });
            if now.duration_since(entry.last) > MEMORY {
                entry.count = 0;
            }
            entry.count += 1;
            entry.last = now;
        }
    }

    pub fn record_success(&self, key: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_beyond_the_allowance_lock_out_for_a_growing_time() {
        let t = LoginThrottle::new(3, Duration::from_secs(10));
        let now = Instant::now();
        for _ in 0..2 {
            t.record_failure(&["acct"], now);
        }
        assert_eq!(t.retry_after(&["acct"], now), None);
        t.record_failure(&["acct"], now);
        assert_eq!(t.retry_after(&["acct"], now), Some(10));
        t.record_failure(&["acct"], now);
        assert_eq!(t.retry_after(&["acct"], now), Some(20));
        assert_eq!(
            t.retry_after(&["acct"], now + Duration::from_secs(21)),
            None
        );
        assert_eq!(t.retry_after(&["other"], now), None);
        t.record_success("acct");
        assert_eq!(t.retry_after(&["acct"], now), None);
    }
}
