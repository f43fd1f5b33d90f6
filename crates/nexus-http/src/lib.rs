//! Nexus over HTTP.
//!
//! # Layout
//! - [`build_router`]: the whole application as an axum `Router`, used by `nexus serve` and
//!   by the tests alike. [`assemble`] is the same with extra routes, for tests that need a
//!   handler that panics or sleeps behind the real middleware.
//! - [`middleware`]: the stack every route runs behind (request id, tracing, metrics,
//!   problems, security headers, CORS, compression, panics, timeout, body limit).
//! - [`problem`]: RFC 9457 answers, the one mapping from [`nexus_core::AppError`].
//! - [`extract`]: body extractors whose rejections are problems.
//! - [`safety`]: principal resolution, rate limits and idempotency keys on every route.
//! - [`health`], [`openapi`], [`telemetry`], [`server`]: operations.
//!
//! Handlers are thin: extract, call the service layer, shape the answer.

pub mod auth;
pub mod conditional;
pub mod csv_body;
pub mod disposition;
pub mod extract;
pub mod health;
pub mod middleware;
pub mod openapi;
pub mod problem;
pub mod request_id;
pub mod routes;
pub mod safety;
pub mod server;
pub mod telemetry;

use std::sync::Arc;

use axum::Router;
use axum::http::Uri;
use metrics_exporter_prometheus::PrometheusHandle;
use nexus_core::AppError;
use nexus_core::config::Settings;
use nexus_db::Db;
use nexus_service::Services;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

pub use problem::{ApiError, ApiResult, Problem};

/// What every handler can reach. One pointer to clone: axum clones the state for every
/// extractor and middleware of every request, and cloning the ~20 `Arc`s inside one by
/// one showed in the read-hot profile (`AppState::clone`, 2.5% of CPU).
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

pub struct AppStateInner {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub services: Services,
    pub metrics: PrometheusHandle,
    /// `http.trusted_proxies`, parsed once.
    pub trusted_proxies: Arc<[ipnet::IpNet]>,
}

impl std::ops::Deref for AppState {
    type Target = AppStateInner;

    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

impl AppState {
    pub fn new(db: Db, settings: Settings) -> anyhow::Result<Self> {
        AppState::with(db, settings, &[])
    }

    /// As [`AppState::new`], with registrations beyond the domains' own (test-only jobs).
    pub fn with(
        db: Db,
        settings: Settings,
        extra: &[nexus_service::Registration],
    ) -> anyhow::Result<Self> {
        AppState::with_clock(db, settings, extra, nexus_service::clock::Clock::system())
    }

    /// As [`AppState::with`], on `clock` (a test's manual clock).
    pub fn with_clock(
        db: Db,
        settings: Settings,
        extra: &[nexus_service::Registration],
        clock: nexus_service::clock::Clock,
    ) -> anyhow::Result<Self> {
        let settings = Arc::new(settings);
        Ok(AppState(Arc::new(AppStateInner {
            services: Services::with_clock(db.clone(), settings.clone(), extra, clock)?,
            trusted_proxies: settings.http.trusted_proxy_nets().into(),
            db,
            settings,
            metrics: telemetry::metrics_handle(),
        })))
    }
}

/// Every route of the service, each registered with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::metrics))
        .routes(routes!(problem::describe))
        .merge(routes::identity::router())
        .merge(routes::jobs::router())
        .merge(routes::hub::router())
        .merge(routes::discussion::router())
        .merge(routes::learning::router())
        .merge(routes::cohorts::router())
        .merge(routes::submissions::router())
        .merge(routes::progress::router())
        .merge(routes::portfolios::router())
        .merge(routes::collaboration::router())
        .merge(routes::uploads::router())
        .merge(routes::webhooks::router())
}

/// The OpenAPI document of [`routes`].
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut api = openapi::finish(routes().split_for_parts().1);
    openapi::declare_registered(&mut api, &nexus_service::domain_registry());
    api
}

/// The application.
pub fn build_router(state: AppState) -> Router {
    assemble(routes(), state)
}

/// `routes` behind the full middleware stack, with Swagger UI and the problem fallback.
pub fn assemble(routes: OpenApiRouter<AppState>, state: AppState) -> Router {
    let (router, api) = routes.split_for_parts();
    let mut api = openapi::finish(api);
    openapi::declare_registered(&mut api, &state.services.registry);
    let guard = safety::Guard {
        state: state.clone(),
        secured: Arc::new(safety::Secured::of(&api)),
    };
    let router = router
        .route_layer(axum::middleware::from_fn_with_state(guard, safety::guard))
        .merge(
            SwaggerUi::new("/docs")
                .url("/api/openapi.json", api)
                // The default validator badge loads an image from validator.swagger.io,
                // sending it the document's URL; Nexus serves nothing from elsewhere.
                .config(utoipa_swagger_ui::Config::default().validator_url("none")),
        )
        .fallback(not_found);
    middleware::apply(router, &state.settings.http).with_state(state)
}

/// An unknown path: a problem under `/api/`, a bare 404 elsewhere, which the finaliser
/// turns into an error page.
async fn not_found(uri: Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    if problem::is_api(uri.path()) {
        ApiError(AppError::not_found(format!(
            "no resource at {}",
            uri.path()
        )))
        .into_response()
    } else {
        axum::http::StatusCode::NOT_FOUND.into_response()
    }
}
