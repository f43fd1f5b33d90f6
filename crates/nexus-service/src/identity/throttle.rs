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
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: DateTime<Utc>,
}

pub struct LoginThrottle {
    free_failures: u32,
    base_lockout: Duration,
    entries: Mutex<HashMap<String, Failures>>,
}

/// Entries older than this are forgotten.
const MEMORY: TimeDelta = TimeDelta::hours(1);
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

    /// Seconds the caller must wait before trying any of `keys` again, if any, at `now`
    /// (the services' clock, so a test passes a lock-out by setting the time).
    pub fn retry_after(&self, keys: &[&str], now: DateTime<Utc>) -> Option<u64> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        keys.iter()
            .filter_map(|k| entries.get(*k))
            .filter_map(|f| {
                // A lock-out too long to add to a date lasts as long as dates do.
                let until = TimeDelta::from_std(self.lockout_for(*f))
                    .ok()
                    .and_then(|lockout| f.last.checked_add_signed(lockout))
                    .unwrap_or(DateTime::<Utc>::MAX_UTC);
                // In whole seconds, and at least one while any of it is left.
                let left = (until - now).to_std().ok()?;
                (!left.is_zero()).then(|| left.as_secs().max(1))
            })
            .max()
    }

    pub fn record_failure(&self, keys: &[&str], now: DateTime<Utc>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, f| now - f.last < MEMORY);
        }
        for key in keys {
            let entry = entries.entry((*key).to_owned()).or_insert(Failures {
                count: 0,
                last: now,
            });
            if now - entry.last > MEMORY {
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
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        for _ in 0..2 {
            t.record_failure(&["acct"], now);
        }
        assert_eq!(t.retry_after(&["acct"], now), None);
        t.record_failure(&["acct"], now);
        assert_eq!(t.retry_after(&["acct"], now), Some(10));
        t.record_failure(&["acct"], now);
        assert_eq!(t.retry_after(&["acct"], now), Some(20));
        assert_eq!(
            t.retry_after(&["acct"], now + chrono::Duration::seconds(21)),
            None
        );
        assert_eq!(t.retry_after(&["other"], now), None);
        t.record_success("acct");
        assert_eq!(t.retry_after(&["acct"], now), None);
    }
}
