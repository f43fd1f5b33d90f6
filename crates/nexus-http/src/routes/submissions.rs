//! Submissions, peer review assignments and reviews: hand-ins for a cohort's
//! deliverables, their revisions, and rubric-scored reviews.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use nexus_core::learning::{AssignmentStatus, SubmissionStatus};
use nexus_service::learning::{
    AssignmentView, RatingInput, ReviewInput, ReviewView, ReviewerQuality, RevisionView,
    SubmissionInput, SubmissionSummary, SubmissionView,
};
use nexus_service::page::Page;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Authed, Caller};
use crate::extract::{Bounded, JsonBody, QueryParams};
use crate::problem::{ApiResult, Problem};
use crate::routes::PageParams;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(submit))
        .routes(routes!(cohort_submissions))
        .routes(routes!(get_submission))
        .routes(routes!(submission_revisions))
        .routes(routes!(my_submissions))
        .routes(routes!(my_assignments))
        .routes(routes!(review_submission))
        .routes(routes!(rate_review))
        .routes(routes!(reviewer_quality))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CohortSubmissionParams {
    /// Only this deliverable's submissions (its slug).
    #[param(value_type = Option<String>, max_length = 80)]
    deliverable: Option<Bounded<80>>,
    /// Only submissions in this state.
    status: Option<SubmissionStatus>,
    /// Page size, 1-100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(schema_with = crate::openapi::id_cursor)]
    cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AssignmentParams {
    /// Only assignments in this state.
    status: Option<AssignmentStatus>,
    /// Page size, 1-100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(schema_with = crate::openapi::id_cursor)]
    cursor: Option<String>,
}

/// Hand in work for a deliverable (an active learner of the cohort).
///
/// The first hand-in is revision 1; each later one is the next revision of the same
/// submission. A hand-in after the deadline is flagged `late`; evidence kinds the
/// deliverable asks for but the hand-in lacks are accepted and listed in
/// `evidence_missing`. Peer reviewers are assigned at once, from the learners who handed
/// in the same deliverable.
#[utoipa::path(post, path = "/api/v1/cohorts/{slug}/deliverables/{deliverable}/submissions", tag = "submissions",
    security(("bearer" = [])), request_body = SubmissionInput,
    params(("slug" = String, Path, description = "The cohort's slug."),
           ("deliverable" = String, Path, description = "A deliverable of the cohort's course version.")),
    responses(
        (status = 201, description = "Handed in; `revision` says which.", body = SubmissionView,
            headers(("Location" = String, description = "The submission's URL."))),
        (status = 403, description = "Not an active learner of this cohort.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such cohort, or no such deliverable in its course.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another revision was handed in at the same moment.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn submit(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path((slug, deliverable)): Path<(String, String)>,
    JsonBody(input): JsonBody<SubmissionInput>,
) -> ApiResult<Response> {
    let view = s
        .services
        .learning()
        .submissions()
        .submit(&u, &slug, &deliverable, input)
        .await?;
    let href = format!("/api/v1/submissions/{}", view.id);
    let mut resp = (StatusCode::CREATED, Json(view)).into_response();
    if let Ok(l) = HeaderValue::from_str(&href) {
        resp.headers_mut().insert(header::LOCATION, l);
    }
    Ok(resp)
}

/// A cohort's submissions, newest first (its mentors and admins).
#[utoipa::path(get, path = "/api/v1/cohorts/{slug}/submissions", tag = "submissions", security(("bearer" = [])),
    params(("slug" = String, Path, description = "The cohort's slug."), CohortSubmissionParams),
    responses(
        (status = 200, description = "A page of submissions.", body = Page<SubmissionSummary>),
        (status = 403, description = "Not a mentor of this cohort, nor an admin.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such cohort.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn cohort_submissions(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(slug): Path<String>,
    QueryParams(p): QueryParams<CohortSubmissionParams>,
) -> ApiResult<Json<Page<SubmissionSummary>>> {
    let deliverable = p.deliverable.map(Bounded::into_inner);
    Ok(Json(
        s.services
            .learning()
            .submissions()
            .of_cohort(
                &u,
                &slug,
                deliverable.as_deref(),
                p.status,
                p.limit,
                p.cursor.as_deref(),
            )
            .await?,
    ))
}

/// One submission with its latest revision and the reviews the caller may read: for its
/// learner, the cohort's mentors, its assigned peer reviewers and admins. To anyone else,
/// anonymous callers included, it is 404, as a missing one.
#[utoipa::path(get, path = "/api/v1/submissions/{id}", tag = "submissions", security((), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "The submission's id.")),
    responses(
        (status = 200, description = "The submission.", body = SubmissionView),
        (status = 404, description = "No such submission visible to the caller.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_submission(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<SubmissionView>> {
    Ok(Json(
        s.services.learning().submissions().get(&who, id).await?,
    ))
}

/// A submission's revisions, newest first.
#[utoipa::path(get, path = "/api/v1/submissions/{id}/revisions", tag = "submissions", security((), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "The submission's id."), PageParams),
    responses(
        (status = 200, description = "A page of revisions.", body = Page<RevisionView>),
        (status = 404, description = "No such submission visible to the caller.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn submission_revisions(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<Uuid>,
    QueryParams(p): QueryParams<PageParams>,
) -> ApiResult<Json<Page<RevisionView>>> {
    Ok(Json(
        s.services
            .learning()
            .submissions()
            .revisions(&who, id, p.limit, p.cursor.as_deref())
            .await?,
    ))
}

/// The caller's own submissions, newest first.
#[utoipa::path(get, path = "/api/v1/me/submissions", tag = "submissions", security(("bearer" = [])),
    params(PageParams),
    responses((status = 200, description = "A page of submissions.", body = Page<SubmissionSummary>)))]
async fn my_submissions(
    State(s): State<AppState>,
    Authed(u): Authed,
    QueryParams(p): QueryParams<PageParams>,
) -> ApiResult<Json<Page<SubmissionSummary>>> {
    Ok(Json(
        s.services
            .learning()
            .submissions()
            .mine(&u, p.limit, p.cursor.as_deref())
            .await?,
    ))
}

/// The peer reviews the caller is assigned, newest first.
#[utoipa::path(get, path = "/api/v1/me/review-assignments", tag = "submissions", security(("bearer" = [])),
    params(AssignmentParams),
    responses((status = 200, description = "A page of assignments.", body = Page<AssignmentView>)))]
async fn my_assignments(
    State(s): State<AppState>,
    Authed(u): Authed,
    QueryParams(p): QueryParams<AssignmentParams>,
) -> ApiResult<Json<Page<AssignmentView>>> {
    Ok(Json(
        s.services
            .learning()
            .submissions()
            .my_assignments(&u, p.status, p.limit, p.cursor.as_deref())
            .await?,
    ))
}

/// Review a submission's latest revision against the deliverable's rubric (a cohort
/// mentor or an assigned peer).
///
/// Every criterion is scored once, inside its range; the total is the weighted score,
/// 0-100. A mentor's review makes the submission `reviewed`, or `revision_requested` with
/// `request_revision`; a peer's makes it `in_review`.
#[utoipa::path(post, path = "/api/v1/submissions/{id}/reviews", tag = "submissions", security(("bearer" = [])),
    request_body = ReviewInput,
    params(("id" = Uuid, Path, description = "The submission's id.")),
    responses(
        (status = 201, description = "The review.", body = ReviewView),
        (status = 403, description = "The caller's own submission.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such submission visible to the caller.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The caller already reviewed this revision.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn review_submission(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<ReviewInput>,
) -> ApiResult<Response> {
    let review = s
        .services
        .learning()
        .reviews()
        .review(&u, id, input)
        .await?;
    Ok((StatusCode::CREATED, Json(review)).into_response())
}

/// Rate a peer review of your submission helpful or not (again to change it).
#[utoipa::path(post, path = "/api/v1/reviews/{id}/rating", tag = "submissions", security(("bearer" = [])),
    request_body = RatingInput,
    params(("id" = Uuid, Path, description = "The review's id.")),
    responses(
        (status = 200, description = "The rated review.", body = ReviewView),
        (status = 403, description = "Not the submission's author.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such review visible to the caller.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A mentor's review, which is not rated.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn rate_review(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<RatingInput>,
) -> ApiResult<Json<ReviewView>> {
    Ok(Json(
        s.services
            .learning()
            .reviews()
            .rate(&u, id, input.helpful)
            .await?,
    ))
}

/// How well each peer of a cohort reviews (its mentors and admins): reviews written,
/// the helpful rate from the authors' ratings, and the mean absolute difference from the
/// mentor's total on the same revisions.
#[utoipa::path(get, path = "/api/v1/cohorts/{slug}/reviewers", tag = "submissions", security(("bearer" = [])),
    params(("slug" = String, Path, description = "The cohort's slug.")),
    responses(
        (status = 200, description = "One entry per peer reviewer, by handle.", body = Vec<ReviewerQuality>),
        (status = 403, description = "Not a mentor of this cohort, nor an admin.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such cohort.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn reviewer_quality(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(slug): Path<String>,
) -> ApiResult<Json<Vec<ReviewerQuality>>> {
    Ok(Json(
        s.services.learning().reviews().quality(&u, &slug).await?,
    ))
}
