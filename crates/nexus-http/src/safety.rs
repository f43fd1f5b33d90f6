//! Per-request safety controls, run on every matched route after the body limit and
//! timeout: who is asking, rate limits, and `Idempotency-Key` on POSTs.
//!
//! 1. The principal is resolved once (user from the bearer token, else the client
//!    address) and left in the request for the extractors ([`Resolved`], [`ClientIp`]). A
//!    token that does not authenticate counts as anonymous here; the handler's own
//!    extractor answers 401 for it.
//! 2. The request runs inside a [`RequestScope`] naming its client, so the use cases it
//!    calls charge their rate limits by operation class (read, search, write, upload,
//!    auth; see [`nexus_service::safety`]) against the same buckets whichever transport
//!    calls them.
//!    The decision they record becomes the `RateLimit-Policy` and `RateLimit` headers
//!    (draft-ietf-httpapi-ratelimit-headers); refusals are 429 problems with
//!    `Retry-After`. Routes that call no use case (probes, documents) are not limited.
//! 3. Idempotency (draft-ietf-httpapi-idempotency-key-header): a POST with a key claims
//!    `(principal, key)` in the database; the answer is stored and replayed to retries
//!    with the same body (`Idempotent-Replayed: true`). The use case records its result
//!    in its own transaction, so a retry of a request whose process died after the
//!    commit answers from that result instead of acting twice. The same key with another
//!    body is 422; while the first is running, 409. Server errors and 429s are not
//!    stored, so a retry runs afresh. Keys expire after `http.idempotency_ttl_hours`;
//!    `nexus serve` deletes expired ones periodically ([`cleanup_loop`]). An operation
//!    that streams its body (an upload) is not buffered for this: its body's digest
//!    joins the fingerprint once the handler has read it ([`BodyDigest`]).
//!
//! Stored answers contain what the first answer contained, secrets included (a new
//! personal access token): that is what makes a lost answer recoverable by retrying, and
//! it is the same data the client already received. They live only as long as the key.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use nexus_core::{AppError, FieldError};
use nexus_db::Db;
use nexus_db::idempotency as repo;
use nexus_service::ratelimit::{Decision, Policy};
use nexus_service::safety::{IdempotencyScope, RequestScope};
use sha2::{Digest, Sha256};
use std::sync::Arc;

use crate::AppState;
use crate::auth::{ClientIp, Resolved, bearer_token, client_ip};
use crate::problem::{ApiError, Problem, ProblemMarker};

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";
pub const RATELIMIT: &str = "ratelimit";
pub const RATELIMIT_POLICY: &str = "ratelimit-policy";

/// Longest stored answer; POST answers are single objects, far below this.
const MAX_STORED_BODY: usize = 1024 * 1024;

/// What the middleware needs: the application and which operations require credentials.
#[derive(Clone)]
pub struct Guard {
    pub state: AppState,
    pub secured: Arc<Secured>,
}

/// The operations whose description requires credentials (`security` in the OpenAPI
/// document), by method and route template. An anonymous request to one of them gets its
/// 401 before its `Idempotency-Key` is looked at: a key is never claimed, compared or
/// replayed for a request that was never going to be allowed.
#[derive(Debug, Default)]
pub struct Secured(std::collections::HashSet<(Method, String)>);

impl Secured {
    pub fn of(api: &utoipa::openapi::OpenApi) -> Self {
        let mut set = std::collections::HashSet::new();
        for (path, item) in &api.paths.paths {
            for (method, op) in [
                (Method::GET, &item.get),
                (Method::POST, &item.post),
                (Method::PUT, &item.put),
                (Method::PATCH, &item.patch),
                (Method::DELETE, &item.delete),
            ] {
                if op.as_ref().is_some_and(requires_credentials) {
                    set.insert((method, path.clone()));
                }
            }
        }
        Secured(set)
    }

    fn requires_credentials_for(&self, req: &Request) -> bool {
        // The document spells parameters `{slug}`, as axum's route templates do.
        req.extensions()
            .get::<axum::extract::MatchedPath>()
            .is_some_and(|p| {
                self.0
                    .contains(&(req.method().clone(), p.as_str().to_owned()))
            })
    }
}

/// Whether an operation's description demands credentials: it names a security scheme,
/// and no alternative of its `security` is the empty one (credentials optional).
fn requires_credentials(op: &utoipa::openapi::path::Operation) -> bool {
    op.security.as_ref().is_some_and(|alternatives| {
        !alternatives.is_empty()
            && alternatives.iter().all(|requirement| {
                serde_json::to_value(requirement)
                    .is_ok_and(|v| v.as_object().is_some_and(|m| !m.is_empty()))
            })
    })
}

/// The middleware; see the module documentation.
pub async fn guard(
    State(Guard { state, secured }): State<Guard>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let ip = client_ip(peer, req.headers(), &state.trusted_proxies);
    req.extensions_mut().insert(ClientIp(ip));
    let user = match bearer_token(req.headers()) {
        Ok(Some(token)) => state
            .services
            .identity()
            .sessions()
            .authenticate(token)
            .await
            .ok(),
        _ => None,
    };
    let subject = match &user {
        Some(u) => format!("u:{}", u.id),
        None => format!("ip:{ip}"),
    };
    let anonymous = user.is_none();
    if let Some(u) = user {
        req.extensions_mut().insert(Resolved(u));
    }

    if req.method() == Method::POST
        && req.headers().contains_key(IDEMPOTENCY_KEY)
        && !(anonymous && secured.requires_credentials_for(&req))
    {
        let answer = if crate::routes::streams_body(&req) {
            idempotent_streamed(&state, subject, req, next).await
        } else {
            idempotent(&state, subject, req, next).await
        };
        return answer.unwrap_or_else(IntoResponse::into_response);
    }
    in_scope(Arc::new(RequestScope::new(subject, None)), req, next).await
}

/// Runs the rest of the request inside `scope`, then writes the rate-limit headers of the
/// last limit its use cases charged.
async fn in_scope(scope: Arc<RequestScope>, req: Request, next: Next) -> Response {
    let mut resp = scope.clone().run(next.run(req)).await;
    if let Some((policy, decision)) = scope.last_decision() {
        add_rate_headers(resp.headers_mut(), &policy, &decision);
    }
    resp
}

/// `RateLimit-Policy: "auth";q=5;w=60` and `RateLimit: "auth";r=4;t=12`.
fn add_rate_headers(headers: &mut HeaderMap, policy: &Policy, d: &Decision) {
    let policy_value = format!(
        "\"{}\";q={};w={}",
        policy.name,
        policy.limit,
        policy.period.as_secs()
    );
    let state_value = format!("\"{}\";r={};t={}", policy.name, d.remaining, d.reset_secs);
    for (name, value) in [(RATELIMIT_POLICY, policy_value), (RATELIMIT, state_value)] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    }
}

/// A POST with an `Idempotency-Key`.
async fn idempotent(
    state: &AppState,
    subject: String,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let subject = subject.as_str();
    let key = idempotency_key(req.headers())?;
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|e| body_error(&e))?;
    let fingerprint = fingerprint(&parts.method, &parts.uri, &body);
    let row = match claim(state, subject, &key, &fingerprint).await? {
        Claimed::Ours => {
            let req = Request::from_parts(parts, Body::from(body));
            let scope = idempotency_scope(subject, &key, None);
            return answer_and_store(state, scope, subject, &key, req, next, Keep::Answer).await;
        }
        Claimed::Earlier(row) => row,
    };
    if row.fingerprint != fingerprint {
        return Err(key_reused());
    }
    match (row.status, row.body, row.effect) {
        (Some(status), Some(body), _) => Ok(replay(status, row.headers.as_deref(), body)),
        // The first attempt committed its effect but its answer was never stored
        // (its process died in between): run the handler again, and its use case
        // answers with the committed result instead of acting.
        (None, _, Some(effect)) => {
            let scope = idempotency_scope(subject, &key, Some(effect));
            let req = Request::from_parts(parts, Body::from(body));
            let resp =
                answer_and_store(state, scope, subject, &key, req, next, Keep::Answer).await?;
            Ok(mark_replayed(resp))
        }
        _ => Err(in_progress()),
    }
}

/// A POST with an `Idempotency-Key` to an operation that streams its body (an upload,
/// [`crate::routes::streams_body`]), whose body is not read here: holding it to
/// fingerprint it first would hold the whole file.
///
/// The claim's fingerprint covers what comes before the body: method, target, and the
/// headers that say what the body is (its type and name). The body's SHA-256 joins it
/// once the handler has read the body to its end and says so ([`BodyDigest`]); only then
/// is the answer stored. An answer given before the body was read through (a refused
/// type, a body over the limit) is not stored, and a retry runs afresh, as it would for
/// any request that changed nothing. A retry of a stored answer has its body hashed as it
/// arrives, and dropped, to be compared; one whose first attempt committed but never
/// answered is compared by its use case against the committed result.
async fn idempotent_streamed(
    state: &AppState,
    subject: String,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let subject = subject.as_str();
    let key = idempotency_key(req.headers())?;
    let head = head_fingerprint(&req);
    let row = match claim(state, subject, &key, &head).await? {
        Claimed::Ours => {
            let scope = idempotency_scope(subject, &key, None);
            return answer_and_store(
                state,
                scope,
                subject,
                &key,
                req,
                next,
                Keep::WithBody(&head),
            )
            .await;
        }
        Claimed::Earlier(row) => row,
    };
    match (row.status, row.body, row.effect) {
        (Some(status), Some(body), _) => {
            let limit = state.settings.storage.max_upload_bytes;
            let same = match body_digest(req.into_body(), limit).await? {
                Some(digest) => row.fingerprint == streamed_fingerprint(&head, &digest),
                None => false,
            };
            if !same {
                return Err(key_reused());
            }
            Ok(replay(status, row.headers.as_deref(), body))
        }
        (None, _, Some(effect)) => {
            if row.fingerprint != head {
                return Err(key_reused());
            }
            let scope = idempotency_scope(subject, &key, Some(effect));
            let resp = answer_and_store(
                state,
                scope,
                subject,
                &key,
                req,
                next,
                Keep::WithBody(&head),
            )
            .await?;
            Ok(mark_replayed(resp))
        }
        _ => Err(in_progress()),
    }
}

/// Left in an answer's extensions by a handler that read its streamed request body to
/// its end: the body's SHA-256 in lowercase hex. Without it, the answer of a streamed
/// operation is not stored for replay ([`idempotent_streamed`]).
#[derive(Debug, Clone)]
pub struct BodyDigest(pub String);

/// Where claiming a key ended.
enum Claimed {
    /// The key is this request's now.
    Ours,
    /// An earlier request holds it, still running or finished: its row.
    Earlier(repo::IdempotencyRow),
}

/// Claims `key` for `subject` with `fingerprint`, taking over a claim that expired or
/// whose request can no longer be running.
async fn claim(
    state: &AppState,
    subject: &str,
    key: &str,
    fingerprint: &str,
) -> Result<Claimed, ApiError> {
    let db = &state.db;
    let ttl = chrono::Duration::hours(
        i64::try_from(state.settings.http.idempotency_ttl_hours).unwrap_or(24),
    );
    // A claim older than twice the request timeout belongs to a request that can no
    // longer be running (its process died); it may be taken over.
    let abandoned_after = chrono::Duration::seconds(
        i64::try_from(state.settings.http.request_timeout_secs.saturating_mul(2))
            .unwrap_or(i64::MAX / 2),
    );
    let mut attempts = 0;
    loop {
        attempts += 1;
        let now = Utc::now();
        if repo::claim(db, subject, key, fingerprint, now, now + ttl).await? {
            return Ok(Claimed::Ours);
        }
        let Some(row) = repo::find(db, subject, key).await? else {
            // Released between our claim and our look; claim again.
            if attempts < 3 {
                continue;
            }
            return Err(in_progress());
        };
        let dead = row.expires_at <= now
            || (row.status.is_none() && row.created_at < now - abandoned_after);
        if dead && attempts < 3 {
            repo::remove_if_dead(db, subject, key, now, now - abandoned_after).await?;
            continue;
        }
        return Ok(Claimed::Earlier(row));
    }
}

fn idempotency_scope(subject: &str, key: &str, committed: Option<String>) -> Arc<RequestScope> {
    Arc::new(RequestScope::new(
        subject.to_owned(),
        Some(IdempotencyScope {
            scope: subject.to_owned(),
            key: key.to_owned(),
            committed,
        }),
    ))
}

fn key_reused() -> ApiError {
    ApiError(AppError::Validation(vec![FieldError::new(
        "Idempotency-Key",
        "this key was already used with a different request",
    )]))
}

/// Which answers are stored under a claimed key.
#[derive(Clone, Copy)]
enum Keep<'a> {
    /// Any answer worth replaying; the claim's fingerprint stands.
    Answer,
    /// Only an answer whose handler read the streamed body through ([`BodyDigest`]);
    /// the fingerprint becomes this head's with the body's digest.
    WithBody(&'a str),
}

/// Runs the handler inside `scope` and stores its answer under the claimed key, or
/// releases the claim when the answer is not worth replaying.
async fn answer_and_store(
    state: &AppState,
    scope: Arc<RequestScope>,
    subject: &str,
    key: &str,
    req: Request,
    next: Next,
    keep: Keep<'_>,
) -> Result<Response, ApiError> {
    let db = &state.db;
    let mut claim = Claim {
        db: db.clone(),
        scope: subject.to_owned(),
        key: key.to_owned(),
        armed: true,
    };
    let resp = in_scope(scope, req, next).await;
    let status = resp.status();
    let (parts, body) = resp.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            // The handler's answer broke off; nothing can be stored or replayed.
            return Err(ApiError(AppError::Internal(anyhow::anyhow!(
                "reading the answer to store it: {e}"
            ))));
        }
    };
    let storable = !(status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS)
        && body.len() <= MAX_STORED_BODY;
    let fingerprint = match keep {
        Keep::Answer => None,
        Keep::WithBody(head) => parts
            .extensions
            .get::<BodyDigest>()
            .map(|d| streamed_fingerprint(head, &d.0)),
    };
    let storable = storable && (matches!(keep, Keep::Answer) || fingerprint.is_some());
    if storable {
        let headers = stored_headers(&parts.headers);
        let status = i32::from(status.as_u16());
        match &fingerprint {
            Some(fp) => {
                repo::complete_as(db, subject, key, fp, status, &headers, &body).await?;
            }
            None => repo::complete(db, subject, key, status, &headers, &body).await?,
        }
    } else {
        repo::release(db, subject, key).await?;
    }
    claim.armed = false;
    Ok(Response::from_parts(parts, Body::from(body)))
}

/// Releases a claim whose request was abandoned (a panic, the timeout, a dropped client),
/// so that the key can be retried at once rather than being 409 until it is reclaimed.
struct Claim {
    db: Db,
    scope: String,
    key: String,
    armed: bool,
}

impl Drop for Claim {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let (db, scope, key) = (self.db.clone(), self.scope.clone(), self.key.clone());
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                if let Err(e) = repo::release(&db, &scope, &key).await {
                    tracing::warn!(error = %e, "cannot release an abandoned idempotency key");
                }
            });
        }
    }
}

fn in_progress() -> ApiError {
    ApiError(AppError::Conflict(
        "a request with this Idempotency-Key is still in progress; retry later".into(),
    ))
}

/// The form of `Idempotency-Key` the document declares and [`idempotency_key`] accepts:
/// 1-255 visible ASCII characters other than `"`, bare or quoted (the draft defines the
/// key as a structured-field string, `"…"`).
pub const IDEMPOTENCY_KEY_PATTERN: &str = r#"^("[!#-~]{1,255}"|[!#-~]{1,255})$"#;

/// The key as sent, without its quotes.
fn idempotency_key(headers: &HeaderMap) -> Result<String, ApiError> {
    let bad = || {
        ApiError(AppError::BadRequest(
            "Idempotency-Key must be 1-255 visible ASCII characters other than `\"`, bare or in quotes"
                .into(),
        ))
    };
    let raw = headers
        .get(IDEMPOTENCY_KEY)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(bad)?;
    let key = match raw.strip_prefix('"').and_then(|k| k.strip_suffix('"')) {
        Some(quoted) => quoted,
        None => raw,
    };
    let visible = |b: u8| b != b'"' && (0x21..=0x7e).contains(&b);
    if key.is_empty() || key.len() > 255 || !key.bytes().all(visible) {
        return Err(bad());
    }
    Ok(key.to_owned())
}

fn body_error(err: &axum::Error) -> ApiError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return ApiError(AppError::PayloadTooLarge);
        }
        source = e.source();
    }
    ApiError(AppError::BadRequest(
        "the request body could not be read".into(),
    ))
}

/// What makes two requests "the same": method, target and body.
fn fingerprint(method: &Method, uri: &axum::http::Uri, body: &Bytes) -> String {
    let mut h = Sha256::new();
    h.update(method.as_str().as_bytes());
    h.update([0]);
    h.update(uri.path_and_query().map_or("", |p| p.as_str()).as_bytes());
    h.update([0]);
    h.update(body);
    hex(&h.finalize())
}

/// What identifies a streamed request before its body: method, target, and the headers
/// that say what the body is.
fn head_fingerprint(req: &Request) -> String {
    let mut h = Sha256::new();
    h.update(b"streamed");
    h.update([0]);
    h.update(req.method().as_str().as_bytes());
    h.update([0]);
    h.update(
        req.uri()
            .path_and_query()
            .map_or("", |p| p.as_str())
            .as_bytes(),
    );
    for name in [header::CONTENT_TYPE, header::CONTENT_DISPOSITION] {
        h.update([0]);
        h.update(
            req.headers()
                .get(name)
                .map_or(&b""[..], HeaderValue::as_bytes),
        );
    }
    hex(&h.finalize())
}

/// The fingerprint of a streamed request once its body's digest is known.
fn streamed_fingerprint(head: &str, body_digest: &str) -> String {
    let mut h = Sha256::new();
    h.update(head.as_bytes());
    h.update([0]);
    h.update(body_digest.as_bytes());
    hex(&h.finalize())
}

/// The SHA-256 of a body read to its end and dropped as it arrives; `None` past `limit`
/// bytes (no stored answer has a body that large).
async fn body_digest(body: Body, limit: u64) -> Result<Option<String>, ApiError> {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut h = Sha256::new();
    let mut size = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| body_error(&e))?;
        if let Ok(data) = frame.into_data() {
            size += data.len() as u64;
            if size > limit {
                return Ok(None);
            }
            h.update(&data);
        }
    }
    Ok(Some(hex(&h.finalize())))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The handler's own headers as JSON; framing headers are recomputed on replay.
fn stored_headers(headers: &HeaderMap) -> String {
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .filter(|(name, _)| *name != header::CONTENT_LENGTH && *name != header::TRANSFER_ENCODING)
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
        .collect();
    serde_json::to_string(&pairs).unwrap_or_else(|_| "[]".into())
}

/// Marks an answer as the replay of an earlier request's.
fn mark_replayed(mut resp: Response) -> Response {
    resp.headers_mut().insert(
        HeaderName::from_static(IDEMPOTENT_REPLAYED),
        HeaderValue::from_static("true"),
    );
    resp
}

fn replay(status: i32, headers: Option<&str>, body: Vec<u8>) -> Response {
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let pairs: Vec<(String, String)> = headers
        .and_then(|h| serde_json::from_str(h).ok())
        .unwrap_or_default();
    let problem = (status.is_client_error() || status.is_server_error())
        .then(|| serde_json::from_slice::<Problem>(&body).ok())
        .flatten();
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    let out = resp.headers_mut();
    for (name, value) in pairs {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            out.append(n, v);
        }
    }
    out.insert(
        HeaderName::from_static(IDEMPOTENT_REPLAYED),
        HeaderValue::from_static("true"),
    );
    if let Some(problem) = problem {
        resp.extensions_mut()
            .insert(ProblemMarker::replayed(problem));
    }
    resp
}

/// Deletes expired idempotency keys every `every` until the task is dropped. Started by
/// `nexus serve`; every instance may run it, the deletes do not conflict.
pub async fn cleanup_loop(db: Db, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match repo::delete_expired(&db, Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "expired idempotency keys removed"),
            Err(e) => tracing::warn!(error = %e, "cannot remove expired idempotency keys"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_and_may_be_quoted() {
        let mut h = HeaderMap::new();
        h.insert(IDEMPOTENCY_KEY, HeaderValue::from_static("\"abc-123\""));
        assert_eq!(idempotency_key(&h).unwrap(), "abc-123");
        h.insert(IDEMPOTENCY_KEY, HeaderValue::from_static("has space"));
        assert!(idempotency_key(&h).is_err());
        h.insert(IDEMPOTENCY_KEY, HeaderValue::from_static("\"\""));
        assert!(idempotency_key(&h).is_err());
        h.insert(IDEMPOTENCY_KEY, HeaderValue::from_static("\"open"));
        assert!(idempotency_key(&h).is_err());
        h.insert(IDEMPOTENCY_KEY, HeaderValue::from_static("in\"side"));
        assert!(idempotency_key(&h).is_err());
        let longest = "k".repeat(255);
        h.insert(
            IDEMPOTENCY_KEY,
            HeaderValue::from_str(&format!("\"{longest}\"")).unwrap(),
        );
        assert_eq!(idempotency_key(&h).unwrap(), longest);
        let long = "k".repeat(256);
        h.insert(IDEMPOTENCY_KEY, HeaderValue::from_str(&long).unwrap());
        assert!(idempotency_key(&h).is_err());
    }

    #[test]
    fn replayed_answers_keep_status_headers_and_body() {
        let headers = HeaderMap::from_iter([(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )]);
        let stored = stored_headers(&headers);
        let resp = replay(201, Some(&stored), b"{\"id\":1}".to_vec());
        assert_eq!(resp.status(), StatusCode::CREATED);
        assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(resp.headers()[IDEMPOTENT_REPLAYED], "true");
    }
}
