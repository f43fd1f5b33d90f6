//! The OpenAPI 3.1 document. Paths are collected from the handlers' `#[utoipa::path]`
//! attributes by `utoipa-axum` as routes are registered, so a route cannot exist without
//! its description; [`finish`] then adds what every operation shares (the bearer scheme
//! the problem answers, rate-limit headers and `Idempotency-Key` on POSTs), so no handler
//! can forget them.

use utoipa::OpenApi;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Ref, RefOr};

use crate::problem::{PROBLEM_JSON, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Nexus API",
        description = "The REST API of Nexus, a knowledge hub and cohort learning platform \
for software engineers.\n\n\
Conventions: JSON with snake_case fields; RFC 3339 UTC timestamps; UUIDv7 ids. Every error \
is an RFC 9457 problem (`application/problem+json`) whose `type` names a stable kind \
documented at that URI; 422 answers list every invalid field in `errors`. Every answer \
carries `X-Request-Id` (an incoming one is kept when it is short and plain). Lists take \
`limit` (1-100, default 20) and the opaque `cursor` from the previous page's `next_cursor`.\n\n\
Rate limits: each client (the user, or the address when anonymous) has a budget per route \
class (sign-in, registration and password reset are strict; writes moderate; reads \
generous). Answers under `/api/` carry `RateLimit-Policy` and `RateLimit` \
(draft-ietf-httpapi-ratelimit-headers); a refused request is 429 with `Retry-After`.\n\n\
Idempotency: every POST takes an optional `Idempotency-Key` (1-255 visible ASCII \
characters). A retry with the same key and body gets the first answer again with \
`Idempotent-Replayed: true`; the same key with another body is 422; while the first \
request runs, 409. Keys are scoped to the caller and kept 24 hours.\n\n\
Authentication: `Authorization: Bearer <token>` with either an access token from \
`/api/v1/auth/login` (15 minutes; renew with `/api/v1/auth/refresh`) or a personal access \
token (`nxp_…`, from `/api/v1/me/tokens`) whose `read` scope cannot change anything.",
        license(name = "MIT OR Apache-2.0"),
    ),
    tags(
        (name = "identity", description = "Accounts, sign-in, sessions and personal access tokens."),
        (name = "hub", description = "Topics, notes, revisions, cross-references and search."),
        (name = "discussion", description = "Comments, edit proposals, inaccuracy reports, followed topics, bookmarks and the feed."),
        (name = "learning", description = "Courses as code: versioned documents of weeks, Bloom-levelled objectives, labs, deliverables, capstone projects and rubrics; zip import and export."),
        (name = "cohorts", description = "Cohorts that run a course version from a start date in one time zone: their calendar of deadlines (23:59 local at the end of each week, correct across daylight-saving changes, with overrides) and their members (learners and mentors)."),
        (name = "submissions", description = "Hand-ins for a cohort's deliverables and their revisions (late flags, missing evidence), peer review assignments made on every hand-in, rubric-scored reviews by mentors and peers, ratings of peer reviews and reviewer quality."),
        (name = "progress", description = "How learners are doing, computed from their work: week scores from rubric reviews (provisional while only peers reviewed), evidence completeness, trend, at-risk reasons; weekly retrospectives (retain, improve, scale) and each learner's risk ledger of defects, risks and debt. A cohort's table comes as JSON or CSV."),
        (name = "portfolios", description = "Opt-in portfolios of reviewed evidence: entries citing your own mentor-reviewed submissions with their score, artifacts and skills, your published notes and accepted collaborations; public or private, entry by entry."),
        (name = "collaboration", description = "Collaborator matching: profiles (track, stack, topics, hours, time zone), ranked matches with the reasons for each score, collaboration requests the partner accepts or declines, and blocks."),
        (name = "uploads", description = "Files kept in the object store: uploaded as they are (streamed, hashed, checked against their declared type), downloaded by those who may read them."),
        (name = "webhooks", description = "Endpoints that receive signed deliveries of domain events, with retries, a circuit breaker per endpoint and a delivery log."),
        (name = "admin", description = "User management and the background job ledger, for admins."),
        (name = "operations", description = "Liveness, readiness, metrics and error documentation."),
    ),
    // Schemas referenced only from query parameters are not collected from the handlers.
    components(schemas(Problem, nexus_core::FieldError, nexus_service::hub::NoteSort)),
)]
pub struct ApiDoc;

/// The schema of `cursor` on lists paged by id ([`nexus_service::page`] decodes exactly
/// what it matches).
pub fn id_cursor() -> utoipa::openapi::schema::Object {
    cursor(nexus_service::page::ID_CURSOR_PATTERN)
}

/// The schema of `cursor` on lists paged by time and id (`GET /notes`).
pub fn time_cursor() -> utoipa::openapi::schema::Object {
    cursor(nexus_service::page::TIME_CURSOR_PATTERN)
}

/// The schema of a job's `state` filter.
pub fn job_state() -> utoipa::openapi::schema::Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(nexus_service::jobs::STATES))
        .build()
}

/// Declares what a server registers at start-up, which no annotation can name: the job
/// kinds (the `kind` filter of `GET /api/v1/admin/jobs`) and the event types (the
/// `events` of a new webhook).
pub fn declare_registered(
    api: &mut utoipa::openapi::OpenApi,
    registry: &nexus_service::jobs::Registry,
) {
    let kinds: Vec<&str> = registry.job_names().collect();
    let param = api
        .paths
        .paths
        .get_mut("/api/v1/admin/jobs")
        .and_then(|item| item.get.as_mut())
        .and_then(|op| op.parameters.as_mut())
        .and_then(|params| params.iter_mut().find(|p| p.name == "kind"));
    if let Some(param) = param {
        param.schema = Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(kinds))
                .into(),
        );
    }
    let events: Vec<&str> = registry.event_types().map(|e| e.name).collect();
    let webhook = api
        .components
        .as_mut()
        .and_then(|c| c.schemas.get_mut("CreateWebhook"));
    if let Some(RefOr::T(utoipa::openapi::schema::Schema::Object(object))) = webhook
        && let Some(RefOr::T(utoipa::openapi::schema::Schema::Array(array))) =
            object.properties.get_mut("events")
    {
        array.items = utoipa::openapi::schema::ArrayItems::RefOrSchema(Box::new(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(events))
                .into(),
        ));
    }
}

fn cursor(pattern: &str) -> utoipa::openapi::schema::Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .build()
}

/// Adds the bearer security scheme and the problem answers every operation can give.
pub fn finish(mut api: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            Http::builder()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "An access token (JWT) from /api/v1/auth/login, or a personal access token (nxp_…).",
                ))
                .build(),
        ),
    );
    for (path, item) in api.paths.paths.iter_mut() {
        let limited = path.starts_with("/api/");
        if let Some(op) = item.post.as_mut() {
            add_idempotency(op);
        }
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            add_problem_responses(op, limited);
        }
        if let Some(op) = item.post.as_mut() {
            mark_replayable(op);
        }
    }
    challenge_needs_its_fields(&mut api);
    api
}

/// Text with at least one character that is neither blank nor a control character: what
/// the request types declare for required free text (`bounded_text` with a minimum of 1).
const NONBLANK_TEXT: &str = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$";

/// A new challenge needs `problem`, `solution` and `outcome` (`rules::challenge_complete`):
/// a rule across fields, which annotations cannot state, so `CreateNote` becomes "its
/// fields, and either a kind other than challenge or the three of them".
fn challenge_needs_its_fields(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::{AllOfBuilder, AnyOfBuilder, Schema};
    let Some(components) = api.components.as_mut() else {
        return;
    };
    let other_kinds: Vec<String> = match components.schemas.get("NoteKind") {
        Some(RefOr::T(Schema::Object(kind))) => kind
            .enum_values
            .iter()
            .flatten()
            .filter_map(|v| v.as_str())
            .filter(|k| *k != "challenge")
            .map(str::to_owned)
            .collect(),
        _ => return,
    };
    let Some(RefOr::T(create)) = components.schemas.remove("CreateNote") else {
        return;
    };
    let fields = ["problem", "solution", "outcome"];
    let mut challenge = ObjectBuilder::new();
    for field in fields {
        challenge = challenge.property(
            field,
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(NONBLANK_TEXT)),
        );
        challenge = challenge.required(field);
    }
    let either = AnyOfBuilder::new()
        .item(
            ObjectBuilder::new().property(
                "kind",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(other_kinds)),
            ),
        )
        .item(challenge);
    let whole = AllOfBuilder::new().item(create).item(either);
    components.schemas.insert(
        "CreateNote".to_owned(),
        RefOr::T(Schema::AllOf(whole.build())),
    );
}

fn problem_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build(),
    )
}

fn string_header(description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(ObjectBuilder::new().schema_type(Type::String))
        .description(Some(description))
        .build()
}

fn rate_limit_headers() -> [(&'static str, utoipa::openapi::header::Header); 2] {
    [
        (
            "RateLimit-Policy",
            string_header("The quota of this route class: `\"name\";q=<requests>;w=<seconds>`."),
        ),
        (
            "RateLimit",
            string_header(
                "What is left of it: `\"name\";r=<remaining>;t=<seconds until full again>`.",
            ),
        ),
    ]
}

/// The `Idempotency-Key` parameter, the 409 and 422 it can cause, and the replay marker
/// on every answer.
fn add_idempotency(op: &mut Operation) {
    let param = ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(utoipa::openapi::Required::False)
        .description(Some(
            "Makes retries safe: the same key with the same body answers the first answer \
             again instead of acting twice. 1-255 visible ASCII characters other than `\"`, \
             bare or in quotes, e.g. a UUID; any other value is 400. Ignored on an anonymous \
             request to an operation that needs credentials (401).",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(crate::safety::IDEMPOTENCY_KEY_PATTERN)),
        ))
        .build();
    op.parameters.get_or_insert_with(Vec::new).push(param);
    for (status, description) in [
        (
            "400",
            "The request could not be parsed (malformed JSON or parameters, or a malformed `Idempotency-Key`).",
        ),
        (
            "409",
            "A request with this `Idempotency-Key` is still in progress (or a conflict with current state).",
        ),
        (
            "422",
            "Invalid input, or this `Idempotency-Key` was used with a different body.",
        ),
    ] {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| problem_response(description));
    }
}

/// Any answer of a POST, the standard problems included, may be a replay.
fn mark_replayable(op: &mut Operation) {
    for response in op.responses.responses.values_mut() {
        if let RefOr::T(r) = response {
            r.headers.insert(
                "Idempotent-Replayed".to_owned(),
                string_header("`true` when this is a stored answer replayed for a repeated `Idempotency-Key`."),
            );
        }
    }
}

fn add_problem_responses(op: &mut Operation, limited: bool) {
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let has_body = op.request_body.is_some();
    let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let has_query = op
        .parameters
        .as_ref()
        .is_some_and(|p| p.iter().any(|p| p.parameter_in == ParameterIn::Query));
    let mut standard: Vec<(&str, &str)> = Vec::new();
    if has_body || has_params {
        standard.push((
            "400",
            "The request could not be parsed (malformed JSON or parameters).",
        ));
    }
    if secured {
        standard.push(("401", "Missing, invalid, expired or revoked credentials."));
        standard.push((
            "403",
            "The credentials do not allow this (role, token scope, unverified email).",
        ));
    }
    if has_query && !has_body {
        // Filters and cursors are checked by the service layer, which lists every bad one.
        standard.push(("422", "Some parameters are invalid; `errors` lists them."));
    }
    if has_body {
        standard.push(("413", "The body is larger than the limit."));
        standard.push(("415", "The body is not `application/json`."));
        standard.push(("422", "Some fields are invalid; `errors` lists them."));
    }
    if limited {
        standard.push(("429", "Too many requests; wait for `Retry-After` seconds."));
    }
    standard.push((
        "500",
        "An unexpected failure; quote `request_id` when reporting it.",
    ));
    standard.push((
        "503",
        "A dependency is not answering, or the request timed out.",
    ));
    for (status, description) in standard {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| problem_response(description));
    }
    if !limited {
        return;
    }
    for (status, response) in op.responses.responses.iter_mut() {
        let RefOr::T(r) = response else { continue };
        if status == "429" {
            r.headers.insert(
                "Retry-After".to_owned(),
                HeaderBuilder::new()
                    .schema(
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .minimum(Some(1)),
                    )
                    .description(Some("Seconds to wait before the next request is allowed."))
                    .build(),
            );
        }
        for (name, header) in rate_limit_headers() {
            r.headers.insert(name.to_owned(), header);
        }
    }
}
