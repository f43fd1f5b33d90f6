//! `/api/v1/webhooks*`: endpoints that receive signed event deliveries.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use nexus_service::page::Page;
use nexus_service::webhooks::{
    CreateWebhook, CreatedWebhook, Delivery, TestDelivery, Webhook, WebhookList,
};
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
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(get_webhook, delete_webhook))
        .routes(routes!(list_deliveries))
        .routes(routes!(test_webhook))
}

/// Register a webhook endpoint for a set of event types.
///
/// Every delivery is a `POST` of `{"id", "type", "occurred_at", "data"}` with the headers
/// `Nexus-Event` (the type), `Nexus-Delivery` (the event id, the same on every retry, so
/// receivers can drop duplicates) and `Nexus-Signature: t=<unix seconds>,v1=<hex>`, where
/// `v1` is HMAC-SHA256 keyed with the `secret` returned here over `"<t>.<raw body>"`.
/// A 2xx answer is success; anything else, or no answer within the outbound timeout, is
/// retried with exponential backoff. After `webhooks.breaker_failures` failures in a row
/// the endpoint's breaker opens: deliveries wait, and after the cool-down one probe goes;
/// its success closes the breaker. URLs on loopback, private or link-local addresses are
/// refused.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", security(("bearer" = [])),
    request_body = CreateWebhook,
    responses(
        (status = 201, description = "Registered; the secret is shown this once.", body = CreatedWebhook),
        (status = 409, description = "The account has as many webhooks as it may.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A URL that is malformed or not public, or unknown event types.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_webhook(
    State(s): State<AppState>,
    Authed(u): Authed,
    JsonBody(input): JsonBody<CreateWebhook>,
) -> ApiResult<(StatusCode, Json<CreatedWebhook>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.services.webhooks().create(&u, input).await?),
    ))
}

/// The caller's webhook endpoints, with the state of each one's circuit breaker.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", security(("bearer" = [])),
    responses((status = 200, description = "The caller's endpoints, oldest first.", body = WebhookList)))]
async fn list_webhooks(
    State(s): State<AppState>,
    Authed(u): Authed,
) -> ApiResult<Json<WebhookList>> {
    Ok(Json(s.services.webhooks().list(&u).await?))
}

/// One webhook endpoint (its owner, or an admin).
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The webhook's id.")),
    responses(
        (status = 200, description = "The endpoint.", body = Webhook),
        (status = 404, description = "No such webhook visible to the caller.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_webhook(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Webhook>> {
    Ok(Json(s.services.webhooks().get(&u, id).await?))
}

/// Delete a webhook endpoint with its delivery log; queued deliveries to it are dropped.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The webhook's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such webhook visible to the caller.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_webhook(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    s.services.webhooks().delete(&u, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct DeliveriesParams {
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(schema_with = crate::openapi::id_cursor)]
    cursor: Option<String>,
}

/// The delivery log of an endpoint: every attempt, newest first, with its outcome,
/// status code, error and duration.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The webhook's id."), DeliveriesParams),
    responses(
        (status = 200, description = "A page of delivery attempts.", body = Page<Delivery>),
        (status = 404, description = "No such webhook visible to the caller.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_deliveries(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(id): Path<Uuid>,
    QueryParams(p): QueryParams<DeliveriesParams>,
) -> ApiResult<Json<Page<Delivery>>> {
    Ok(Json(
        s.services
            .webhooks()
            .deliveries(&u, id, p.limit, p.cursor.as_deref())
            .await?,
    ))
}

/// Send a `webhook.test` event to the endpoint, through the queue like any delivery;
/// its outcome appears in the delivery log.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/test", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The webhook's id.")),
    responses(
        (status = 202, description = "The test delivery is queued.", body = TestDelivery),
        (status = 404, description = "No such webhook visible to the caller.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn test_webhook(
    State(s): State<AppState>,
    Authed(u): Authed,
    Path(id): Path<Uuid>,
) -> ApiResult<(StatusCode, Json<TestDelivery>)> {
    Ok((
        StatusCode::ACCEPTED,
        Json(s.services.webhooks().test(&u, id).await?),
    ))
}
