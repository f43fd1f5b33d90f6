//! The middleware stack every route runs behind, assembled in one place.
//!
//! Outermost first: request id → trace span → metrics → compression → problem finaliser →
//! security headers → CORS → panic catcher → request timeout → body limit → handler. The
//! body limit spares the operations that stream their body and bound it themselves.
//! The problem finaliser sits outside the panic catcher and the timeout so their answers
//! get the problem shape too, and inside the request id so problems can quote it.
//! Compression sits outside the finaliser, so that it encodes the final body: a problem
//! written over an already compressed answer would keep `Content-Encoding: gzip` on plain
//! JSON.
//!
//! Inside all of these, on matched routes only, runs [`crate::safety::guard`] (client
//! address, principal, rate limit, idempotency key); it needs the application state and
//! the route template, so `assemble` adds it as a route layer.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header as h};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use nexus_core::AppError;
use nexus_core::config::HttpSettings;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::problem::{self, ApiError};
use crate::request_id::{self, RequestId};
use crate::telemetry;

/// Wraps `router` in the full stack.
pub fn apply<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    http: &HttpSettings,
) -> Router<S> {
    let timeout = Duration::from_secs(http.request_timeout_secs);
    let body_limit = http.body_limit_bytes;
    let stack = ServiceBuilder::new()
        .layer(middleware::from_fn(request_id::assign))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(make_span)
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(middleware::from_fn(telemetry::track_metrics))
        .layer(CompressionLayer::new())
        .layer(middleware::from_fn(problem::finalize))
        .layer(header(h::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header(h::X_FRAME_OPTIONS, "DENY"))
        .layer(header(h::REFERRER_POLICY, "no-referrer"))
        .layer(header(
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ))
        .layer(header(h::CONTENT_SECURITY_POLICY, CSP))
        .option_layer(cors(&http.cors_allowed_origins))
        .layer(CatchPanicLayer::custom(problem::panic_response))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            request_timeout(req, next, timeout)
        }))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            limit_body(req, next, body_limit)
        }));
    // axum's own 2 MB default would otherwise apply on top of ours to body extractors.
    router.layer(stack).layer(DefaultBodyLimit::disable())
}

/// The span of one request. Only the method, route template, path and request id go in:
/// never headers (credentials, cookies) and never the query string (it may carry tokens).
fn make_span(req: &Request) -> tracing::Span {
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.as_str())
        .unwrap_or("-");
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
        .unwrap_or("unmatched");
    tracing::info_span!(
        "request",
        request_id,
        method = %req.method(),
        route,
        path = %req.uri().path(),
    )
}

/// `http.body_limit_bytes` on every body but those of the operations that stream theirs
/// and bound it themselves ([`crate::routes::streams_body`]): a declared length above it
/// is refused before anything is read, and a body that runs past it fails its reader,
/// which answers 413.
async fn limit_body(req: Request, next: Next, limit: usize) -> Response {
    if crate::routes::streams_body(&req) {
        return next.run(req).await;
    }
    let declared = req
        .headers()
        .get(h::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    next.run(req.map(|body| Body::new(http_body_util::Limited::new(body, limit))))
        .await
}

async fn request_timeout(req: Request, next: Next, limit: Duration) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError(AppError::Timeout).into_response(),
    }
}

fn header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

/// Everything Nexus serves (Swagger UI included) comes from its own origin. Swagger UI sets
/// inline styles and uses data: images, hence those two allowances.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
                   script-src 'self'; object-src 'none'; base-uri 'none'; \
                   frame-ancestors 'none'; form-action 'self'";

/// CORS by allowlist; no layer at all (same-origin only) when the list is empty.
fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                h::AUTHORIZATION,
                h::CONTENT_TYPE,
                h::IF_MATCH,
                h::IF_NONE_MATCH,
                HeaderName::from_static("idempotency-key"),
                HeaderName::from_static("x-request-id"),
            ])
            .expose_headers([
                h::ETAG,
                h::LOCATION,
                h::RETRY_AFTER,
                HeaderName::from_static("ratelimit"),
                HeaderName::from_static("ratelimit-policy"),
                HeaderName::from_static("x-request-id"),
            ])
            .max_age(Duration::from_secs(600)),
    )
}
