//! Operational endpoints: liveness, readiness and Prometheus metrics.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;

/// Liveness.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the process can answer at all.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// One dependency's state in a readiness answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Check {
    /// `ok`, `degraded` (working without an optional part) or `failing`.
    #[schema(example = "ok")]
    pub status: &'static str,
    /// What is behind it (`sqlite`, `postgres`, `in-process`, `redis`).
    #[schema(example = "sqlite")]
    pub backend: &'static str,
    /// Why it is failing; absent when `ok`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Readiness: whether this instance can serve traffic now.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `unavailable`.
    #[schema(example = "ready")]
    pub status: &'static str,
    pub checks: ReadinessChecks,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadinessChecks {
    pub database: Check,
    /// `in-process` alone, or `redis` as the shared level. A failing Redis shows as
    /// `degraded` without making the instance unready: answers then come from the
    /// database.
    pub cache: Check,
    /// The job queue: `database` (the table queue, as healthy as the database) or
    /// `rabbitmq`, `degraded` while the broker is away: jobs are kept in the database's
    /// ledger and published when it returns, so the instance stays ready.
    pub queue: Check,
}

/// Is the process alive?
///
/// Answers 200 whenever the process can serve HTTP at all, without touching any
/// dependency, so that an orchestrator never restarts an instance for a database outage.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is alive.", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Can this instance serve traffic?
///
/// Checks that the database answers and carries the Nexus schema. A load balancer should
/// send traffic only to instances answering 200.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Every dependency answers.", body = Readiness),
        (status = 503, description = "A dependency is failing; `checks` says which.", body = Readiness),
    ))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let backend = state.db.backend().name();
    let database = match state.db.ping().await {
        Ok(()) => Check {
            status: "ok",
            backend,
            error: None,
        },
        Err(err) => {
            tracing::warn!(error = ?err, "readiness: database check failed");
            Check {
                status: "failing",
                backend,
                error: Some(err.public_detail()),
            }
        }
    };
    let cache = match state.services.cache.shared_up().await {
        None => Check {
            status: "ok",
            backend: "in-process",
            error: None,
        },
        Some(true) => Check {
            status: "ok",
            backend: "redis",
            error: None,
        },
        Some(false) => Check {
            status: "degraded",
            backend: "redis",
            error: Some("Redis is not answering; reads are served from the database".into()),
        },
    };
    let queue = match &state.services.amqp {
        None => Check {
            status: database.status,
            backend: "database",
            error: None,
        },
        Some(link) => {
            match tokio::time::timeout(std::time::Duration::from_secs(2), link.probe()).await {
                Ok(Ok(_)) => Check {
                    status: "ok",
                    backend: "rabbitmq",
                    error: None,
                },
                outcome => {
                    let why = match outcome {
                        Ok(Err(e)) => e.to_string(),
                        _ => "no answer within 2 s".into(),
                    };
                    tracing::warn!(error = %why, "readiness: RabbitMQ check failed");
                    Check {
                        status: "degraded",
                        backend: "rabbitmq",
                        error: Some(
                            "RabbitMQ is not answering; jobs wait in the database until it returns"
                                .into(),
                        ),
                    }
                }
            }
        }
    };
    let ready = database.status == "ok";
    let body = Readiness {
        status: if ready { "ready" } else { "unavailable" },
        checks: ReadinessChecks {
            database,
            cache,
            queue,
        },
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// Prometheus metrics.
///
/// Text exposition format: `http_requests_total` (by method, route template and status),
/// `http_request_duration_seconds` (histogram), `http_requests_in_flight`, and database
/// pool gauges `db_pool_connections` (by state) and `db_pool_max_connections`.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Metrics in Prometheus text format.",
        content_type = "text/plain; version=0.0.4", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let stats = state.db.stats();
    let backend = state.db.backend().name();
    metrics::gauge!("db_pool_max_connections", "backend" => backend).set(f64::from(stats.max));
    metrics::gauge!("db_pool_connections", "backend" => backend, "state" => "idle")
        .set(f64::from(stats.idle));
    metrics::gauge!("db_pool_connections", "backend" => backend, "state" => "in_use")
        .set(f64::from(stats.open.saturating_sub(stats.idle)));
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}
