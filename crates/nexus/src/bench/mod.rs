//! `nexus bench`: load against a running Nexus from this process, over loopback, and the
//! same load against the ceiling in the same run.
//!
//! # Layout
//! - [`scenario`]: the scenarios of DESIGN.md's benchmark contract, the data they draw
//!   from (fetched from the server before the warm-up) and the per-worker request draw.
//! - [`load`]: N workers on N keep-alive connections, an unmeasured warm-up, then a
//!   measured window of exactly the asked length.
//! - [`report`]: percentiles, errors by status, the ceiling fractions; text and JSON.
//! - [`ceiling`]: the fixed-answer server of `nexus-ceiling`, and starting and stopping it.
//! - [`client`]: one HTTP/1.1 connection, as the workers and the set-up use it.
//!
//! BENCHMARKS.md at the repository root has the method, the commands and the figures.

pub mod ceiling;
pub mod client;
pub mod load;
pub mod report;
pub mod scenario;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;

use self::ceiling::CeilingProcess;
use self::client::Target;
use self::load::Plan;
use self::report::{DataShape, Memory, Ratios, Report, Summary};
use self::scenario::{Data, Generator, Scenario, Writer};

/// Answer size the ceiling uses when the target gave no 2xx answer to take it from.
const FALLBACK_BODY_BYTES: u64 = 2_048;

pub struct Options {
    pub url: String,
    pub scenario: Scenario,
    pub connections: usize,
    pub warmup: Duration,
    pub duration: Duration,
    pub timeout: Duration,
    /// The `nexus-ceiling` executable, when the ceiling is to be measured too.
    pub ceiling_bin: Option<PathBuf>,
    /// The server's process, whose memory is read after the load.
    pub server_pid: Option<u32>,
    pub writer: Writer,
}

/// Prepares the data, measures the target, then (if asked) the ceiling with answers of
/// the target's mean size. Progress goes to standard error.
pub async fn run(opts: &Options) -> anyhow::Result<Report> {
    anyhow::ensure!(opts.connections > 0, "--connections must be at least 1");
    let target = Target::resolve(&opts.url).await?;
    eprintln!("preparing {} against {}", opts.scenario.name(), opts.url);
    let data = Arc::new(Data::prepare(&target, opts.scenario, &opts.writer).await?);
    let plan = Plan {
        connections: opts.connections,
        warmup: opts.warmup,
        duration: opts.duration,
        timeout: opts.timeout,
    };
    let generators = |t: &Target| -> anyhow::Result<Vec<Generator>> {
        (0..plan.connections)
            .map(|i| Generator::new(opts.scenario, data.clone(), t.clone(), i))
            .collect()
    };

    eprintln!(
        "target: {} connections, {:?} warm-up, {:?} measured",
        plan.connections, plan.warmup, plan.duration
    );
    let measured = load::drive(&target, plan, generators(&target)?).await?;
    let target_summary = Summary::of(&measured);
    let server_memory = match opts.server_pid {
        Some(pid) => Some(Memory::read(pid)?),
        None => None,
    };

    let ceiling = match &opts.ceiling_bin {
        None => None,
        Some(bin) => {
            let size = match target_summary.mean_response_bytes {
                0 => FALLBACK_BODY_BYTES,
                n => n,
            };
            let process = CeilingProcess::start(bin, size).await?;
            eprintln!(
                "ceiling: pid {} on {}, {size}-byte answers",
                process.pid().unwrap_or(0),
                process.addr
            );
            let ceiling_target = Target {
                addr: process.addr,
                host: HeaderValue::from_str(&process.addr.to_string())?,
            };
            let result = load::drive(&ceiling_target, plan, generators(&ceiling_target)?).await;
            process.stop().await?;
            Some(Summary::of(&result?))
        }
    };

    Ok(Report {
        scenario: opts.scenario,
        url: opts.url.clone(),
        connections: opts.connections,
        warmup_secs: opts.warmup.as_secs_f64(),
        duration_secs: opts.duration.as_secs_f64(),
        data: DataShape {
            notes: data.notes(),
            topics: data.topics.len(),
            search_queries: data.searches.len(),
        },
        vs_ceiling: ceiling.as_ref().map(|c| Ratios::of(&target_summary, c)),
        target: target_summary,
        server_memory,
        ceiling,
    })
}
