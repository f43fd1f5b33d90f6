//! The OpenAPI 3.1 document. Paths are collected from the handlers' `#[utoipa::path]`
//! attributes by `utoipa-axum` as routes are registered, so a route cannot exist without
//! its description; this module adds what is document-wide.

use utoipa::OpenApi;

use crate::problem::Problem;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Nexus API",
        description = "The REST API of Nexus, a knowledge hub and cohort learning platform \
for software engineers.\n\n\
Conventions: JSON with snake_case fields; RFC 3339 UTC timestamps; UUIDv7 ids. Every error \
is an RFC 9457 problem (`application/problem+json`) whose `type` names a stable kind \
documented at that URI; 422 answers list every invalid field in `errors`. Every answer \
carries `X-Request-Id` (an incoming one is kept when it is short and plain).",
        license(name = "MIT OR Apache-2.0"),
    ),
    tags(
        (name = "operations", description = "Liveness, readiness, metrics and error documentation."),
    ),
    components(schemas(Problem, nexus_core::FieldError)),
)]
pub struct ApiDoc;
