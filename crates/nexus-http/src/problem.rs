//! RFC 9457 problem details: the one place where errors become HTTP answers.
//!
//! Two paths lead here:
//! - a handler returns [`ApiError`] (an [`AppError`] in transport clothing); its
//!   `IntoResponse` writes the problem and leaves a [`ProblemMarker`] in the response
//!   extensions, carrying the internal cause for the log;
//! - the framework answers on its own (unknown route, wrong method, body too large, a
//!   panic, a rejected extractor); under `/api/` [`finalize`] turns any such error answer
//!   that is not already JSON into a problem chosen by its status. Everywhere else (the
//!   web pages, Swagger UI, probes) it becomes a small HTML error page instead: problem
//!   details are the API's error format, not a browser's.
//!
//! [`finalize`] runs outside both, adds `instance` and `request_id` to every problem, and
//! logs internal causes once, so neither handlers nor the framework need to know them.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use nexus_core::{AppError, ErrorKind, FieldError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::request_id::RequestId;

/// The media type of every error answer.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem details object.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "type": "/problems/validation-failed",
    "title": "Validation failed",
    "status": 422,
    "detail": "the input has 1 invalid field(s)",
    "instance": "/api/v1/auth/register",
    "request_id": "0193a1c2-7d4e-7c1a-9a51-2f6f0b1e4c11",
    "errors": [{"field": "handle", "message": "must be 3-30 characters of a-z, 0-9 and -"}]
}))]
pub struct Problem {
    /// A URI reference naming the kind of problem; stable, safe to branch on. It resolves
    /// to a page describing the kind.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind, the same for every occurrence.
    pub title: String,
    /// The HTTP status code, repeated for convenience.
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    /// What went wrong in this occurrence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The path of the request that failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The request id (also in the `X-Request-Id` header); quote it when reporting a bug.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Every invalid field, for 422 answers.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub errors: Vec<FieldError>,
}

/// Status, title and extra headers of each kind. The single source of truth.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
        ErrorKind::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
        ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorKind::Validation => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Timeout | ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub fn title_of(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::BadRequest => "Malformed request",
        ErrorKind::Unauthenticated => "Authentication required",
        ErrorKind::Forbidden => "Forbidden",
        ErrorKind::NotFound => "Not found",
        ErrorKind::MethodNotAllowed => "Method not allowed",
        ErrorKind::Conflict => "Conflict",
        ErrorKind::PreconditionFailed => "Stale version",
        ErrorKind::PreconditionRequired => "If-Match required",
        ErrorKind::PayloadTooLarge => "Body too large",
        ErrorKind::UnsupportedMediaType => "Unsupported media type",
        ErrorKind::Validation => "Validation failed",
        ErrorKind::RateLimited => "Too many requests",
        ErrorKind::Timeout => "Request timed out",
        ErrorKind::Unavailable => "Service unavailable",
        ErrorKind::Internal => "Internal error",
    }
}

/// The kind a bare framework status stands for, when it did not come from an [`AppError`].
fn kind_of_status(status: StatusCode) -> Option<ErrorKind> {
    Some(match status.as_u16() {
        400 => ErrorKind::BadRequest,
        401 => ErrorKind::Unauthenticated,
        403 => ErrorKind::Forbidden,
        404 => ErrorKind::NotFound,
        405 => ErrorKind::MethodNotAllowed,
        408 | 504 => ErrorKind::Timeout,
        409 => ErrorKind::Conflict,
        412 => ErrorKind::PreconditionFailed,
        413 => ErrorKind::PayloadTooLarge,
        415 => ErrorKind::UnsupportedMediaType,
        422 => ErrorKind::Validation,
        428 => ErrorKind::PreconditionRequired,
        429 => ErrorKind::RateLimited,
        500 => ErrorKind::Internal,
        503 => ErrorKind::Unavailable,
        _ => return None,
    })
}

pub fn type_uri(kind: ErrorKind) -> String {
    format!("/problems/{}", kind.slug())
}

impl Problem {
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Problem {
            kind: type_uri(kind),
            title: title_of(kind).to_owned(),
            status: status_of(kind).as_u16(),
            detail: Some(detail.into()),
            instance: None,
            request_id: None,
            errors: Vec::new(),
        }
    }

    fn into_response_with(self, status: StatusCode) -> Response {
        let body = serde_json::to_vec(&self).unwrap_or_else(|_| b"{}".to_vec());
        let mut resp = (status, body).into_response();
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        resp
    }
}

/// Left in the response extensions by [`ApiError`], read by [`finalize`].
#[derive(Clone)]
pub struct ProblemMarker {
    problem: Problem,
    /// The internal cause, for the log only.
    cause: Option<std::sync::Arc<anyhow::Error>>,
}

impl ProblemMarker {
    /// For a stored problem answered again (an idempotent replay), so that [`finalize`]
    /// stamps it with this request's `instance` and `request_id`.
    pub(crate) fn replayed(problem: Problem) -> Self {
        ProblemMarker {
            problem,
            cause: None,
        }
    }
}

/// The error type of every handler: an [`AppError`] that knows how to become a problem.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(err: E) -> Self {
        ApiError(err.into())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let kind = self.0.kind();
        let status = status_of(kind);
        let detail = match &self.0 {
            // The service says what is missing in its own words; over HTTP the version
            // travels in a header, which the client needs to be told to send.
            AppError::PreconditionRequired(why) => {
                format!("{why}: send If-Match with the ETag of the version you change")
            }
            other => other.public_detail(),
        };
        let mut problem = Problem::new(kind, detail);
        let mut extra_headers = Vec::new();
        match &self.0 {
            AppError::Validation(errors) => problem.errors = errors.clone(),
            AppError::RateLimited { retry_after_secs } => {
                extra_headers.push((header::RETRY_AFTER, HeaderValue::from(*retry_after_secs)));
            }
            AppError::Unauthenticated(_) => {
                extra_headers.push((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
            }
            _ => {}
        }
        let cause = match self.0 {
            AppError::Internal(err) => Some(std::sync::Arc::new(err)),
            _ => None,
        };
        let mut resp = problem.clone().into_response_with(status);
        resp.headers_mut().extend(extra_headers);
        resp.extensions_mut()
            .insert(ProblemMarker { problem, cause });
        resp
    }
}

/// Middleware: gives every error answer the problem shape, with `instance` and
/// `request_id`, and logs internal causes. Answers that are already JSON (readiness) are
/// left alone.
pub async fn finalize(req: Request, next: Next) -> Response {
    let instance = req.uri().path().to_owned();
    let method = req.method().clone();
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    let mut resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let problem = if let Some(marker) = resp.extensions_mut().remove::<ProblemMarker>() {
        if let Some(cause) = &marker.cause {
            tracing::error!(error = ?cause, "internal error");
        }
        marker.problem
    } else if is_json(&resp) {
        return resp;
    } else if !is_api(&instance) {
        return error_page(resp, request_id.as_deref());
    } else {
        match kind_of_status(status) {
            Some(kind) => {
                let detail = match kind {
                    ErrorKind::NotFound => format!("no resource at {instance}"),
                    ErrorKind::MethodNotAllowed => {
                        format!(
                            "{instance} does not accept {method}; the Allow header lists what it does"
                        )
                    }
                    ErrorKind::PayloadTooLarge => "the request body is too large".to_owned(),
                    ErrorKind::Timeout => "the request took too long".to_owned(),
                    // A framework rejection's own text is a short, fixed message written
                    // for clients (never a cause chain); keep it as the detail.
                    _ => body_text(&mut resp).await.unwrap_or_default(),
                };
                Problem::new(kind, detail)
            }
            None => Problem {
                kind: "about:blank".into(),
                title: status.canonical_reason().unwrap_or("Error").into(),
                status: status.as_u16(),
                detail: None,
                instance: None,
                request_id: None,
                errors: Vec::new(),
            },
        }
    };
    let problem = Problem {
        instance: Some(instance),
        request_id,
        ..problem
    };
    let (mut parts, _) = resp.into_parts();
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    // The new body is plain JSON, whatever encoding the old one had.
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_ENCODING);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    Response::from_parts(parts, Body::from(body))
}

/// The API surface, where every error is a problem. Everything else keeps its own error
/// pages.
pub(crate) fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// A framework error outside the API, as a page a browser shows: the status, its reason
/// and the request id to quote. A body the framework wrote is replaced, because it may be
/// plain text meant for API clients.
fn error_page(resp: Response, request_id: Option<&str>) -> Response {
    let status = resp.status();
    let reason = status.canonical_reason().unwrap_or("Error");
    let id = request_id.map(html_escape).unwrap_or_default();
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{code} {reason} · Nexus</title></head>\
         <body><main><h1>{code} {reason}</h1>\
         <p>Request id: <code>{id}</code></p><p><a href=\"/\">Nexus</a></p></main></body></html>\n",
        code = status.as_u16(),
    );
    let (mut parts, _) = resp.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_ENCODING);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    Response::from_parts(parts, Body::from(body))
}

/// Request ids are checked to be plain when kept from a client, but the page escapes them
/// anyway: it must not depend on that check.
fn html_escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

fn is_json(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON))
}

/// Reads a short plain-text framework rejection; long or binary bodies are dropped.
async fn body_text(resp: &mut Response) -> Option<String> {
    let body = std::mem::replace(resp.body_mut(), Body::empty());
    let bytes = axum::body::to_bytes(body, 1024).await.ok()?;
    let text = String::from_utf8(bytes.to_vec()).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// Answers a panic inside a handler: a 500 problem with nothing of the panic in it. The
/// message is logged by [`finalize`]'s caller chain through the panic hook.
pub fn panic_response(payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".into());
    ApiError(AppError::Internal(anyhow::anyhow!(
        "handler panicked: {message}"
    )))
    .into_response()
}

/// Describe a problem type.
///
/// The human-readable page behind each problem `type` URI: what the kind means and what a
/// client should do about it.
#[utoipa::path(get, path = "/problems/{slug}", tag = "operations",
    params(("slug" = String, Path, description = "The kind, as in the problem `type` (`validation-failed`).", example = "validation-failed")),
    responses(
        (status = 200, description = "The description, as plain text.", content_type = "text/plain", body = String),
        (status = 404, description = "No such problem type.", content_type = "application/problem+json", body = Problem),
    ))]
pub async fn describe(
    axum::extract::Path(slug): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    let kind = ErrorKind::from_slug(&slug)
        .ok_or_else(|| AppError::not_found(format!("no problem type `{slug}`")))?;
    let text = format!(
        "{} ({})\n\n{}\n",
        title_of(kind),
        status_of(kind).as_u16(),
        kind.description()
    );
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_maps_to_an_error_status_with_its_own_type() {
        for kind in ErrorKind::ALL {
            let status = status_of(kind);
            assert!(
                status.is_client_error() || status.is_server_error(),
                "{kind:?}"
            );
            assert_eq!(type_uri(kind), format!("/problems/{}", kind.slug()));
        }
    }

    #[test]
    fn bare_framework_statuses_map_back_to_the_same_kind() {
        for kind in ErrorKind::ALL {
            let back = kind_of_status(status_of(kind)).expect("mapped");
            assert_eq!(status_of(back), status_of(kind));
        }
    }
}
