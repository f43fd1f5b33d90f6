//! The figures of a run: what is printed and what `--json` writes (the same numbers).

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::load::Measurement;
use super::scenario::Scenario;

/// One side of a run (the target or the ceiling) over the measured window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// 2xx answers completed inside the window.
    pub requests: u64,
    /// `requests` divided by the window's length.
    pub requests_per_sec: f64,
    /// Of the 2xx answers, to the last body byte.
    pub latency_ms: Latency,
    pub errors: Errors,
    /// Mean body size of the 2xx answers; the ceiling answers with this size.
    pub mean_response_bytes: u64,
    /// Connections reopened during the run: non-zero means keep-alive was broken.
    pub reconnects: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Errors {
    /// Every request that did not end in a 2xx answer.
    pub total: u64,
    /// Non-2xx answers by status code (`"429": 12`).
    pub by_status: BTreeMap<String, u64>,
    /// No answer at all: connection refused or reset, or slower than the timeout.
    pub transport: u64,
}

impl Summary {
    pub fn of(m: &Measurement) -> Summary {
        let ms = |micros: u64| micros as f64 / 1_000.0;
        let q = |quantile: f64| {
            if m.latency.is_empty() {
                0.0
            } else {
                ms(m.latency.value_at_quantile(quantile))
            }
        };
        let requests = m.ok();
        let secs = m.window.as_secs_f64();
        let status_errors: u64 = m.statuses.values().sum();
        Summary {
            requests,
            requests_per_sec: if secs > 0.0 {
                requests as f64 / secs
            } else {
                0.0
            },
            latency_ms: Latency {
                p50: q(0.50),
                p90: q(0.90),
                p99: q(0.99),
                max: if m.latency.is_empty() {
                    0.0
                } else {
                    ms(m.latency.max())
                },
                mean: if m.latency.is_empty() {
                    0.0
                } else {
                    m.latency.mean() / 1_000.0
                },
            },
            errors: Errors {
                total: status_errors + m.transport_errors,
                by_status: m
                    .statuses
                    .iter()
                    .map(|(s, n)| (s.to_string(), *n))
                    .collect(),
                transport: m.transport_errors,
            },
            mean_response_bytes: m.bytes.checked_div(requests).unwrap_or(0),
            reconnects: m.reconnects,
        }
    }
}

/// The target's figures divided by the ceiling's: throughput as a fraction of the ceiling
/// (1.0 = as fast as the bare HTTP stack), latencies as multiples of the ceiling's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ratios {
    pub requests_per_sec: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
}

impl Ratios {
    pub fn of(target: &Summary, ceiling: &Summary) -> Ratios {
        let div = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        Ratios {
            requests_per_sec: div(target.requests_per_sec, ceiling.requests_per_sec),
            p50: div(target.latency_ms.p50, ceiling.latency_ms.p50),
            p90: div(target.latency_ms.p90, ceiling.latency_ms.p90),
            p99: div(target.latency_ms.p99, ceiling.latency_ms.p99),
        }
    }
}

/// What the request draw spanned.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataShape {
    pub notes: usize,
    pub topics: usize,
    pub search_queries: usize,
}

/// The server's memory, read from `/proc/PID/status` after the load (Linux).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Memory {
    pub pid: u32,
    /// `VmHWM`: the most resident memory the process ever had, start-up included.
    pub peak_rss_kib: u64,
    /// `VmRSS` just after the load.
    pub rss_kib: u64,
}

impl Memory {
    pub fn read(pid: u32) -> anyhow::Result<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        Memory::parse(pid, &status)
    }

    fn parse(pid: u32, status: &str) -> anyhow::Result<Memory> {
        let field = |name: &str| -> anyhow::Result<u64> {
            let line = status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .ok_or_else(|| anyhow::anyhow!("/proc/{pid}/status has no {name}"))?;
            let kib = line.trim().trim_end_matches("kB").trim();
            Ok(kib.parse()?)
        };
        Ok(Memory {
            pid,
            peak_rss_kib: field("VmHWM:")?,
            rss_kib: field("VmRSS:")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub scenario: Scenario,
    pub url: String,
    pub connections: usize,
    pub warmup_secs: f64,
    pub duration_secs: f64,
    pub data: DataShape,
    pub target: Summary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_memory: Option<Memory>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ceiling: Option<Summary>,
    /// Present with `ceiling`: see [`Ratios`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vs_ceiling: Option<Ratios>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "nexus bench: {} against {}, {} connections, {} s measured after {} s warm-up",
            self.scenario.name(),
            self.url,
            self.connections,
            self.duration_secs,
            self.warmup_secs
        )?;
        writeln!(
            f,
            "data: {} notes, {} topics, {} search queries",
            self.data.notes, self.data.topics, self.data.search_queries
        )?;
        writeln!(
            f,
            "{:<10} {:>10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>8} {:>7}",
            "", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "bytes", "errors"
        )?;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, s: &Summary| {
            writeln!(
                f,
                "{:<10} {:>10} {:>10.1} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>8} {:>7}",
                name,
                s.requests,
                s.requests_per_sec,
                s.latency_ms.p50,
                s.latency_ms.p90,
                s.latency_ms.p99,
                s.latency_ms.max,
                s.mean_response_bytes,
                s.errors.total
            )
        };
        row(f, "target", &self.target)?;
        if let Some(c) = &self.ceiling {
            row(f, "ceiling", c)?;
        }
        if let Some(r) = &self.vs_ceiling {
            writeln!(
                f,
                "{:<10} {:>10} {:>9.1}% {:>8.2}x {:>8.2}x {:>8.2}x",
                "÷ ceiling",
                "",
                r.requests_per_sec * 100.0,
                r.p50,
                r.p90,
                r.p99
            )?;
        }
        for (name, s) in [
            ("target", Some(&self.target)),
            ("ceiling", self.ceiling.as_ref()),
        ] {
            let Some(s) = s else { continue };
            if s.errors.total > 0 {
                let statuses: Vec<String> = s
                    .errors
                    .by_status
                    .iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect();
                writeln!(
                    f,
                    "{name} errors: {} by status [{}], {} without an answer",
                    s.errors.total - s.errors.transport,
                    statuses.join(", "),
                    s.errors.transport
                )?;
            }
            if s.reconnects > 0 {
                writeln!(f, "{name}: {} connections reopened", s.reconnects)?;
            }
        }
        if let Some(m) = &self.server_memory {
            writeln!(
                f,
                "server (pid {}): peak RSS {:.1} MiB, RSS after the load {:.1} MiB",
                m.pid,
                m.peak_rss_kib as f64 / 1024.0,
                m.rss_kib as f64 / 1024.0
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn measurement(
        window_secs: u64,
        latencies_micros: impl IntoIterator<Item = u64>,
    ) -> Measurement {
        let mut m = Measurement::new(Duration::from_secs(window_secs)).unwrap();
        for us in latencies_micros {
            m.record_ok(Duration::from_micros(us), 1_000);
        }
        m
    }

    #[test]
    fn percentiles_and_rate_come_from_the_window() {
        // 1,000 answers of 1..=1000 µs over 2 s.
        let s = Summary::of(&measurement(2, 1..=1_000));
        assert_eq!(s.requests, 1_000);
        assert!((s.requests_per_sec - 500.0).abs() < 1e-9);
        let close = |a: f64, b: f64| (a - b).abs() <= b * 0.01;
        assert!(close(s.latency_ms.p50, 0.5), "{}", s.latency_ms.p50);
        assert!(close(s.latency_ms.p90, 0.9), "{}", s.latency_ms.p90);
        assert!(close(s.latency_ms.p99, 0.99), "{}", s.latency_ms.p99);
        assert!(close(s.latency_ms.max, 1.0), "{}", s.latency_ms.max);
        assert!(close(s.latency_ms.mean, 0.5005), "{}", s.latency_ms.mean);
        assert_eq!(s.mean_response_bytes, 1_000);
        assert_eq!(s.errors.total, 0);
    }

    #[test]
    fn errors_are_counted_by_status_and_apart_from_successes() {
        let mut m = measurement(1, [100, 200]);
        m.record_status(429);
        m.record_status(503);
        m.record_status(429);
        m.transport_errors = 2;
        let s = Summary::of(&m);
        assert_eq!(s.requests, 2);
        assert_eq!(s.errors.total, 5);
        assert_eq!(s.errors.transport, 2);
        assert_eq!(s.errors.by_status.get("429"), Some(&2));
        assert_eq!(s.errors.by_status.get("503"), Some(&1));
    }

    #[test]
    fn an_empty_window_reports_zeros_not_nan() {
        let s = Summary::of(&measurement(1, []));
        assert_eq!(s.requests, 0);
        assert_eq!(s.latency_ms.p99, 0.0);
        assert_eq!(s.latency_ms.mean, 0.0);
        assert_eq!(s.mean_response_bytes, 0);
        let r = Ratios::of(&s, &s);
        assert_eq!(r.requests_per_sec, 0.0);
    }

    #[test]
    fn ratios_are_target_over_ceiling() {
        let target = Summary::of(&measurement(1, std::iter::repeat_n(2_000, 800)));
        let ceiling = Summary::of(&measurement(1, std::iter::repeat_n(500, 1_000)));
        let r = Ratios::of(&target, &ceiling);
        assert!((r.requests_per_sec - 0.8).abs() < 1e-9);
        assert!((r.p50 - 4.0).abs() < 0.05, "{}", r.p50);
    }

    #[test]
    fn memory_comes_from_vm_hwm_and_vm_rss() {
        let status =
            "Name:\tnexus\nVmPeak:\t  900000 kB\nVmHWM:\t   81234 kB\nVmRSS:\t   70000 kB\n";
        let m = Memory::parse(42, status).unwrap();
        assert_eq!((m.peak_rss_kib, m.rss_kib), (81_234, 70_000));
        assert!(Memory::parse(42, "Name:\tx\n").is_err());
    }

    #[test]
    fn the_json_report_has_the_documented_shape() {
        let target = Summary::of(&measurement(1, [1_000, 2_000]));
        let ceiling = Summary::of(&measurement(1, [500, 500, 500]));
        let report = Report {
            scenario: Scenario::ReadHot,
            url: "http://127.0.0.1:8080".into(),
            connections: 64,
            warmup_secs: 2.0,
            duration_secs: 1.0,
            data: DataShape {
                notes: 50,
                topics: 50,
                search_queries: 0,
            },
            vs_ceiling: Some(Ratios::of(&target, &ceiling)),
            target,
            server_memory: Some(Memory {
                pid: 7,
                peak_rss_kib: 2,
                rss_kib: 1,
            }),
            ceiling: Some(ceiling),
        };
        let v = serde_json::to_value(&report).unwrap();
        assert_eq!(v["scenario"], "read-hot");
        assert_eq!(v["connections"], 64);
        assert_eq!(v["data"]["notes"], 50);
        for side in ["target", "ceiling"] {
            for key in [
                "requests",
                "requests_per_sec",
                "mean_response_bytes",
                "reconnects",
            ] {
                assert!(v[side][key].is_number(), "{side}.{key}");
            }
            for key in ["p50", "p90", "p99", "max", "mean"] {
                assert!(
                    v[side]["latency_ms"][key].is_number(),
                    "{side}.latency_ms.{key}"
                );
            }
            assert!(v[side]["errors"]["by_status"].is_object());
            assert!(v[side]["errors"]["total"].is_number());
            assert!(v[side]["errors"]["transport"].is_number());
        }
        assert!(v["vs_ceiling"]["requests_per_sec"].as_f64().unwrap() < 1.0);
        assert_eq!(v["server_memory"]["peak_rss_kib"], 2);
        // Without a ceiling or a PID, those keys are absent rather than null.
        let bare = Report {
            ceiling: None,
            vs_ceiling: None,
            server_memory: None,
            ..report
        };
        let v = serde_json::to_value(&bare).unwrap();
        assert!(v.get("ceiling").is_none() && v.get("vs_ceiling").is_none());
        assert!(v.get("server_memory").is_none());
        // And the text form names every figure.
        let text = bare.to_string();
        assert!(text.contains("read-hot") && text.contains("p99 ms") && text.contains("target"));
    }
}
