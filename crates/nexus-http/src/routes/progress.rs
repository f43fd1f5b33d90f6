//! Progress, retrospectives and the risk ledger: `/api/v1/cohorts/{slug}/progress*`,
//! `/api/v1/cohorts/{slug}/weeks/{n}/retrospective` and `/api/v1/me/ledger*`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use nexus_core::learning::{LedgerKind, LedgerStatus, Severity};
use nexus_service::learning::{
    CohortProgress, LearnerProgress, LedgerInput, LedgerItem, LedgerPatch, LedgerQuery,
    ProgressSort, RetrospectiveInput, RetrospectiveView,
};
use nexus_service::page::Page;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Authed;
use crate::csv_body as csv;
use crate::extract::{Bounded, JsonBody, QueryParams};
use crate::problem::{ApiResult, Problem};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(cohort_progress))
        .routes(routes!(learner_progress))
        .routes(routes!(get_retrospective, put_retrospective))
        .routes(routes!(list_ledger, create_ledger_item))
        .routes(routes!(
            get_ledger_item,
            update_ledger_item,
            delete_ledger_item
        ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProgressParams {
    /// `risk` (default): most at-risk reasons first, then by handle; `handle`: by handle.
    #[param(inline)]
    sort: Option<ProgressSort>,
}

/// A cohort's progress table: one row per active learner (its mentors and admins).
///
/// Each row has the learner's deliverables due and handed in, weeks scored, the latest
/// and mean week score, evidence completeness, trend, open ledger items and every
/// at-risk reason (the definitions are on the learner's progress). With
/// `Accept: text/csv` the same table comes as CSV (RFC 4180, a header row; text cells
/// that a spreadsheet would read as a formula start with `'`).
#[utoipa::path(get, path = "/api/v1/cohorts/{slug}/progress", tag = "progress", security(("bearer" = [])),
    params(("slug" = String, Path, description = "The cohort's slug."), ProgressParams),
    responses(
        (status = 200, description = "The table.", content(
            (CohortProgress = "application/json"),
            (String = "text/csv", example = json!("learner,display_name,due,submitted,scored,latest_score,mean_score,evidence_completeness,trend,open_ledger_items,at_risk\r\nada,Ada,4,3,3,55,61.67,0.5,-8.5,1,missed_deadline; falling_trend\r\n")),
        )),
        (status = 403, description = "Not a mentor of this cohort, nor an admin.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such cohort.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn cohort_progress(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(slug): Path<String>,
    headers: HeaderMap,
    QueryParams(p): QueryParams<ProgressParams>,
) -> ApiResult<Response> {
    let table = s
        .services
        .learning()
        .progress()
        .cohort(&u, &slug, p.sort.unwrap_or_default())
        .await?;
    if csv::wanted(&headers) {
        let name = format!("{}-progress.csv", table.cohort);
        return Ok(csv::response(&progress_csv(&table), &name));
    }
    Ok(Json(table).into_response())
}

fn progress_csv(table: &CohortProgress) -> Vec<Vec<String>> {
    let number = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
    let mut rows = vec![
        [
            "learner",
            "display_name",
            "due",
            "submitted",
            "scored",
            "latest_score",
            "mean_score",
            "evidence_completeness",
            "trend",
            "open_ledger_items",
            "at_risk",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for r in &table.learners {
        let reasons: Vec<&str> = r.at_risk.iter().map(|a| a.reason.as_str()).collect();
        rows.push(vec![
            csv::text(&r.learner),
            csv::text(&r.display_name),
            r.due.to_string(),
            r.submitted.to_string(),
            r.scored.to_string(),
            number(r.latest_score),
            number(r.mean_score),
            number(r.evidence_completeness),
            number(r.trend),
            r.open_ledger_items.to_string(),
            csv::text(&reasons.join("; ")),
        ]);
    }
    rows
}

/// One learner's progress (the learner, the cohort's mentors and admins).
///
/// - `weeks[].score`: the weighted total (0-100) of the mentor's review of the latest
///   reviewed revision of the week's deliverable; with only peer reviews on it, their
///   mean, and `provisional` is `true`. `criteria`: the same reviews per criterion,
///   scaled to 0-100.
/// - `evidence_completeness`: deliverables due so far whose latest revision carries every
///   required evidence kind and which have a mentor review ÷ deliverables due so far.
/// - `trend`: the least-squares slope of the last four week scores, points per week.
/// - `at_risk`: every reason that holds — a deliverable past due and not handed in, two
///   consecutive scored weeks below 60, a trend at or below -5, a high-severity ledger
///   item open more than 14 days, no retrospective for the last two weeks that ended.
/// - `ledger.open_by_week`: per week begun, the cohort's items logged for that week or
///   earlier still open at its end.
///
/// To anyone else, and for a handle that is no learner of the cohort, it is 404.
#[utoipa::path(get, path = "/api/v1/cohorts/{slug}/progress/{handle}", tag = "progress", security(("bearer" = [])),
    params(("slug" = String, Path, description = "The cohort's slug."),
           ("handle" = String, Path, description = "The learner's handle.")),
    responses(
        (status = 200, description = "The learner's progress.", body = LearnerProgress),
        (status = 404, description = "No such cohort, or no such learner in it visible to the caller.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn learner_progress(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path((slug, handle)): Path<(String, String)>,
) -> ApiResult<Json<LearnerProgress>> {
    Ok(Json(
        s.services
            .learning()
            .progress()
            .learner(&u, &slug, &handle)
            .await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RetrospectiveParams {
    /// Another learner's handle (the cohort's mentors and admins); the caller's own
    /// retrospective without it.
    #[param(value_type = Option<String>, max_length = 40)]
    learner: Option<Bounded<40>>,
}

/// A week's retrospective: the caller's own, or a learner's for the cohort's mentors.
#[utoipa::path(get, path = "/api/v1/cohorts/{slug}/weeks/{n}/retrospective", tag = "progress", security(("bearer" = [])),
    params(("slug" = String, Path, description = "The cohort's slug."),
           ("n" = u32, Path, description = "The week's number."), RetrospectiveParams),
    responses(
        (status = 200, description = "The retrospective.", body = RetrospectiveView),
        (status = 404, description = "No such cohort or week, or no retrospective visible to the caller.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_retrospective(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path((slug, n)): Path<(String, u32)>,
    QueryParams(p): QueryParams<RetrospectiveParams>,
) -> ApiResult<Json<RetrospectiveView>> {
    let learner = p.learner.map(Bounded::into_inner);
    Ok(Json(
        s.services
            .learning()
            .retrospectives()
            .get(&u, &slug, n, learner.as_deref())
            .await?,
    ))
}

/// Write the caller's retrospective of a week (an active learner of the cohort): what to
/// retain, improve and scale, in Markdown, at most 4000 characters each and not all
/// empty. Writing it again replaces it.
#[utoipa::path(put, path = "/api/v1/cohorts/{slug}/weeks/{n}/retrospective", tag = "progress", security(("bearer" = [])),
    params(("slug" = String, Path, description = "The cohort's slug."),
           ("n" = u32, Path, description = "The week's number.")),
    request_body = RetrospectiveInput,
    responses(
        (status = 200, description = "Replaced.", body = RetrospectiveView),
        (status = 201, description = "Written for the first time.", body = RetrospectiveView),
        (status = 403, description = "Not an active learner of this cohort.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such cohort, or no such week in its course.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The week has not begun.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn put_retrospective(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path((slug, n)): Path<(String, u32)>,
    JsonBody(input): JsonBody<RetrospectiveInput>,
) -> ApiResult<Response> {
    let done = s
        .services
        .learning()
        .retrospectives()
        .put(&u, &slug, n, input)
        .await?;
    let status = if done.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(done.retrospective)).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LedgerParams {
    /// Only items kept for this cohort (its slug).
    #[param(value_type = Option<String>, max_length = 80)]
    cohort: Option<Bounded<80>>,
    kind: Option<LedgerKind>,
    severity: Option<Severity>,
    status: Option<LedgerStatus>,
    /// Only items of this week (1-104, the longest a personal item may name).
    #[param(minimum = 1, maximum = 104)]
    week: Option<u32>,
    /// Page size, 1-100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(schema_with = crate::openapi::id_cursor)]
    cursor: Option<String>,
}

/// The caller's risk ledger, newest first, filtered.
#[utoipa::path(get, path = "/api/v1/me/ledger", tag = "progress", security(("bearer" = [])),
    params(LedgerParams),
    responses((status = 200, description = "A page of items.", body = Page<LedgerItem>)))]
async fn list_ledger(
    State(s): State<AppState>,
    Authed(u): Authed,
    QueryParams(p): QueryParams<LedgerParams>,
) -> ApiResult<Json<Page<LedgerItem>>> {
    if p.week.is_some_and(|w| !(1..=104).contains(&w)) {
        return Err(
            nexus_core::AppError::Validation(vec![nexus_core::error::FieldError::new(
                "week",
                "must be between 1 and 104",
            )])
            .into(),
        );
    }
    let cohort = p.cohort.map(Bounded::into_inner);
    let q = LedgerQuery {
        cohort: cohort.as_deref(),
        kind: p.kind,
        severity: p.severity,
        status: p.status,
        week: p.week,
    };
    Ok(Json(
        s.services
            .learning()
            .ledger()
            .list(&u, q, p.limit, p.cursor.as_deref())
            .await?,
    ))
}

/// Log a defect, risk or debt. With `cohort` (one the caller is a learner of) it counts
/// in that cohort's progress; without, it is personal. New items are open.
#[utoipa::path(post, path = "/api/v1/me/ledger", tag = "progress", security(("bearer" = [])),
    request_body = LedgerInput,
    responses(
        (status = 201, description = "Logged.", body = LedgerItem,
            headers(("Location" = String, description = "The item's URL."))),
    ))]
async fn create_ledger_item(
    State(s): State<AppState>,
    Authed(u): Authed,
    JsonBody(input): JsonBody<LedgerInput>,
) -> ApiResult<Response> {
    let item = s.services.learning().ledger().create(&u, input).await?;
    let href = format!("/api/v1/me/ledger/{}", item.id);
    let mut resp = (StatusCode::CREATED, Json(item)).into_response();
    if let Ok(l) = HeaderValue::from_str(&href) {
        resp.headers_mut().insert(header::LOCATION, l);
    }
    Ok(resp)
}

/// One item of the caller's ledger; anyone else's is 404.
#[utoipa::path(get, path = "/api/v1/me/ledger/{id}", tag = "progress", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The item's id.")),
    responses(
        (status = 200, description = "The item.", body = LedgerItem),
        (status = 404, description = "No such item of the caller's.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_ledger_item(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<LedgerItem>> {
    Ok(Json(s.services.learning().ledger().get(&u, id).await?))
}

/// Change an item: any of its fields but the cohort. `{"status": "closed"}` closes it
/// (stamping `closed_at`); `{"status": "open"}` opens it again.
#[utoipa::path(patch, path = "/api/v1/me/ledger/{id}", tag = "progress", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The item's id.")),
    request_body = LedgerPatch,
    responses(
        (status = 200, description = "The item as it is now.", body = LedgerItem),
        (status = 404, description = "No such item of the caller's.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_ledger_item(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(id): Path<Uuid>,
    JsonBody(patch): JsonBody<LedgerPatch>,
) -> ApiResult<Json<LedgerItem>> {
    Ok(Json(
        s.services.learning().ledger().update(&u, id, patch).await?,
    ))
}

/// Remove an item logged by mistake (closing keeps the history; this does not).
#[utoipa::path(delete, path = "/api/v1/me/ledger/{id}", tag = "progress", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The item's id.")),
    responses(
        (status = 204, description = "Removed."),
        (status = 404, description = "No such item of the caller's.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_ledger_item(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    s.services.learning().ledger().delete(&u, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
