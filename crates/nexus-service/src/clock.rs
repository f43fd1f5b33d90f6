//! What time it is, as the services see it: when a job is due, when a failed one is
//! retried, which period of a schedule is current, when a webhook's breaker may probe, and
//! every time a use case stamps on a row or compares with one (a session's expiry, a
//! hand-in's deadline). Only times that another party checks with its own clock (an
//! access token's `exp`, a webhook signature's timestamp) are read from the system.
//!
//! The system clock in production. A test sets the time instead ([`Clock::manual`]),
//! so that a backoff, a weekly schedule or a breaker's cool-down is a step of the clock
//! rather than a sleep (`crates/nexus/tests/service/`).

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

#[derive(Clone, Default)]
pub struct Clock(Option<Arc<Mutex<DateTime<Utc>>>>);

impl Clock {
    pub fn system() -> Clock {
        Clock(None)
    }

    /// A clock that stands at `at` until [`Clock::set`] moves it.
    pub fn manual(at: DateTime<Utc>) -> Clock {
        Clock(Some(Arc::new(Mutex::new(at))))
    }

    pub fn now(&self) -> DateTime<Utc> {
        match &self.0 {
            Some(at) => *at.lock().unwrap_or_else(|e| e.into_inner()),
            None => Utc::now(),
        }
    }

    /// Moves a manual clock to `at` (back as well as forward); the system clock cannot
    /// be set, and says so.
    pub fn set(&self, at: DateTime<Utc>) -> bool {
        match &self.0 {
            Some(now) => {
                *now.lock().unwrap_or_else(|e| e.into_inner()) = at;
                true
            }
            None => false,
        }
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(_) => write!(f, "Clock::manual({})", self.now()),
            None => f.write_str("Clock::system"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_stands_still_until_it_is_set() {
        let at = Utc::now() - chrono::Duration::days(30);
        let clock = Clock::manual(at);
        assert_eq!(clock.now(), at);
        let later = at + chrono::Duration::weeks(1);
        assert!(clock.clone().set(later), "clones share the time");
        assert_eq!(clock.now(), later);
        assert!(!Clock::system().set(later));
        assert!(Clock::system().now() > at);
    }
}
