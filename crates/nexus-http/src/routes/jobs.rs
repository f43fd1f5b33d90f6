//! `/api/v1/admin/jobs*`: the background job ledger, for admins.

use axum::Json;
use axum::extract::{Path, State};
use nexus_service::jobs::admin::{JobList, JobQuery, JobView};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Authed;
use crate::extract::QueryParams;
use crate::problem::ApiResult;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_jobs))
        .routes(routes!(get_job))
        .routes(routes!(retry_job))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct JobsParams {
    /// Only jobs in this state.
    #[param(schema_with = crate::openapi::job_state, example = "dead")]
    state: Option<String>,
    /// Only jobs of this kind (the kinds this server registers).
    #[param(example = "email.send")]
    kind: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(schema_with = crate::openapi::id_cursor)]
    cursor: Option<String>,
}

/// List background jobs, newest first, filtered by state and kind, with the count of
/// jobs of every kind in every state (admins only).
#[utoipa::path(get, path = "/api/v1/admin/jobs", tag = "admin", security(("bearer" = [])), params(JobsParams),
    responses((status = 200, description = "A page of jobs and the counts.", body = JobList)))]
async fn list_jobs(
    State(s): State<AppState>,
    Authed(user): Authed,
    QueryParams(p): QueryParams<JobsParams>,
) -> ApiResult<Json<JobList>> {
    let q = JobQuery {
        state: p.state,
        kind: p.kind,
        limit: p.limit,
        cursor: p.cursor,
    };
    Ok(Json(s.services.jobs().list(&user, q).await?))
}

/// One background job (admins only).
#[utoipa::path(get, path = "/api/v1/admin/jobs/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The job's id.")),
    responses(
        (status = 200, description = "The job.", body = JobView),
        (status = 404, description = "No such job.", body = crate::Problem, content_type = "application/problem+json"),
    ))]
async fn get_job(
    State(s): State<AppState>,
    Authed(user): Authed,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<JobView>> {
    Ok(Json(s.services.jobs().get(&user, id).await?))
}

/// Retry a dead job: it gets a fresh set of attempts and is due at once (admins only).
#[utoipa::path(post, path = "/api/v1/admin/jobs/{id}/retry", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The job's id.")),
    responses(
        (status = 200, description = "The job, queued again.", body = JobView),
        (status = 404, description = "No such job.", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The job is not dead.", body = crate::Problem, content_type = "application/problem+json"),
    ))]
async fn retry_job(
    State(s): State<AppState>,
    Authed(user): Authed,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<JobView>> {
    Ok(Json(s.services.jobs().retry(&user, id).await?))
}
