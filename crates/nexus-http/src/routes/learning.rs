//! `/api/v1/courses*`: courses, their versions, and courses as code (zip import and
//! export).

use axum::Json;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use nexus_core::AppError;
use nexus_service::learning::{
    CourseDocument, CourseFiles, CourseListItem, CourseVersionInfo, CourseView, ImportReport,
};
use nexus_service::page::Page;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Authed;
use crate::conditional::{etag, if_match, not_modified};
use crate::extract::{JsonBody, QueryParams};
use crate::problem::{ApiError, ApiResult, Problem};
use crate::routes::PageParams;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_courses, create_course))
        .routes(routes!(import_course))
        .routes(routes!(get_course, put_course))
        .routes(routes!(course_versions))
        .routes(routes!(export_course))
}

/// A course folder as a zip archive (`course.yaml`, `weeks/NN-*.md`, `rubrics/*.yaml`).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct CourseArchive(pub Vec<u8>);

/// A course answer with its version tag, and where it lives when it was just made.
fn course_answer(course: CourseView, status: StatusCode, location: bool) -> Response {
    let tag = etag(course.version);
    let href = format!("/api/v1/courses/{}", course.document.slug);
    let mut resp = (status, Json(course)).into_response();
    resp.headers_mut().insert(header::ETAG, tag);
    if location && let Ok(l) = HeaderValue::from_str(&href) {
        resp.headers_mut().insert(header::LOCATION, l);
    }
    resp
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionParams {
    /// A version of the course (default: the current one).
    #[param(minimum = 1)]
    version: Option<i32>,
}

/// List courses, newest first, with cursor pagination.
#[utoipa::path(get, path = "/api/v1/courses", tag = "learning", params(PageParams),
    responses((status = 200, description = "A page of courses at their current versions.", body = Page<CourseListItem>)))]
async fn list_courses(
    State(s): State<AppState>,
    QueryParams(p): QueryParams<PageParams>,
) -> ApiResult<Json<Page<CourseListItem>>> {
    Ok(Json(
        s.services
            .learning()
            .courses()
            .list(p.limit, p.cursor.as_deref())
            .await?,
    ))
}

/// Create a course (admins) at version 1.
///
/// Every rule of the document is checked at once; a 422 lists each invalid field by its
/// path (`weeks[2].objectives[0].bloom`).
#[utoipa::path(post, path = "/api/v1/courses", tag = "learning", security(("bearer" = [])), request_body = CourseDocument,
    responses(
        (status = 201, description = "Created; `ETag` carries the version.", body = CourseView,
            headers(("ETag" = String, description = "The version, for If-Match."), ("Location" = String, description = "The course's URL."))),
        (status = 409, description = "A course with this slug exists.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_course(
    State(s): State<AppState>,
    Authed(u): Authed,
    JsonBody(doc): JsonBody<CourseDocument>,
) -> ApiResult<Response> {
    let course = s.services.learning().courses().create(&u, doc).await?;
    Ok(course_answer(course, StatusCode::CREATED, true))
}

/// One course, at its current version or at `version`.
///
/// Honours `If-None-Match` with the `ETag` (304). Older versions never change.
#[utoipa::path(get, path = "/api/v1/courses/{slug}", tag = "learning",
    params(("slug" = String, Path, description = "The course's slug."), VersionParams,
           ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer.")),
    responses(
        (status = 200, description = "The course.", body = CourseView, headers(("ETag" = String, description = "The version."))),
        (status = 304, description = "Unchanged since the given ETag."),
        (status = 404, description = "No such course or version.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_course(
    State(s): State<AppState>,
    Path(slug): Path<String>,
    QueryParams(p): QueryParams<VersionParams>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let course = s
        .services
        .learning()
        .courses()
        .get(&slug, p.version)
        .await?;
    let tag = etag(course.version);
    if not_modified(&headers, &tag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response());
    }
    Ok(course_answer(course, StatusCode::OK, false))
}

/// Replace a course with a new version (admins). Requires `If-Match` with the current
/// `ETag`; the older versions stay as they were.
#[utoipa::path(put, path = "/api/v1/courses/{slug}", tag = "learning", security(("bearer" = [])), request_body = CourseDocument,
    params(("slug" = String, Path, description = "The course's slug."),
           ("If-Match" = String, Header, pattern = r#"^"v[0-9]{1,9}"$"#,
            description = "The ETag of the version being changed, as `GET` sent it.")),
    responses(
        (status = 200, description = "The new version.", body = CourseView, headers(("ETag" = String, description = "The new version."))),
        (status = 404, description = "No such course.", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON, or an If-Match that is not an ETag of this API.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The course changed since that ETag.", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "No If-Match was sent.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn put_course(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(slug): Path<String>,
    headers: HeaderMap,
    JsonBody(doc): JsonBody<CourseDocument>,
) -> ApiResult<Response> {
    let course = s
        .services
        .learning()
        .courses()
        .update(&u, &slug, if_match(&headers)?, doc)
        .await?;
    Ok(course_answer(course, StatusCode::OK, false))
}

/// A course's versions, newest first.
#[utoipa::path(get, path = "/api/v1/courses/{slug}/versions", tag = "learning",
    params(("slug" = String, Path, description = "The course's slug."), PageParams),
    responses(
        (status = 200, description = "A page of versions.", body = Page<CourseVersionInfo>),
        (status = 404, description = "No such course.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn course_versions(
    State(s): State<AppState>,
    Path(slug): Path<String>,
    QueryParams(p): QueryParams<PageParams>,
) -> ApiResult<Json<Page<CourseVersionInfo>>> {
    Ok(Json(
        s.services
            .learning()
            .courses()
            .versions(&slug, p.limit, p.cursor.as_deref())
            .await?,
    ))
}

/// A course version as a course folder in a zip: `course.yaml`, `weeks/NN-*.md` and
/// `rubrics/*.yaml`. Importing it gives the same document.
#[utoipa::path(get, path = "/api/v1/courses/{slug}/export", tag = "learning",
    params(("slug" = String, Path, description = "The course's slug."), VersionParams),
    responses(
        (status = 200, description = "The course folder.", body = CourseArchive, content_type = "application/zip",
            headers(("Content-Disposition" = String, description = "`attachment` with the archive's file name."))),
        (status = 404, description = "No such course or version.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn export_course(
    State(s): State<AppState>,
    Path(slug): Path<String>,
    QueryParams(p): QueryParams<VersionParams>,
) -> ApiResult<Response> {
    let export = s
        .services
        .learning()
        .courses()
        .export(&slug, p.version)
        .await?;
    let disposition =
        HeaderValue::from_str(&format!("attachment; filename=\"{}\"", export.filename))
            .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/zip"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        export.zip,
    )
        .into_response())
}

/// A request body that must be a zip archive, sent as `application/zip` or as plain
/// bytes (`application/octet-stream`, what generic HTTP clients send for a file).
pub struct ZipBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for ZipBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let zip = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok())
            .is_some_and(|m| {
                matches!(
                    m.essence_str(),
                    "application/zip" | "application/octet-stream"
                )
            });
        if !zip {
            return Err(AppError::UnsupportedMediaType(
                "expected a body with Content-Type: application/zip (or application/octet-stream)"
                    .into(),
            )
            .into());
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            ApiError(if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge
            } else {
                AppError::BadRequest("the request body could not be read".into())
            })
        })?;
        if bytes.is_empty() {
            // Like any body that is no zip archive (the import says so per field).
            return Err(AppError::invalid("body", "is empty; expected a zip archive").into());
        }
        Ok(ZipBody(bytes))
    }
}

/// Import a course folder as a zip (admins): a new course, or the next version of the
/// course with its slug.
///
/// The archive holds `course.yaml`, one Markdown file per week (`weeks/NN-*.md`, YAML
/// front matter between `---` lines, the body is the week's summary) and
/// `rubrics/*.yaml`, at its root or in one top folder. At most 300 files, 512 KiB per file
/// and 4 MiB in all, uncompressed. The report lists objectives whose Bloom level falls
/// below the highest level of the week before.
#[utoipa::path(post, path = "/api/v1/courses/import", tag = "learning", security(("bearer" = [])),
    request_body(description = "The course folder, zipped; `application/octet-stream` is read the same way.",
        content((CourseArchive = "application/zip"), (CourseArchive = "application/octet-stream"))),
    responses(
        (status = 201, description = "A new course, at version 1.", body = ImportReport,
            headers(("ETag" = String, description = "The version."), ("Location" = String, description = "The course's URL."))),
        (status = 200, description = "The next version of an existing course.", body = ImportReport,
            headers(("ETag" = String, description = "The version."), ("Location" = String, description = "The course's URL."))),
        (status = 415, description = "The body is neither `application/zip` nor `application/octet-stream`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The archive, a file in it or the course it describes is invalid; `errors` names each file or field.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn import_course(
    State(s): State<AppState>,
    Authed(u): Authed,
    ZipBody(body): ZipBody,
) -> ApiResult<Response> {
    // Unzipping is CPU work over up to the total limit: off the async workers.
    let files = tokio::task::spawn_blocking(move || CourseFiles::from_zip(&body))
        .await
        .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("reading a zip")))??;
    let report = s.services.learning().courses().import(&u, files).await?;
    let status = if report.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let tag = etag(report.course.version);
    let href = format!("/api/v1/courses/{}", report.course.document.slug);
    let mut resp = (status, Json(report)).into_response();
    resp.headers_mut().insert(header::ETAG, tag);
    if let Ok(l) = HeaderValue::from_str(&href) {
        resp.headers_mut().insert(header::LOCATION, l);
    }
    Ok(resp)
}
