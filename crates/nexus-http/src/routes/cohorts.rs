//! `/api/v1/cohorts*`: cohorts of a course version, their calendar and their members.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use nexus_core::learning::{CohortRole, EnrolmentStatus};
use nexus_service::learning::{
    CohortSchedule, CohortView, Enrolled, EnrolmentView, Membership, NewCohortInput, ScheduleItem,
};
use nexus_service::page::Page;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Authed;
use crate::extract::{Bounded, JsonBody, QueryParams};
use crate::problem::{ApiResult, Problem};
use crate::routes::PageParams;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_cohorts, create_cohort))
        .routes(routes!(get_cohort))
        .routes(routes!(cohort_schedule))
        .routes(routes!(set_deadline, clear_deadline))
        .routes(routes!(list_enrolments, enrol))
        .routes(routes!(withdraw))
        .routes(routes!(join_cohort))
        .routes(routes!(my_cohorts))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CohortListParams {
    /// Only this course's cohorts (its slug).
    #[param(value_type = Option<String>, max_length = 80)]
    course: Option<Bounded<80>>,
    /// Page size, 1-100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(schema_with = crate::openapi::id_cursor)]
    cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EnrolmentListParams {
    /// Only members with this role.
    role: Option<CohortRole>,
    /// Only members in this state.
    status: Option<EnrolmentStatus>,
    /// Page size, 1-100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(schema_with = crate::openapi::id_cursor)]
    cursor: Option<String>,
}

/// A moved deadline.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeadlineInput {
    /// The new deadline, an RFC 3339 instant.
    #[schema(example = "2027-03-24T22:59:00Z")]
    due_at: DateTime<Utc>,
}

/// Whom an admin enrols.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolInput {
    #[schema(example = "ada", max_length = 40)]
    handle: String,
    role: CohortRole,
}

fn created(view: impl serde::Serialize, href: &str) -> Response {
    let mut resp = (StatusCode::CREATED, Json(view)).into_response();
    if let Ok(l) = HeaderValue::from_str(href) {
        resp.headers_mut().insert(header::LOCATION, l);
    }
    resp
}

/// List cohorts, newest first.
#[utoipa::path(get, path = "/api/v1/cohorts", tag = "cohorts", params(CohortListParams),
    responses((status = 200, description = "A page of cohorts.", body = Page<CohortView>)))]
async fn list_cohorts(
    State(s): State<AppState>,
    QueryParams(p): QueryParams<CohortListParams>,
) -> ApiResult<Json<Page<CohortView>>> {
    let course = p.course.map(Bounded::into_inner);
    Ok(Json(
        s.services
            .learning()
            .cohorts()
            .list(course.as_deref(), p.limit, p.cursor.as_deref())
            .await?,
    ))
}

/// Create a cohort of a course version (admins).
///
/// The cohort keeps the course version it is made on. Deadlines follow from `starts_on`
/// and `timezone`: each deliverable is due at 23:59 local time on the last day of its
/// week.
#[utoipa::path(post, path = "/api/v1/cohorts", tag = "cohorts", security(("bearer" = [])), request_body = NewCohortInput,
    responses(
        (status = 201, description = "Created.", body = CohortView,
            headers(("Location" = String, description = "The cohort's URL."))),
        (status = 409, description = "A cohort with this slug exists.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_cohort(
    State(s): State<AppState>,
    Authed(u): Authed,
    JsonBody(input): JsonBody<NewCohortInput>,
) -> ApiResult<Response> {
    let cohort = s.services.learning().cohorts().create(&u, input).await?;
    let href = format!("/api/v1/cohorts/{}", cohort.slug);
    Ok(created(cohort, &href))
}

/// One cohort.
#[utoipa::path(get, path = "/api/v1/cohorts/{slug}", tag = "cohorts",
    params(("slug" = String, Path, description = "The cohort's slug.")),
    responses(
        (status = 200, description = "The cohort.", body = CohortView),
        (status = 404, description = "No such cohort.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_cohort(
    State(s): State<AppState>,
    Path(slug): Path<String>,
) -> ApiResult<Json<CohortView>> {
    Ok(Json(s.services.learning().cohorts().get(&slug).await?))
}

/// A cohort's calendar: every deliverable of its course version with its deadline, in
/// UTC and in the cohort's time zone, in due order.
#[utoipa::path(get, path = "/api/v1/cohorts/{slug}/schedule", tag = "cohorts",
    params(("slug" = String, Path, description = "The cohort's slug.")),
    responses(
        (status = 200, description = "The calendar.", body = CohortSchedule),
        (status = 404, description = "No such cohort.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn cohort_schedule(
    State(s): State<AppState>,
    Path(slug): Path<String>,
) -> ApiResult<Json<CohortSchedule>> {
    Ok(Json(s.services.learning().cohorts().schedule(&slug).await?))
}

/// Move one deliverable's deadline (admins).
#[utoipa::path(put, path = "/api/v1/cohorts/{slug}/deadlines/{deliverable}", tag = "cohorts", security(("bearer" = [])),
    request_body = DeadlineInput,
    params(("slug" = String, Path, description = "The cohort's slug."),
           ("deliverable" = String, Path, description = "A deliverable of the cohort's course version.")),
    responses(
        (status = 200, description = "The deliverable on the calendar, moved.", body = ScheduleItem),
        (status = 404, description = "No such cohort, or no such deliverable in its course.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn set_deadline(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path((slug, deliverable)): Path<(String, String)>,
    JsonBody(input): JsonBody<DeadlineInput>,
) -> ApiResult<Json<ScheduleItem>> {
    Ok(Json(
        s.services
            .learning()
            .cohorts()
            .set_deadline(&u, &slug, &deliverable, input.due_at)
            .await?,
    ))
}

/// Put a moved deadline back to the one the calendar computes (admins).
#[utoipa::path(delete, path = "/api/v1/cohorts/{slug}/deadlines/{deliverable}", tag = "cohorts", security(("bearer" = [])),
    params(("slug" = String, Path, description = "The cohort's slug."),
           ("deliverable" = String, Path, description = "A deliverable of the cohort's course version.")),
    responses(
        (status = 200, description = "The deliverable on the calendar, at its computed deadline.", body = ScheduleItem),
        (status = 404, description = "No such cohort, or no such deliverable in its course.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn clear_deadline(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path((slug, deliverable)): Path<(String, String)>,
) -> ApiResult<Json<ScheduleItem>> {
    Ok(Json(
        s.services
            .learning()
            .cohorts()
            .clear_deadline(&u, &slug, &deliverable)
            .await?,
    ))
}

/// A cohort's members (admins and the cohort's mentors), in the order they joined.
#[utoipa::path(get, path = "/api/v1/cohorts/{slug}/enrolments", tag = "cohorts", security(("bearer" = [])),
    params(("slug" = String, Path, description = "The cohort's slug."), EnrolmentListParams),
    responses(
        (status = 200, description = "A page of members.", body = Page<EnrolmentView>),
        (status = 403, description = "Not a mentor of this cohort, nor an admin.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such cohort.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_enrolments(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(slug): Path<String>,
    QueryParams(p): QueryParams<EnrolmentListParams>,
) -> ApiResult<Json<Page<EnrolmentView>>> {
    Ok(Json(
        s.services
            .learning()
            .cohorts()
            .enrolments(&u, &slug, p.role, p.status, p.limit, p.cursor.as_deref())
            .await?,
    ))
}

fn enrolled(done: Enrolled) -> Response {
    let status = if done.changed {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, Json(done.enrolment)).into_response()
}

/// Enrol a user as a learner or a mentor (admins). 201 for a new member (or a withdrawn
/// one back), 200 when they already are one with that role.
#[utoipa::path(post, path = "/api/v1/cohorts/{slug}/enrolments", tag = "cohorts", security(("bearer" = [])),
    request_body = EnrolInput,
    params(("slug" = String, Path, description = "The cohort's slug.")),
    responses(
        (status = 201, description = "Enrolled.", body = EnrolmentView),
        (status = 200, description = "Already a member with this role.", body = EnrolmentView),
        (status = 404, description = "No such cohort.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already a member with the other role.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn enrol(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(slug): Path<String>,
    JsonBody(input): JsonBody<EnrolInput>,
) -> ApiResult<Response> {
    let done = s
        .services
        .learning()
        .cohorts()
        .enrol(&u, &slug, &input.handle, input.role)
        .await?;
    Ok(enrolled(done))
}

/// Withdraw a member: yourself, or anyone (admins). Their submissions and reviews stay.
#[utoipa::path(delete, path = "/api/v1/cohorts/{slug}/enrolments/{handle}", tag = "cohorts", security(("bearer" = [])),
    params(("slug" = String, Path, description = "The cohort's slug."),
           ("handle" = String, Path, description = "The member's handle.")),
    responses(
        (status = 204, description = "Withdrawn."),
        (status = 404, description = "No such cohort, or not an active member of it.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn withdraw(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path((slug, handle)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    s.services
        .learning()
        .cohorts()
        .withdraw(&u, &slug, &handle)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Join an open cohort as a learner.
#[utoipa::path(post, path = "/api/v1/cohorts/{slug}/join", tag = "cohorts", security(("bearer" = [])),
    params(("slug" = String, Path, description = "The cohort's slug.")),
    responses(
        (status = 201, description = "Joined.", body = EnrolmentView),
        (status = 403, description = "The cohort is by invitation only.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such cohort.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already a member.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn join_cohort(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(slug): Path<String>,
) -> ApiResult<Response> {
    let done = s.services.learning().cohorts().join(&u, &slug).await?;
    Ok(enrolled(done))
}

/// The cohorts you are (or were) a member of, newest first, with your role and status.
#[utoipa::path(get, path = "/api/v1/me/cohorts", tag = "cohorts", security(("bearer" = [])),
    params(PageParams),
    responses((status = 200, description = "A page of memberships.", body = Page<Membership>)))]
async fn my_cohorts(
    State(s): State<AppState>,
    Authed(u): Authed,
    QueryParams(p): QueryParams<PageParams>,
) -> ApiResult<Json<Page<Membership>>> {
    Ok(Json(
        s.services
            .learning()
            .cohorts()
            .mine(&u, p.limit, p.cursor.as_deref())
            .await?,
    ))
}
