//! Serving with graceful shutdown and a header-read timeout.
//!
//! On the shutdown signal the listener stops accepting, idle keep-alive connections are
//! closed, and in-flight requests may finish, but only for the drain timeout: one hung
//! request or slow client must not hold the process open for ever.
//!
//! Connections are served by hyper-util directly rather than `axum::serve`, because only
//! hyper's own builder can bound how long a client takes to send its request headers; a
//! client dribbling one byte per second would otherwise hold a connection (and a task)
//! for as long as it likes.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// Serves `router` on `listener` until `shutdown` completes, then drains for at most
/// `drain`. Returns once every connection is closed or the drain time is up. A client
/// that has not sent a complete request head within `header_read_timeout` is
/// disconnected.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain: Duration,
    header_read_timeout: Duration,
) -> std::io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // HTTP/1 only: detecting a cleartext HTTP/2 preface reads bytes with no time limit,
    // which would give slow clients a way around the header timeout. Proxies in front of
    // Nexus speak HTTP/1.1 to it.
    builder = builder.http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            // Shutdown first: polling it is what installs the signal handlers, which must
            // happen before the first connection is served, not whenever the random
            // branch order gets round to it.
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Usually out of file descriptors: pause instead of spinning on it.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = router
            .clone()
            .map_request(move |mut req: axum::http::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                // Clients closing early and header timeouts land here; not our failure.
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!("shutdown requested; draining in-flight requests");
    tokio::select! {
        () = graceful.shutdown() => Ok(()),
        () = tokio::time::sleep(drain) => {
            tracing::warn!(drain_secs = drain.as_secs(), "drain timeout reached; closing remaining connections");
            Ok(())
        }
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM. `ctrl_c` alone would miss the SIGTERM that
/// orchestrators send.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("received SIGINT"),
        () = terminate => tracing::info!("received SIGTERM"),
    }
}
