//! `/api/v1/uploads*`: files in the object store. The body of an upload and of a download
//! streams between the client and the store; neither is held whole in memory.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use nexus_core::AppError;
use nexus_service::uploads::{NewUpload, Upload};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Authed, Caller};
use crate::conditional::not_modified;
use crate::disposition;
use crate::problem::{ApiResult, Problem};
use crate::safety::BodyDigest;

/// Where uploads are made; the one operation that reads its request body as a stream
/// ([`super::streams_body`]).
pub const PATH: &str = "/api/v1/uploads";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_upload))
        .routes(routes!(get_upload, delete_upload))
}

/// A file's bytes, as they are.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct FileBytes(pub Vec<u8>);

/// A JSON file: any JSON document (its bytes are checked against the grammar, whatever
/// the value).
#[derive(ToSchema)]
#[schema(value_type = Value)]
pub struct JsonFile(pub serde_json::Value);

/// Upload a file (signed-in users with write rights).
///
/// The body is the file's bytes as they are (no multipart form), `Content-Type` its media
/// type and `Content-Disposition` its name: `attachment; filename="report.pdf"`, or
/// `attachment; filename*=UTF-8''%C3%9Cbung.md` for names beyond ASCII. The name may be
/// in any script, up to 255 bytes of UTF-8, with no `/` or `\`, control characters or
/// text-direction marks.
///
/// Types taken: `application/pdf`, `image/png`, `image/jpeg`, `image/gif`, `image/webp`,
/// `text/plain`, `text/markdown`, `text/csv`, `application/json`, `application/zip`. The
/// bytes must agree with the declared type: binary formats by their signature (a PNG must
/// start as PNGs do), text as UTF-8 without NUL bytes, JSON by its grammar. Anything else
/// is 415. Files up to `storage.max_upload_bytes` (25 MiB by default) are taken; reading
/// stops at the limit with a 413.
///
/// The file streams to the store while it is hashed and checked; it is recorded only
/// once stored whole. Uploads have a rate limit of their own (`rate_limit.upload`).
#[utoipa::path(post, path = "/api/v1/uploads", tag = "uploads", security(("bearer" = [])),
    params(("Content-Disposition" = String, Header,
        description = "The file's name: `attachment; filename=\"name\"`, or `filename*=UTF-8''…` (RFC 6266, RFC 8187).",
        example = "attachment; filename=\"week-03-notes.md\"")),
    request_body(description = "The file's bytes, as they are, in one of the types uploads take.",
        content(
            (FileBytes = "application/pdf"),
            (FileBytes = "image/png"),
            (FileBytes = "image/jpeg"),
            (FileBytes = "image/gif"),
            (FileBytes = "image/webp"),
            (FileBytes = "text/plain", example = json!("Load test, week 3: p99 fell from 480 ms to 95 ms.\n")),
            (FileBytes = "text/markdown", example = json!("# Week 3\n\n- cached the hot reads\n- p99: 95 ms\n")),
            (FileBytes = "text/csv", example = json!("run,p50_ms,p99_ms\n1,12,480\n2,9,95\n")),
            (JsonFile = "application/json", example = json!({"run": 2, "p50_ms": 9, "p99_ms": 95})),
            (FileBytes = "application/zip"),
        )),
    responses(
        (status = 201, description = "Stored.", body = Upload,
            headers(("Location" = String, description = "Where to download it."))),
        (status = 413, description = "The file is larger than `storage.max_upload_bytes`.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The type is not one uploads take, or the bytes are not of the declared type.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No file name, a bad one, or an empty body; `errors` names the field.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_upload(
    State(s): State<AppState>,
    Authed(u): Authed,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let filename = filename_of(&headers)?;
    let new = NewUpload {
        filename,
        content_type: headers
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        length: headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok()),
    };
    let bytes = body
        .into_data_stream()
        .map_err(|_| AppError::BadRequest("the request body could not be read to its end".into()));
    let upload = s.services.uploads().create(&u, new, bytes).await?;
    let location = format!("{PATH}/{}", upload.id);
    let digest = BodyDigest(upload.sha256.clone());
    let mut resp = (StatusCode::CREATED, Json(upload)).into_response();
    if let Ok(l) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, l);
    }
    resp.extensions_mut().insert(digest);
    Ok(resp)
}

/// The file name of an upload request, from `Content-Disposition`; the service checks
/// what it may be, this only reads it.
fn filename_of(headers: &HeaderMap) -> Result<String, AppError> {
    let field = "Content-Disposition";
    let how =
        "send `Content-Disposition: attachment; filename=\"name.ext\"` (or `filename*=UTF-8''…`)";
    let Some(value) = headers.get(header::CONTENT_DISPOSITION) else {
        return Err(AppError::invalid(field, format!("is required: {how}")));
    };
    match disposition::filename(value.as_bytes()) {
        Ok(Some(name)) => Ok(name),
        Ok(None) => Err(AppError::invalid(field, format!("names no file: {how}"))),
        Err(why) => Err(AppError::invalid(field, why)),
    }
}

/// Download a file: its owner, and whoever may see a submission that cites it.
///
/// The bytes stream from the store with the type they were uploaded as,
/// `Content-Disposition: attachment` (the name in both `filename` and `filename*`
/// forms) and `X-Content-Type-Options: nosniff`, so that a browser saves the file rather
/// than showing it. The `ETag` is the file's SHA-256; `If-None-Match` with it answers
/// 304. An upload the caller may not read is 404, the same as a missing one.
#[utoipa::path(get, path = "/api/v1/uploads/{id}", tag = "uploads", security((), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "The upload's id."),
           ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer.")),
    responses(
        (status = 200, description = "The file's bytes.",
            content(
                (FileBytes = "application/pdf"),
                (FileBytes = "image/png"),
                (FileBytes = "image/jpeg"),
                (FileBytes = "image/gif"),
                (FileBytes = "image/webp"),
                (FileBytes = "text/plain"),
                (FileBytes = "text/markdown"),
                (FileBytes = "text/csv"),
                (JsonFile = "application/json"),
                (FileBytes = "application/zip"),
            ),
            headers(
                ("ETag" = String, description = "The file's SHA-256, quoted."),
                ("Content-Disposition" = String, description = "`attachment` with the file's name."),
                ("Content-Length" = u64, description = "The file's size in bytes."),
                ("X-Content-Type-Options" = String, description = "`nosniff`: the type is the one uploaded, never guessed."),
            )),
        (status = 304, description = "Unchanged since the given ETag."),
        (status = 404, description = "No such upload visible to the caller.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_upload(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let download = s.services.uploads().download(&who, id).await?;
    let tag = HeaderValue::from_str(&format!("\"{}\"", download.upload.sha256))
        .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("an upload's ETag")))?;
    if not_modified(&headers, &tag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response());
    }
    let served = HeaderValue::from_static(download.served_type());
    let disposition = disposition::attachment(&download.upload.filename);
    let size = HeaderValue::from(download.upload.size);
    let bytes = download.open().await?;
    Ok((
        [
            (header::CONTENT_TYPE, served),
            (header::CONTENT_LENGTH, size),
            (header::CONTENT_DISPOSITION, disposition),
            (header::ETAG, tag),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            // The answer depends on who asks; a shared cache must not keep it.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-cache"),
            ),
            // Should a browser render it anyway, it runs nothing and loads nothing.
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; sandbox"),
            ),
        ],
        Body::from_stream(bytes),
    )
        .into_response())
}

/// Delete a file (its owner): its record and its bytes; not while a submission cites it.
#[utoipa::path(delete, path = "/api/v1/uploads/{id}", tag = "uploads", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The upload's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "Readable by the caller (through a submission that cites it), but not theirs.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such upload visible to the caller.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A submission cites the file; it stays with it.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_upload(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    s.services.uploads().delete(&u, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
