//! `/api/v1/notes/{slug}/comments|proposals|reports`, `/api/v1/comments/{id}`,
//! `/api/v1/proposals/{id}/*`, `/api/v1/reports*` and `/api/v1/me/{follows,bookmarks,feed}`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use nexus_service::hub::discussion::{
    Bookmark, Comment, CreateComment, CreateProposal, CreateReport, Proposal, RejectProposal,
    Report, ReportStatus, ResolveReport, UpdateComment,
};
use nexus_service::hub::{NoteListItem, Topic};
use nexus_service::page::Page;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Authed, Caller};
use crate::extract::{JsonBody, QueryParams};
use crate::problem::{ApiResult, Problem};
use crate::routes::PageParams;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_comments, create_comment))
        .routes(routes!(patch_comment, delete_comment))
        .routes(routes!(list_proposals, create_proposal))
        .routes(routes!(accept_proposal))
        .routes(routes!(reject_proposal))
        .routes(routes!(create_report))
        .routes(routes!(list_reports))
        .routes(routes!(resolve_report))
        .routes(routes!(list_follows))
        .routes(routes!(follow_topic, unfollow_topic))
        .routes(routes!(list_bookmarks))
        .routes(routes!(bookmark_note, unbookmark_note))
        .routes(routes!(feed))
}

// ---- comments ---------------------------------------------------------------------------

/// A note's comment threads, oldest first, each with its replies.
///
/// Pages count threads; every reply of a thread comes with it. A deleted comment keeps its
/// place with `deleted: true`, no author and an empty body.
#[utoipa::path(get, path = "/api/v1/notes/{slug}/comments", tag = "discussion", security((), ("bearer" = [])),
    params(("slug" = String, Path, description = "The note's slug."), PageParams),
    responses(
        (status = 200, description = "A page of threads.", body = Page<Comment>),
        (status = 404, description = "No such note visible to the caller.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_comments(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(slug): Path<String>,
    QueryParams(p): QueryParams<PageParams>,
) -> ApiResult<Json<Page<Comment>>> {
    Ok(Json(
        s.services
            .hub()
            .comments()
            .list(&who, &slug, p.limit, p.cursor.as_deref())
            .await?,
    ))
}

/// Comment on a published note, or reply to a thread's first comment (verified accounts).
#[utoipa::path(post, path = "/api/v1/notes/{slug}/comments", tag = "discussion", security(("bearer" = [])),
    request_body = CreateComment,
    params(("slug" = String, Path, description = "The note's slug.")),
    responses(
        (status = 201, description = "Created.", body = Comment),
        (status = 404, description = "No such published note.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The note is a draft or archived (said to those who may see it).", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_comment(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(slug): Path<String>,
    JsonBody(input): JsonBody<CreateComment>,
) -> ApiResult<(StatusCode, Json<Comment>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.services.hub().comments().create(&u, &slug, input).await?),
    ))
}

/// Change a comment's text (its author).
#[utoipa::path(patch, path = "/api/v1/comments/{id}", tag = "discussion", security(("bearer" = [])),
    request_body = UpdateComment,
    params(("id" = Uuid, Path, description = "The comment's id.")),
    responses(
        (status = 200, description = "The changed comment.", body = Comment),
        (status = 404, description = "No such comment visible to the caller.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The comment was deleted.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn patch_comment(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<UpdateComment>,
) -> ApiResult<Json<Comment>> {
    Ok(Json(
        s.services.hub().comments().update(&u, id, input).await?,
    ))
}

/// Delete a comment (its author or an admin). Its replies stay.
#[utoipa::path(delete, path = "/api/v1/comments/{id}", tag = "discussion", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The comment's id.")),
    responses(
        (status = 204, description = "Deleted (or already deleted)."),
        (status = 404, description = "No such comment visible to the caller.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_comment(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    s.services.hub().comments().delete(&u, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- edit proposals ---------------------------------------------------------------------

/// Proposals on a note, newest first: all of them for its author, mentors and admins; your
/// own for anyone else.
#[utoipa::path(get, path = "/api/v1/notes/{slug}/proposals", tag = "discussion", security(("bearer" = [])),
    params(("slug" = String, Path, description = "The note's slug."), PageParams),
    responses(
        (status = 200, description = "A page of proposals.", body = Page<Proposal>),
        (status = 404, description = "No such note visible to the caller.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_proposals(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(slug): Path<String>,
    QueryParams(p): QueryParams<PageParams>,
) -> ApiResult<Json<Page<Proposal>>> {
    Ok(Json(
        s.services
            .hub()
            .proposals()
            .list(&u, &slug, p.limit, p.cursor.as_deref())
            .await?,
    ))
}

/// Propose a change to someone else's published note (verified accounts).
///
/// `base_version` must be the note's current `version`; absent `title` or `body_md` keep
/// the current ones.
#[utoipa::path(post, path = "/api/v1/notes/{slug}/proposals", tag = "discussion", security(("bearer" = [])),
    request_body = CreateProposal,
    params(("slug" = String, Path, description = "The note's slug.")),
    responses(
        (status = 201, description = "Created, open.", body = Proposal),
        (status = 404, description = "No such published note.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The note is no longer at `base_version`, or is a draft or archived.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_proposal(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(slug): Path<String>,
    JsonBody(input): JsonBody<CreateProposal>,
) -> ApiResult<(StatusCode, Json<Proposal>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.services
                .hub()
                .proposals()
                .create(&u, &slug, input)
                .await?,
        ),
    ))
}

/// Merge a proposal into a new revision of the note, credited to the proposer (the note's
/// author, a mentor or an admin).
#[utoipa::path(post, path = "/api/v1/proposals/{id}/accept", tag = "discussion", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The proposal's id.")),
    responses(
        (status = 200, description = "Accepted; `revision` names the new revision.", body = Proposal),
        (status = 404, description = "No such proposal visible to the caller.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already decided, or the note moved on since the proposal's base version (it stays open).", body = Problem, content_type = "application/problem+json"),
    ))]
async fn accept_proposal(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Proposal>> {
    Ok(Json(s.services.hub().proposals().accept(&u, id).await?))
}

/// Reject a proposal with a reason (the note's author, a mentor or an admin).
#[utoipa::path(post, path = "/api/v1/proposals/{id}/reject", tag = "discussion", security(("bearer" = [])),
    request_body = RejectProposal,
    params(("id" = Uuid, Path, description = "The proposal's id.")),
    responses(
        (status = 200, description = "Rejected.", body = Proposal),
        (status = 404, description = "No such proposal visible to the caller.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already decided.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn reject_proposal(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<RejectProposal>,
) -> ApiResult<Json<Proposal>> {
    Ok(Json(
        s.services.hub().proposals().reject(&u, id, input).await?,
    ))
}

// ---- reports ----------------------------------------------------------------------------

/// Report an inaccuracy in a published note.
#[utoipa::path(post, path = "/api/v1/notes/{slug}/reports", tag = "discussion", security(("bearer" = [])),
    request_body = CreateReport,
    params(("slug" = String, Path, description = "The note's slug.")),
    responses(
        (status = 201, description = "Reported, open.", body = Report),
        (status = 404, description = "No such published note.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The note is a draft or archived (said to those who may see it).", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_report(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(slug): Path<String>,
    JsonBody(input): JsonBody<CreateReport>,
) -> ApiResult<(StatusCode, Json<Report>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.services.hub().reports().create(&u, &slug, input).await?),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// `open` (default) or `resolved`.
    status: Option<ReportStatus>,
    /// Page size, 1-100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(schema_with = crate::openapi::id_cursor)]
    cursor: Option<String>,
}

/// Reports of one status, oldest first (mentors and admins).
#[utoipa::path(get, path = "/api/v1/reports", tag = "discussion", security(("bearer" = [])),
    params(ReportParams),
    responses((status = 200, description = "A page of reports.", body = Page<Report>)))]
async fn list_reports(
    State(s): State<AppState>,
    Authed(u): Authed,
    QueryParams(p): QueryParams<ReportParams>,
) -> ApiResult<Json<Page<Report>>> {
    Ok(Json(
        s.services
            .hub()
            .reports()
            .list(&u, p.status, p.limit, p.cursor.as_deref())
            .await?,
    ))
}

/// Resolve a report, saying what was done (mentors and admins).
#[utoipa::path(post, path = "/api/v1/reports/{id}/resolve", tag = "discussion", security(("bearer" = [])),
    request_body = ResolveReport,
    params(("id" = Uuid, Path, description = "The report's id.")),
    responses(
        (status = 200, description = "Resolved.", body = Report),
        (status = 404, description = "No such report.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already resolved.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn resolve_report(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<ResolveReport>,
) -> ApiResult<Json<Report>> {
    Ok(Json(
        s.services.hub().reports().resolve(&u, id, input).await?,
    ))
}

// ---- follows, bookmarks and feed --------------------------------------------------------

/// The topics you follow, by slug.
#[utoipa::path(get, path = "/api/v1/me/follows", tag = "discussion", security(("bearer" = [])),
    responses((status = 200, description = "Followed topics.", body = Vec<Topic>)))]
async fn list_follows(State(s): State<AppState>, Authed(u): Authed) -> ApiResult<Json<Vec<Topic>>> {
    Ok(Json(s.services.hub().follows().topics(&u).await?))
}

/// Follow a topic. Following it again changes nothing.
#[utoipa::path(put, path = "/api/v1/me/follows/{topic_slug}", tag = "discussion", security(("bearer" = [])),
    params(("topic_slug" = String, Path, description = "The topic's slug.")),
    responses(
        (status = 204, description = "Followed."),
        (status = 404, description = "No such topic.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn follow_topic(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(topic_slug): Path<String>,
) -> ApiResult<StatusCode> {
    s.services
        .hub()
        .follows()
        .follow_topic(&u, &topic_slug)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stop following a topic. Unfollowing one you do not follow changes nothing.
#[utoipa::path(delete, path = "/api/v1/me/follows/{topic_slug}", tag = "discussion", security(("bearer" = [])),
    params(("topic_slug" = String, Path, description = "The topic's slug.")),
    responses(
        (status = 204, description = "Not followed (any more)."),
        (status = 404, description = "No such topic.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn unfollow_topic(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(topic_slug): Path<String>,
) -> ApiResult<StatusCode> {
    s.services
        .hub()
        .follows()
        .unfollow_topic(&u, &topic_slug)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Your bookmarks, newest bookmark first.
#[utoipa::path(get, path = "/api/v1/me/bookmarks", tag = "discussion", security(("bearer" = [])),
    params(PageParams),
    responses((status = 200, description = "A page of bookmarks.", body = Page<Bookmark>)))]
async fn list_bookmarks(
    State(s): State<AppState>,
    Authed(u): Authed,
    QueryParams(p): QueryParams<PageParams>,
) -> ApiResult<Json<Page<Bookmark>>> {
    Ok(Json(
        s.services
            .hub()
            .bookmarks()
            .list(&u, p.limit, p.cursor.as_deref())
            .await?,
    ))
}

/// Bookmark a note. Bookmarking it again keeps the first bookmark.
#[utoipa::path(put, path = "/api/v1/me/bookmarks/{note_slug}", tag = "discussion", security(("bearer" = [])),
    params(("note_slug" = String, Path, description = "The note's slug.")),
    responses(
        (status = 204, description = "Bookmarked."),
        (status = 404, description = "No such note visible to the caller.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn bookmark_note(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(note_slug): Path<String>,
) -> ApiResult<StatusCode> {
    s.services.hub().bookmarks().add(&u, &note_slug).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a bookmark. Always 204, whether or not there was one.
#[utoipa::path(delete, path = "/api/v1/me/bookmarks/{note_slug}", tag = "discussion", security(("bearer" = [])),
    params(("note_slug" = String, Path, description = "The note's slug.")),
    responses((status = 204, description = "Not bookmarked (any more).")))]
async fn unbookmark_note(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(note_slug): Path<String>,
) -> ApiResult<StatusCode> {
    s.services.hub().bookmarks().remove(&u, &note_slug).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Published notes in the topics you follow, newest first, in the shape of `GET /notes`.
#[utoipa::path(get, path = "/api/v1/me/feed", tag = "discussion", security(("bearer" = [])),
    params(PageParams),
    responses((status = 200, description = "A page of notes.", body = Page<NoteListItem>)))]
async fn feed(
    State(s): State<AppState>,
    Authed(u): Authed,
    QueryParams(p): QueryParams<PageParams>,
) -> ApiResult<Json<Page<NoteListItem>>> {
    Ok(Json(
        s.services
            .hub()
            .feed()
            .list(&u, p.limit, p.cursor.as_deref())
            .await?,
    ))
}
