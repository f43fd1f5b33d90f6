//! The ceiling: what this machine's HTTP stack can do with no application behind it.
//!
//! `nexus-ceiling` (src/bin) serves [`router`] through the same connection loop as Nexus
//! (`nexus_http::server::serve`: hyper, HTTP/1.1, keep-alive, the same timeouts) but with
//! no middleware, no database and no serialising: every request, whatever its method and
//! path, gets one fixed JSON note of a given size. A scenario run against it, on the same
//! connections, from the same harness, in the same run, gives the number each Nexus
//! figure is divided by.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// What `nexus-ceiling` prints on its first line of standard output.
pub const READY_PREFIX: &str = "listening on http://";
/// How long the ceiling may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A JSON object shaped like a note answer, exactly `size` bytes long (or the bare
/// skeleton, about 300 bytes, when `size` is smaller than that).
pub fn note_body(size: usize) -> Bytes {
    let fill = |n: usize| -> String {
        // Words and spaces: plain text that needs no JSON escaping.
        "ceiling ".chars().cycle().take(n).collect()
    };
    let render = |body_md: &str| {
        serde_json::json!({
            "id": "01900000-0000-7000-8000-000000000000",
            "slug": "ceiling",
            "title": "Ceiling",
            "kind": "concept",
            "status": "published",
            "summary": "",
            "body_md": body_md,
            "body_html": "",
            "topics": ["ceiling"],
            "tags": [],
            "author": {"handle": "ceiling", "display_name": "Ceiling"},
            "version": 1,
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "published_at": "2026-01-01T00:00:00Z",
        })
        .to_string()
    };
    let skeleton = render("").len();
    Bytes::from(render(&fill(size.saturating_sub(skeleton))))
}

/// Answers every request with `body`. The request body is read first, so a POST leaves
/// the connection clean for the next request, as a real handler would.
pub fn router(body: Bytes) -> Router {
    Router::new().fallback(answer).with_state(body)
}

async fn answer(State(body): State<Bytes>, _request: Bytes) -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], body)
}

/// A running `nexus-ceiling`, stopped by its PID when dropped or [`CeilingProcess::stop`]ped.
pub struct CeilingProcess {
    child: Child,
    pub addr: SocketAddr,
}

impl CeilingProcess {
    /// Starts `bin` on a free loopback port answering `body_bytes`-byte bodies, and waits
    /// until it listens.
    pub async fn start(bin: &Path, body_bytes: u64) -> anyhow::Result<CeilingProcess> {
        let mut child = Command::new(bin)
            .args([
                "--bind",
                "127.0.0.1:0",
                "--body-bytes",
                &body_bytes.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting the ceiling server {}", bin.display()))?;
        let stdout = child.stdout.take().context("the ceiling's stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(START_TIMEOUT, lines.next_line())
            .await
            .context("the ceiling server did not start listening in time")??
            .context("the ceiling server exited before listening")?;
        let addr = line
            .strip_prefix(READY_PREFIX)
            .with_context(|| format!("unexpected first line from the ceiling: {line:?}"))?
            .trim()
            .parse()
            .with_context(|| format!("unexpected address from the ceiling: {line:?}"))?;
        Ok(CeilingProcess { child, addr })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Kills the process by its PID and reaps it.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.child.start_kill()?;
        self.child.wait().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_body_is_a_note_of_exactly_the_asked_size() {
        for size in [400, 1_000, 2_345, 10_000] {
            let body = note_body(size);
            assert_eq!(body.len(), size);
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["slug"], "ceiling");
            assert!(v["body_md"].is_string());
        }
        // Smaller than the skeleton: the skeleton, still valid JSON.
        let tiny = note_body(3);
        assert!(tiny.len() > 3);
        serde_json::from_slice::<serde_json::Value>(&tiny).unwrap();
    }
}
