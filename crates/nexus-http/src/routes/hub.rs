//! `/api/v1/topics*`, `/api/v1/notes*` and `/api/v1/search`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use nexus_core::hub::NoteKind;
use nexus_core::hub::NoteStatus;
use nexus_service::encoded::Encoded;
use nexus_service::hub::{
    CreateNote, CreateTopic, NoteDetail, NoteListItem, NoteQuery, NoteSort, RelatedTopic, Revision,
    RevisionDiff, RevisionInfo, SearchParams, SearchResults, Topic, UpdateNote, UpdateTopic,
};
use nexus_service::page::Page;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{Authed, Caller};
use crate::conditional::{etag, if_match, not_modified};
use crate::extract::{Bounded, JsonBody, QueryParams};
use crate::problem::{ApiResult, Problem};
use nexus_core::AppError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_topics, create_topic))
        .routes(routes!(get_topic, patch_topic))
        .routes(routes!(related_topics))
        .routes(routes!(list_notes, create_note))
        .routes(routes!(get_note, patch_note, archive_note))
        .routes(routes!(list_revisions))
        .routes(routes!(get_revision))
        .routes(routes!(restore_revision))
        .routes(routes!(diff))
        .routes(routes!(backlinks))
        .routes(routes!(search))
}

fn with_etag(note: Arc<Encoded<NoteDetail>>, status: StatusCode) -> ApiResult<Response> {
    let tag = etag(note.version);
    let mut resp = encoded_json(&note)?;
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::ETAG, tag);
    Ok(resp)
}

/// A cached answer as it is stored: its JSON was made once, and every later request
/// clones the bytes.
fn encoded_json<T: serde::Serialize>(value: &Encoded<T>) -> ApiResult<Response> {
    let body = value
        .json()
        .map_err(|e| AppError::Internal(e.context("encoding an answer")))?;
    Ok(json_bytes(body))
}

/// An answer whose JSON is already made.
fn json_bytes(body: bytes::Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// Every topic, with its number of published notes.
#[utoipa::path(get, path = "/api/v1/topics", tag = "hub",
    responses((status = 200, description = "All topics by slug.", body = Vec<Topic>)))]
async fn list_topics(State(s): State<AppState>) -> ApiResult<Json<Vec<Topic>>> {
    Ok(Json(s.services.hub().topics().list().await?))
}

/// Create a topic (admins).
#[utoipa::path(post, path = "/api/v1/topics", tag = "hub", security(("bearer" = [])), request_body = CreateTopic,
    responses(
        (status = 201, description = "Created.", body = Topic),
        (status = 409, description = "The slug is taken.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_topic(
    State(s): State<AppState>,
    Authed(u): Authed,
    JsonBody(input): JsonBody<CreateTopic>,
) -> ApiResult<(StatusCode, Json<Topic>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.services.hub().topics().create(&u, input).await?),
    ))
}

/// One topic.
#[utoipa::path(get, path = "/api/v1/topics/{slug}", tag = "hub",
    params(("slug" = String, Path, description = "The topic's slug.")),
    responses(
        (status = 200, description = "The topic.", body = Topic),
        (status = 404, description = "No such topic.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_topic(State(s): State<AppState>, Path(slug): Path<String>) -> ApiResult<Json<Topic>> {
    Ok(Json(s.services.hub().topics().get(&slug).await?))
}

/// Change a topic's title or description (admins).
#[utoipa::path(patch, path = "/api/v1/topics/{slug}", tag = "hub", security(("bearer" = [])), request_body = UpdateTopic,
    params(("slug" = String, Path, description = "The topic's slug.")),
    responses(
        (status = 200, description = "The updated topic.", body = Topic),
        (status = 404, description = "No such topic.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn patch_topic(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(slug): Path<String>,
    JsonBody(input): JsonBody<UpdateTopic>,
) -> ApiResult<Json<Topic>> {
    Ok(Json(
        s.services.hub().topics().update(&u, &slug, input).await?,
    ))
}

/// Topics that share published notes with this one, most shared first.
#[utoipa::path(get, path = "/api/v1/topics/{slug}/related", tag = "hub",
    params(("slug" = String, Path, description = "The topic's slug.")),
    responses(
        (status = 200, description = "Related topics.", body = Vec<RelatedTopic>),
        (status = 404, description = "No such topic.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn related_topics(
    State(s): State<AppState>,
    Path(slug): Path<String>,
) -> ApiResult<Json<Vec<RelatedTopic>>> {
    Ok(Json(s.services.hub().topics().related(&slug).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotesParams {
    /// Only notes in this topic (slug).
    #[param(inline)]
    topic: Option<Bounded<80>>,
    kind: Option<NoteKind>,
    /// Only notes by this handle.
    #[param(inline)]
    author: Option<Bounded<30>>,
    #[param(inline)]
    tag: Option<Bounded<40>>,
    /// `published` (default); `draft` or `archived` list the caller's own.
    status: Option<NoteStatus>,
    /// `newest` (default) or `updated`.
    sort: Option<NoteSort>,
    /// Page size, 1-100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page (of either order).
    #[param(schema_with = crate::openapi::time_cursor)]
    cursor: Option<String>,
}

/// List notes, newest first, with filters and cursor pagination.
#[utoipa::path(get, path = "/api/v1/notes", tag = "hub", security((), ("bearer" = [])), params(NotesParams),
    responses((status = 200, description = "A page of notes.", body = Page<NoteListItem>)))]
async fn list_notes(
    State(s): State<AppState>,
    Caller(who): Caller,
    QueryParams(p): QueryParams<NotesParams>,
) -> ApiResult<Response> {
    let q = NoteQuery {
        topic: p.topic.map(Bounded::into_inner),
        kind: p.kind,
        author: p.author.map(Bounded::into_inner),
        tag: p.tag.map(Bounded::into_inner),
        status: p.status,
        sort: p.sort.unwrap_or_default(),
        limit: p.limit,
        cursor: p.cursor,
    };
    encoded_json(&*s.services.hub().notes().list(&who, q).await?)
}

/// Write a note (verified accounts).
///
/// The body is rendered to sanitised HTML, a summary is derived, the slug comes from the
/// title, and links to other notes become cross-references.
#[utoipa::path(post, path = "/api/v1/notes", tag = "hub", security(("bearer" = [])), request_body = CreateNote,
    responses((status = 201, description = "Created; `ETag` carries the version.", body = NoteDetail,
        headers(("ETag" = String, description = "The version, for If-Match."), ("Location" = String, description = "The note's URL.")))))]
async fn create_note(
    State(s): State<AppState>,
    Authed(u): Authed,
    JsonBody(input): JsonBody<CreateNote>,
) -> ApiResult<Response> {
    let note = s.services.hub().notes().create(&u, input).await?;
    let location = HeaderValue::from_str(&format!("/api/v1/notes/{}", note.slug)).ok();
    let mut resp = with_etag(note, StatusCode::CREATED)?;
    if let Some(l) = location {
        resp.headers_mut().insert(header::LOCATION, l);
    }
    Ok(resp)
}

/// One note. Drafts are visible to their author only.
///
/// Honours `If-None-Match` with the `ETag` (304).
#[utoipa::path(get, path = "/api/v1/notes/{slug}", tag = "hub", security((), ("bearer" = [])),
    params(("slug" = String, Path, description = "The note's slug."),
           ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer.")),
    responses(
        (status = 200, description = "The note.", body = NoteDetail, headers(("ETag" = String, description = "The version."))),
        (status = 304, description = "Unchanged since the given ETag."),
        (status = 404, description = "No such note visible to the caller.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_note(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let note = s.services.hub().notes().get(&who, &slug).await?;
    let tag = etag(note.version);
    if not_modified(&headers, &tag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response());
    }
    with_etag(note, StatusCode::OK)
}

/// Change a note (author or admin). Requires `If-Match` with the current `ETag`.
#[utoipa::path(patch, path = "/api/v1/notes/{slug}", tag = "hub", security(("bearer" = [])), request_body = UpdateNote,
    params(("slug" = String, Path, description = "The note's slug."),
           ("If-Match" = String, Header, pattern = r#"^"v[0-9]{1,9}"$"#,
            description = "The ETag of the version being changed, as sent (`\"v3\"`).")),
    responses(
        (status = 200, description = "The new version.", body = NoteDetail, headers(("ETag" = String, description = "The new version."))),
        (status = 400, description = "Malformed JSON, or an If-Match that is not an ETag of this API.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such note visible to the caller.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The note is archived.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Someone changed the note since that ETag.", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "No If-Match was sent.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn patch_note(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(slug): Path<String>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<UpdateNote>,
) -> ApiResult<Response> {
    let note = s
        .services
        .hub()
        .notes()
        .update(&u, &slug, if_match(&headers)?, input)
        .await?;
    with_etag(note, StatusCode::OK)
}

/// Archive a note (author or admin): it leaves lists and search.
#[utoipa::path(delete, path = "/api/v1/notes/{slug}", tag = "hub", security(("bearer" = [])),
    params(("slug" = String, Path, description = "The note's slug.")),
    responses(
        (status = 204, description = "Archived."),
        (status = 404, description = "No such note visible to the caller.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn archive_note(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(slug): Path<String>,
) -> ApiResult<StatusCode> {
    s.services.hub().notes().archive(&u, &slug).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A note's revisions, newest first.
#[utoipa::path(get, path = "/api/v1/notes/{slug}/revisions", tag = "hub", security((), ("bearer" = [])),
    params(("slug" = String, Path, description = "The note's slug.")),
    responses(
        (status = 200, description = "The revisions.", body = Vec<RevisionInfo>),
        (status = 404, description = "No such note visible to the caller.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_revisions(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(slug): Path<String>,
) -> ApiResult<Json<Vec<RevisionInfo>>> {
    Ok(Json(s.services.hub().revisions().list(&who, &slug).await?))
}

/// One revision's content.
#[utoipa::path(get, path = "/api/v1/notes/{slug}/revisions/{n}", tag = "hub", security((), ("bearer" = [])),
    params(("slug" = String, Path, description = "The note's slug."), ("n" = i32, Path, description = "The revision number.")),
    responses(
        (status = 200, description = "The revision.", body = Revision),
        (status = 404, description = "No such note or revision.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_revision(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path((slug, n)): Path<(String, i32)>,
) -> ApiResult<Json<Revision>> {
    Ok(Json(
        s.services.hub().revisions().get(&who, &slug, n).await?,
    ))
}

/// Make an old revision current again (as a new revision).
#[utoipa::path(post, path = "/api/v1/notes/{slug}/revisions/{n}/restore", tag = "hub", security(("bearer" = [])),
    params(("slug" = String, Path, description = "The note's slug."), ("n" = i32, Path, description = "The revision to restore.")),
    responses(
        (status = 200, description = "The note at its new version.", body = NoteDetail),
        (status = 404, description = "No such note or revision.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The note changed while restoring; try again.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn restore_revision(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path((slug, n)): Path<(String, i32)>,
) -> ApiResult<Response> {
    let note = s.services.hub().revisions().restore(&u, &slug, n).await?;
    with_etag(note, StatusCode::OK)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiffParams {
    /// The older revision number.
    from: i32,
    /// The newer revision number.
    to: i32,
}

/// A unified diff between two revisions.
#[utoipa::path(get, path = "/api/v1/notes/{slug}/diff", tag = "hub", security((), ("bearer" = [])),
    params(("slug" = String, Path, description = "The note's slug."), DiffParams),
    responses(
        (status = 200, description = "The diff.", body = RevisionDiff),
        (status = 404, description = "No such note or revision.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn diff(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(slug): Path<String>,
    QueryParams(p): QueryParams<DiffParams>,
) -> ApiResult<Json<RevisionDiff>> {
    Ok(Json(
        s.services
            .hub()
            .revisions()
            .diff(&who, &slug, p.from, p.to)
            .await?,
    ))
}

/// Published notes that link to this one.
#[utoipa::path(get, path = "/api/v1/notes/{slug}/backlinks", tag = "hub", security((), ("bearer" = [])),
    params(("slug" = String, Path, description = "The note's slug.")),
    responses(
        (status = 200, description = "Linking notes, newest first.", body = Vec<NoteListItem>),
        (status = 404, description = "No such note visible to the caller.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn backlinks(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(slug): Path<String>,
) -> ApiResult<Json<Vec<NoteListItem>>> {
    Ok(Json(s.services.hub().notes().backlinks(&who, &slug).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQueryParams {
    /// Words (all must match), `"exact phrases"`, `-excluded` words, and `OR` between
    /// alternatives. Punctuation is ignored.
    #[param(inline, example = "\"borrow checker\" lifetimes -unsafe")]
    q: Bounded<500>,
    /// Only notes in this topic (slug).
    #[param(inline)]
    topic: Option<Bounded<80>>,
    kind: Option<NoteKind>,
    /// 1-100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

/// Full-text search over published notes, best match first (title matches above body
/// matches), with a highlighted snippet.
#[utoipa::path(get, path = "/api/v1/search", tag = "hub", params(SearchQueryParams),
    responses((status = 200, description = "Matches.", body = SearchResults)))]
async fn search(
    State(s): State<AppState>,
    QueryParams(p): QueryParams<SearchQueryParams>,
) -> ApiResult<Json<SearchResults>> {
    Ok(Json(
        s.services
            .hub()
            .search()
            .run(SearchParams {
                q: p.q.into_inner(),
                topic: p.topic.map(Bounded::into_inner),
                kind: p.kind,
                limit: p.limit,
            })
            .await?,
    ))
}
