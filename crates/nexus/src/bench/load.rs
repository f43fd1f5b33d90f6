//! The load: N workers, each a closed loop on its own keep-alive connection.
//!
//! All workers start together; the first `warmup` seconds are not measured (connections
//! open, caches and pools fill), then exactly `duration` seconds are. An answer counts
//! when it *completes* inside the measured window, so the figure is completions per
//! second over that window; a request still in flight when the window closes is dropped
//! uncounted, which also bounds the run to warm-up + duration whatever the server does.
//!
//! Closed loop, like wrk: a slow answer delays that worker's next request, so the
//! latencies are those of a server kept exactly N requests busy, not of an open arrival
//! rate (no coordinated-omission correction; the figures are for comparing runs and the
//! ceiling, not for predicting the tail under a fixed arrival rate).

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::time::Instant;

use super::client::{Conn, Target};
use super::scenario::Generator;

/// Latencies are recorded in microseconds, from 1 µs to 60 s, at 3 significant digits.
const HIGHEST_MICROS: u64 = 60_000_000;
/// After a failed connect, how long a worker waits before trying again, so a server that
/// is down is not hammered with connection attempts.
const RECONNECT_PAUSE: Duration = Duration::from_millis(20);

#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub connections: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// A request taking longer than this counts as a transport error.
    pub timeout: Duration,
}

/// What the workers saw during the measured window.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// Latency in microseconds of each 2xx answer.
    pub latency: Histogram<u64>,
    /// Non-2xx answers by status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests that got no answer: refused or reset connections, timeouts.
    pub transport_errors: u64,
    /// Connections opened after a worker's first (the server closed one, or it broke).
    pub reconnects: u64,
    /// Body bytes of the 2xx answers.
    pub bytes: u64,
    /// The measured window.
    pub window: Duration,
}

impl Measurement {
    pub fn new(window: Duration) -> anyhow::Result<Measurement> {
        Ok(Measurement {
            latency: Histogram::new_with_bounds(1, HIGHEST_MICROS, 3)?,
            statuses: BTreeMap::new(),
            transport_errors: 0,
            reconnects: 0,
            bytes: 0,
            window,
        })
    }

    pub fn record_ok(&mut self, latency: Duration, bytes: u64) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency
            .saturating_record(micros.clamp(1, HIGHEST_MICROS));
        self.bytes += bytes;
    }

    pub fn record_status(&mut self, status: u16) {
        *self.statuses.entry(status).or_default() += 1;
    }

    pub fn merge(&mut self, other: &Measurement) {
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
        for (status, n) in &other.statuses {
            *self.statuses.entry(*status).or_default() += n;
        }
        self.transport_errors += other.transport_errors;
        self.reconnects += other.reconnects;
        self.bytes += other.bytes;
    }

    pub fn ok(&self) -> u64 {
        self.latency.len()
    }
}

/// Runs `plan` against `target`, one generator per connection, and returns the merged
/// measurement of the window.
pub async fn drive(
    target: &Target,
    plan: Plan,
    generators: Vec<Generator>,
) -> anyhow::Result<Measurement> {
    let empty = Measurement::new(plan.duration)?;
    let start = Instant::now();
    let measure_from = start + plan.warmup;
    let until = measure_from + plan.duration;
    let workers: Vec<_> = generators
        .into_iter()
        .map(|generator| {
            let addr = target.addr;
            let m = empty.clone();
            tokio::spawn(worker(addr, generator, m, measure_from, until, plan))
        })
        .collect();
    let mut total = empty;
    for w in workers {
        match w.await {
            Ok(m) => total.merge(&m),
            // A panicking worker is a harness bug; its share is lost, and says so.
            Err(e) => {
                tracing::error!(error = %e, "a load worker failed");
                total.transport_errors += 1;
            }
        }
    }
    Ok(total)
}

async fn worker(
    addr: std::net::SocketAddr,
    mut generator: Generator,
    mut m: Measurement,
    measure_from: Instant,
    until: Instant,
    plan: Plan,
) -> Measurement {
    let in_window = |t: Instant| t >= measure_from && t <= until;
    let mut conn: Option<Conn> = None;
    let mut opened = 0u64;
    while Instant::now() < until {
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match tokio::time::timeout_at(until, Conn::open(addr)).await {
                Ok(Ok(c)) => {
                    opened += 1;
                    conn.insert(c)
                }
                Ok(Err(_)) => {
                    if in_window(Instant::now()) {
                        m.transport_errors += 1;
                    }
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                    continue;
                }
                Err(_) => break,
            },
        };
        let req = generator.next_request();
        let sent = Instant::now();
        let deadline = (sent + plan.timeout).min(until);
        match tokio::time::timeout_at(deadline, c.send(req)).await {
            Ok(Ok((status, bytes))) => {
                let done = Instant::now();
                if in_window(done) {
                    if status.is_success() {
                        m.record_ok(done - sent, bytes);
                    } else {
                        m.record_status(status.as_u16());
                    }
                }
            }
            Ok(Err(_)) => {
                conn = None;
                if in_window(Instant::now()) {
                    m.transport_errors += 1;
                }
            }
            // Cut by the end of the window: in flight, not failed.
            Err(_) if deadline == until => break,
            Err(_) => {
                conn = None;
                if in_window(Instant::now()) {
                    m.transport_errors += 1;
                }
            }
        }
    }
    m.reconnects = opened.saturating_sub(1);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_adds_counts_and_latencies() {
        let mut a = Measurement::new(Duration::from_secs(1)).unwrap();
        let mut b = Measurement::new(Duration::from_secs(1)).unwrap();
        a.record_ok(Duration::from_millis(1), 100);
        b.record_ok(Duration::from_millis(3), 300);
        b.record_status(429);
        b.record_status(429);
        b.transport_errors = 1;
        a.merge(&b);
        assert_eq!(a.ok(), 2);
        assert_eq!(a.bytes, 400);
        assert_eq!(a.statuses.get(&429), Some(&2));
        assert_eq!(a.transport_errors, 1);
        assert!(a.latency.max() >= 2_990);
    }

    #[test]
    fn latencies_outside_the_histogram_are_clamped_not_lost() {
        let mut m = Measurement::new(Duration::from_secs(1)).unwrap();
        m.record_ok(Duration::ZERO, 0);
        m.record_ok(Duration::from_secs(3_600), 0);
        assert_eq!(m.ok(), 2);
        assert!(m.latency.max() <= HIGHEST_MICROS + HIGHEST_MICROS / 100);
    }
}
