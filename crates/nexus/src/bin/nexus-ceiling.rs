//! `nexus-ceiling`: the ceiling server of `nexus bench --ceiling` (see
//! `nexus::bench::ceiling`). It answers every request with one fixed JSON note of
//! `--body-bytes` bytes, through Nexus's own HTTP serving loop, with no database.
//!
//! It prints `listening on http://ADDR` as its first line of standard output, then serves
//! until SIGTERM or SIGINT. `nexus bench` starts it on a free loopback port and stops it
//! by PID.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use nexus::bench::ceiling::{READY_PREFIX, note_body, router};

#[derive(Parser)]
#[command(
    name = "nexus-ceiling",
    about = "Fixed-answer HTTP server: the ceiling of `nexus bench`"
)]
struct Args {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: SocketAddr,
    /// Size of every answer's body, in bytes.
    #[arg(long)]
    body_bytes: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("nexus-ceiling: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nexus-ceiling: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.bind).await?;
    println!("{READY_PREFIX}{}", listener.local_addr()?);
    // Same header-read timeout as Nexus's default; the drain is short because nothing
    // here is worth waiting for.
    nexus_http::server::serve(
        listener,
        router(note_body(args.body_bytes)),
        nexus_http::server::shutdown_signal(),
        Duration::from_secs(1),
        Duration::from_secs(10),
    )
    .await?;
    Ok(())
}
