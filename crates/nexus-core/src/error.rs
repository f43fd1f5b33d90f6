//! The single error vocabulary of Nexus.
//!
//! Every use case returns `Result<_, AppError>`. Each variant documents the HTTP status it
//! becomes; the mapping itself lives once in `nexus-http` (`problem.rs`), keyed by
//! [`ErrorKind`] so that framework rejections and service errors share one table.
//!
//! Internal errors carry their cause for the log, never for the client: the transport shows
//! a fixed message and logs the chain.

use serde::{Deserialize, Serialize};

/// One invalid field of an input, reported with 422.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldError {
    /// Dotted path of the field in the input (`title`, `topics[2]`, `author.handle`).
    pub field: String,
    /// What is wrong with it, for a human.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The stable kinds of failure. Each has one status and one problem `type`, so clients can
/// branch on the kind without parsing messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    BadRequest,
    Unauthenticated,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PreconditionFailed,
    PreconditionRequired,
    PayloadTooLarge,
    UnsupportedMediaType,
    Validation,
    RateLimited,
    Timeout,
    Unavailable,
    Internal,
}

impl ErrorKind {
    /// The slug used in the problem `type` URI and in GraphQL `extensions.code`.
    pub fn slug(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "bad-request",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not-found",
            ErrorKind::MethodNotAllowed => "method-not-allowed",
            ErrorKind::Conflict => "conflict",
            ErrorKind::PreconditionFailed => "precondition-failed",
            ErrorKind::PreconditionRequired => "precondition-required",
            ErrorKind::PayloadTooLarge => "payload-too-large",
            ErrorKind::UnsupportedMediaType => "unsupported-media-type",
            ErrorKind::Validation => "validation-failed",
            ErrorKind::RateLimited => "rate-limited",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Internal => "internal",
        }
    }

    /// What the kind means and what a client should do about it; served as the
    /// documentation behind each problem `type`.
    pub fn description(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => {
                "The request could not be parsed: malformed JSON, an unreadable body or a bad query string. Fix the request; repeating it unchanged will fail again."
            }
            ErrorKind::Unauthenticated => {
                "Credentials are missing, malformed, expired or revoked. Obtain a fresh access token and retry."
            }
            ErrorKind::Forbidden => {
                "The credentials are valid but do not allow this action (role, scope or ownership)."
            }
            ErrorKind::NotFound => {
                "Nothing exists at this address that the caller may see. Objects of other users are reported the same way as missing ones."
            }
            ErrorKind::MethodNotAllowed => {
                "The path exists but does not accept this HTTP method; the Allow header lists those it does."
            }
            ErrorKind::Conflict => {
                "The request conflicts with the current state: a duplicate, or the same idempotency key still in progress."
            }
            ErrorKind::PreconditionFailed => {
                "The If-Match version is no longer current: someone else changed the object. Fetch it again, merge, and retry with the new ETag."
            }
            ErrorKind::PreconditionRequired => {
                "Updates must carry If-Match with the ETag of the version being changed, so that concurrent edits are never lost silently."
            }
            ErrorKind::PayloadTooLarge => "The request body is larger than this route accepts.",
            ErrorKind::UnsupportedMediaType => {
                "The body is not in a media type this route reads; send Content-Type: application/json."
            }
            ErrorKind::Validation => {
                "The body is well-formed but some values are invalid; `errors` lists each field with what is wrong."
            }
            ErrorKind::RateLimited => {
                "Too many requests for this client and route; wait for the number of seconds in Retry-After."
            }
            ErrorKind::Timeout => {
                "The request took longer than the server allows and was abandoned; retrying later may succeed."
            }
            ErrorKind::Unavailable => {
                "A dependency (database, cache or queue) is not answering; retry later."
            }
            ErrorKind::Internal => {
                "An unexpected failure on the server. It has been logged with the request id shown in the problem."
            }
        }
    }

    pub fn from_slug(slug: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.slug() == slug)
    }

    /// Every kind, for documentation and exhaustive tests.
    pub const ALL: [ErrorKind; 15] = [
        ErrorKind::BadRequest,
        ErrorKind::Unauthenticated,
        ErrorKind::Forbidden,
        ErrorKind::NotFound,
        ErrorKind::MethodNotAllowed,
        ErrorKind::Conflict,
        ErrorKind::PreconditionFailed,
        ErrorKind::PreconditionRequired,
        ErrorKind::PayloadTooLarge,
        ErrorKind::UnsupportedMediaType,
        ErrorKind::Validation,
        ErrorKind::RateLimited,
        ErrorKind::Timeout,
        ErrorKind::Unavailable,
        ErrorKind::Internal,
    ];
}

/// A uniqueness rule of the stored data that a write broke, named for what it protects:
/// never by table, column or constraint, which clients must not see. `nexus-db` maps each
/// database constraint to one of these in a single table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unique {
    AccountEmail,
    AccountHandle,
    TopicSlug,
    NoteSlug,
    CourseSlug,
    CohortSlug,
    Enrolment,
    Submission,
    SubmissionRevision,
    ReviewAssignment,
    Review,
    Bookmark,
    TokenHash,
    JobDedupeKey,
    IdempotencyKey,
    CollaborationRequest,
    /// A rule the table does not know yet; reported without naming anything.
    Other,
}

impl Unique {
    /// What the client is told.
    pub fn describe(self) -> &'static str {
        match self {
            Unique::AccountEmail => "an account with this email address exists",
            Unique::AccountHandle => "this handle is taken",
            Unique::TopicSlug => "a topic with this slug exists",
            Unique::NoteSlug => "a note with this slug exists",
            Unique::CourseSlug => "a course with this slug exists",
            Unique::CohortSlug => "a cohort with this slug exists",
            Unique::Enrolment => "this user is already a member of the cohort",
            Unique::Submission => "this learner already has a submission for this deliverable",
            Unique::SubmissionRevision => {
                "another revision of this submission was handed in at the same time"
            }
            Unique::ReviewAssignment => "this reviewer is already assigned to this submission",
            Unique::Review => "this reviewer has already reviewed this revision",
            Unique::Bookmark => "this note is already bookmarked",
            Unique::TokenHash => "this token exists",
            Unique::JobDedupeKey => "this job is already queued",
            Unique::IdempotencyKey => "this idempotency key is already in use",
            Unique::CollaborationRequest => {
                "a collaboration request between you and this learner is already pending"
            }
            Unique::Other => "this already exists",
        }
    }
}

/// What can go wrong in a use case.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the request could not be understood at all (malformed JSON, bad query string).
    #[error("{0}")]
    BadRequest(String),
    /// 401: no credentials, or credentials that are not valid (any reason, one answer).
    #[error("{0}")]
    Unauthenticated(String),
    /// 403: authenticated, but this principal may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: missing, or not visible to this principal (the two are indistinguishable).
    #[error("{0}")]
    NotFound(String),
    /// 405: the route exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: the request conflicts with the current state (duplicate, concurrent duplicate).
    #[error("{0}")]
    Conflict(String),
    /// 409: a write broke a uniqueness rule of the data (a race past the use case's own
    /// check, or a rule only the database enforces).
    #[error("{}", .0.describe())]
    Duplicate(Unique),
    /// 412: `If-Match` named a version that is no longer current.
    #[error("{0}")]
    PreconditionFailed(String),
    /// 428: an update without `If-Match`.
    #[error("{0}")]
    PreconditionRequired(String),
    /// 413: the body is larger than this route accepts.
    #[error("the request body is larger than this route accepts")]
    PayloadTooLarge,
    /// 415: the body is not in a media type this route reads.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: well-formed input with invalid values; every offending field is listed.
    #[error("the input has {} invalid field(s)", .0.len())]
    Validation(Vec<FieldError>),
    /// 429: over a rate limit; the client may retry after this many seconds.
    #[error("too many requests")]
    RateLimited { retry_after_secs: u64 },
    /// 503 (timeout kind): the request took longer than the server allows.
    #[error("the request took too long")]
    Timeout,
    /// 503: a dependency (database, cache, queue) is not answering; retrying later may work.
    #[error("{0}")]
    Unavailable(String),
    /// 500: a bug or an unexpected failure. The cause is logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            AppError::BadRequest(_) => ErrorKind::BadRequest,
            AppError::Unauthenticated(_) => ErrorKind::Unauthenticated,
            AppError::Forbidden(_) => ErrorKind::Forbidden,
            AppError::NotFound(_) => ErrorKind::NotFound,
            AppError::MethodNotAllowed => ErrorKind::MethodNotAllowed,
            AppError::Conflict(_) | AppError::Duplicate(_) => ErrorKind::Conflict,
            AppError::PreconditionFailed(_) => ErrorKind::PreconditionFailed,
            AppError::PreconditionRequired(_) => ErrorKind::PreconditionRequired,
            AppError::PayloadTooLarge => ErrorKind::PayloadTooLarge,
            AppError::UnsupportedMediaType(_) => ErrorKind::UnsupportedMediaType,
            AppError::Validation(_) => ErrorKind::Validation,
            AppError::RateLimited { .. } => ErrorKind::RateLimited,
            AppError::Timeout => ErrorKind::Timeout,
            AppError::Unavailable(_) => ErrorKind::Unavailable,
            AppError::Internal(_) => ErrorKind::Internal,
        }
    }

    /// The message a client may see. Internal errors never expose their cause.
    pub fn public_detail(&self) -> String {
        match self {
            AppError::Internal(_) => "an unexpected error occurred; it has been logged".into(),
            other => other.to_string(),
        }
    }

    /// A 422 with a single field error.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        AppError::NotFound(what.into())
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_hide_their_cause() {
        let err = AppError::from(anyhow::anyhow!("password=hunter2 in SELECT *"));
        assert_eq!(err.kind(), ErrorKind::Internal);
        assert!(!err.public_detail().contains("hunter2"));
        assert!(!err.public_detail().contains("SELECT"));
    }

    #[test]
    fn every_kind_has_a_distinct_slug() {
        let mut slugs: Vec<_> = ErrorKind::ALL.iter().map(|k| k.slug()).collect();
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(slugs.len(), ErrorKind::ALL.len());
    }
}
