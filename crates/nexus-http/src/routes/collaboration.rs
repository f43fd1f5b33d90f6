//! Collaborator matching: profiles, ranked matches, collaboration requests and blocks.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use nexus_core::learning::CollaborationStatus;
use nexus_service::learning::{
    CollaborationDirection, CollaborationInput, CollaborationView, MatchView, ProfileInput,
    ProfileView,
};
use nexus_service::page::Page;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Authed;
use crate::extract::{JsonBody, QueryParams};
use crate::problem::{ApiResult, Problem};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(my_profile, put_profile))
        .routes(routes!(matches))
        .routes(routes!(request_collaboration))
        .routes(routes!(get_collaboration))
        .routes(routes!(accept_collaboration))
        .routes(routes!(decline_collaboration))
        .routes(routes!(my_collaborations))
        .routes(routes!(block, unblock))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MatchParams {
    /// How many matches, 1-100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CollaborationListParams {
    /// Only requests you received (`incoming`) or sent (`outgoing`); both by default.
    // Inline: no body names this enum, so no component would define it.
    #[param(inline)]
    direction: Option<CollaborationDirection>,
    /// Only requests in this state.
    status: Option<CollaborationStatus>,
    /// Page size, 1-100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(schema_with = crate::openapi::id_cursor)]
    cursor: Option<String>,
}

/// Your collaboration profile.
#[utoipa::path(get, path = "/api/v1/me/collaboration-profile", tag = "collaboration", security(("bearer" = [])),
    responses(
        (status = 200, description = "Your profile.", body = ProfileView),
        (status = 404, description = "You have not written a profile yet.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn my_profile(State(s): State<AppState>, Authed(u): Authed) -> ApiResult<Json<ProfileView>> {
    Ok(Json(
        s.services.learning().collaboration().profile(&u).await?,
    ))
}

/// Write your collaboration profile: your track, stack, topics (hub topic slugs), weekly
/// hours, time zone, what you look for, and whether you are `open` to matches and
/// requests.
#[utoipa::path(put, path = "/api/v1/me/collaboration-profile", tag = "collaboration", security(("bearer" = [])),
    request_body = ProfileInput,
    responses(
        (status = 200, description = "Your profile as written.", body = ProfileView),
    ))]
async fn put_profile(
    State(s): State<AppState>,
    Authed(u): Authed,
    JsonBody(input): JsonBody<ProfileInput>,
) -> ApiResult<Json<ProfileView>> {
    Ok(Json(
        s.services
            .learning()
            .collaboration()
            .put_profile(&u, input)
            .await?,
    ))
}

/// Open profiles ranked for you, best first, ties by handle; never yours, never anyone
/// you blocked or who blocked you. Needs a profile of your own (409 without).
///
/// `score` (0-100) is the sum of five parts, each listed in `reasons` with its points
/// when worth anything (see `docs/learning/matching.md`):
/// - `track`, 0-40: backend ↔ frontend and backend ↔ mobile 40 (one builds the API, the
///   other its client); fullstack with backend, frontend or mobile 20; devops with
///   backend or fullstack 20; devops with frontend or mobile, and frontend ↔ mobile 10;
///   the same track 0.
/// - `cohort`, 20: both are active learners of the same cohort, so in the same week of
///   it (the week is named).
/// - `topics`, 0-20: 5 per shared topic, counting at most 4; each side's topics are
///   those of the profile and of the learner's published notes.
/// - `timezone`, 0-10: the hours both are inside their local working window, 09:00-21:00,
///   on the current date (each in their own zone, daylight saving included), ÷ 12 × 10.
/// - `availability`, 0-10: the smaller of the two `weekly_hours`, at most 10.
///
/// Each part and the sum are rounded to one decimal.
#[utoipa::path(get, path = "/api/v1/collaborators/matches", tag = "collaboration", security(("bearer" = [])),
    params(MatchParams),
    responses(
        (status = 200, description = "Your matches, best first.", body = Vec<MatchView>),
        (status = 409, description = "You have no collaboration profile yet.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn matches(
    State(s): State<AppState>,
    Authed(u): Authed,
    QueryParams(p): QueryParams<MatchParams>,
) -> ApiResult<Json<Vec<MatchView>>> {
    Ok(Json(
        s.services
            .learning()
            .collaboration()
            .matches(&u, p.limit)
            .await?,
    ))
}

/// Ask a learner whose profile is open to build a project with you; the request is
/// `pending` until they accept or decline it.
///
/// Refused: an unknown partner or yourself (422), a partner you blocked or who blocked
/// you (403), a partner not open to requests, or a request between you two already
/// pending, either way (409). Requests have their own rate limit
/// (`rate_limit.collaboration`, 10 a day by default): past it, 429 with `Retry-After`.
#[utoipa::path(post, path = "/api/v1/collaborations", tag = "collaboration", security(("bearer" = [])),
    request_body = CollaborationInput,
    responses(
        (status = 201, description = "The pending request.", body = CollaborationView,
            headers(("Location" = String, description = "The request's URL."))),
        (status = 403, description = "One of you blocked the other.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The partner is not open to requests, or a request between you is pending.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn request_collaboration(
    State(s): State<AppState>,
    Authed(u): Authed,
    JsonBody(input): JsonBody<CollaborationInput>,
) -> ApiResult<Response> {
    let view = s
        .services
        .learning()
        .collaboration()
        .request(&u, input)
        .await?;
    let href = format!("/api/v1/collaborations/{}", view.id);
    let mut resp = (StatusCode::CREATED, Json(view)).into_response();
    if let Ok(l) = HeaderValue::from_str(&href) {
        resp.headers_mut().insert(header::LOCATION, l);
    }
    Ok(resp)
}

/// A collaboration request, to its requester and its partner; 404 to anyone else.
#[utoipa::path(get, path = "/api/v1/collaborations/{id}", tag = "collaboration", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The request's id.")),
    responses(
        (status = 200, description = "The request.", body = CollaborationView),
        (status = 404, description = "No such request of yours.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_collaboration(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<CollaborationView>> {
    Ok(Json(
        s.services.learning().collaboration().get(&u, id).await?,
    ))
}

/// Accept a pending request you received; the collaboration then shows on both
/// portfolios.
#[utoipa::path(post, path = "/api/v1/collaborations/{id}/accept", tag = "collaboration", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The request's id.")),
    responses(
        (status = 200, description = "The accepted request.", body = CollaborationView),
        (status = 403, description = "You sent this request; only its partner answers it.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request of yours.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The request is no longer pending.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn accept_collaboration(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<CollaborationView>> {
    Ok(Json(
        s.services.learning().collaboration().accept(&u, id).await?,
    ))
}

/// Decline a pending request you received.
#[utoipa::path(post, path = "/api/v1/collaborations/{id}/decline", tag = "collaboration", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The request's id.")),
    responses(
        (status = 200, description = "The declined request.", body = CollaborationView),
        (status = 403, description = "You sent this request; only its partner answers it.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request of yours.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The request is no longer pending.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn decline_collaboration(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<CollaborationView>> {
    Ok(Json(
        s.services
            .learning()
            .collaboration()
            .decline(&u, id)
            .await?,
    ))
}

/// Your collaboration requests, newest first: received, sent or both, by status.
#[utoipa::path(get, path = "/api/v1/me/collaborations", tag = "collaboration", security(("bearer" = [])),
    params(CollaborationListParams),
    responses((status = 200, description = "A page of requests.", body = Page<CollaborationView>)))]
async fn my_collaborations(
    State(s): State<AppState>,
    Authed(u): Authed,
    QueryParams(p): QueryParams<CollaborationListParams>,
) -> ApiResult<Json<Page<CollaborationView>>> {
    Ok(Json(
        s.services
            .learning()
            .collaboration()
            .mine(&u, p.direction, p.status, p.limit, p.cursor.as_deref())
            .await?,
    ))
}

/// Block a user: no collaboration request either way, neither appears in the other's
/// matches, pending requests between you are cancelled, and an accepted collaboration
/// leaves both portfolios. Blocking again changes nothing.
#[utoipa::path(put, path = "/api/v1/me/blocks/{handle}", tag = "collaboration", security(("bearer" = [])),
    params(("handle" = String, Path, description = "The user's handle.", example = "bea")),
    responses(
        (status = 204, description = "Blocked."),
        (status = 404, description = "No such user.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The handle is your own.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn block(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(handle): Path<String>,
) -> ApiResult<StatusCode> {
    s.services
        .learning()
        .collaboration()
        .block(&u, &handle)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lift your block of a user (a block they set stays).
#[utoipa::path(delete, path = "/api/v1/me/blocks/{handle}", tag = "collaboration", security(("bearer" = [])),
    params(("handle" = String, Path, description = "The user's handle.", example = "bea")),
    responses(
        (status = 204, description = "No longer blocked."),
        (status = 404, description = "No such user, or not blocked by you.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn unblock(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(handle): Path<String>,
) -> ApiResult<StatusCode> {
    s.services
        .learning()
        .collaboration()
        .unblock(&u, &handle)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
