//! Webhooks: endpoints that users and admins register for a set of event types. Each
//! domain event becomes a `webhook.fanout` job, which makes one `webhook.deliver` job
//! per subscribed endpoint; deliveries are signed ([`deliver::sign`]), retried with the
//! queue's backoff, held back by a per-endpoint circuit breaker and logged.

pub mod deliver;
pub mod target;

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use nexus_core::identity::Role;
use nexus_core::{AppError, FieldError, error::AppResult};
use nexus_db::jobs::from_micros;
use nexus_db::webhooks as repo;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::actor::AuthUser;
use crate::jobs::EnqueueOptions;
use crate::jobs::events::EventEnvelope;
use crate::jobs::registry::{Events, Registry};
use crate::page::{Page, PageRequest};
use crate::safety::OpClass;

pub use deliver::{Outbound, SIGNATURE_HEADER, WEBHOOK_DELIVER, WEBHOOK_FANOUT, sign};

/// Every registered event type can go to webhooks, through one fan-out job per event,
/// made only for types some endpoint receives.
pub fn register(registry: &mut Registry) {
    registry
        .job(WEBHOOK_FANOUT)
        .job(WEBHOOK_DELIVER)
        .subscribe_gated(Events::All, WEBHOOK_FANOUT, |tx, types| {
            Box::pin(async move {
                let hooked = repo::types_with_subscribers(tx, types).await?;
                Ok(hooked.into_iter().collect())
            })
        });
}

/// The event type of the deliveries `POST /webhooks/{id}/test` sends.
pub const TEST_EVENT: &str = "webhook.test";

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where deliveries are POSTed: an absolute http or https URL on a public address.
    #[schema(example = "https://93.184.215.14/nexus", max_length = 2000)]
    pub url: String,
    /// Event types to receive. `user.registered` and `report.filed` are for admins.
    #[schema(example = json!(["note.published", "comment.created"]), min_items = 1)]
    pub events: Vec<String>,
    /// A note for the owner, up to 200 characters.
    #[schema(
        example = "Team dashboard",
        max_length = 200,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
    )]
    pub description: Option<String>,
}

/// The state of an endpoint's circuit breaker.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Breaker {
    /// `closed` (deliveries go), `open` (they wait until `open_until`) or `half_open`
    /// (one probe delivery is in flight).
    #[schema(example = "closed")]
    pub state: String,
    /// Failed deliveries in a row.
    pub consecutive_failures: i32,
    /// While open: when the next probe may go.
    pub open_until: Option<DateTime<Utc>>,
}

/// A registered endpoint.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Webhook {
    pub id: Uuid,
    #[schema(example = "https://hooks.example.com/nexus")]
    pub url: String,
    pub description: String,
    #[schema(example = json!(["comment.created", "note.published"]))]
    pub events: Vec<String>,
    pub breaker: Breaker,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A newly registered endpoint, with its signing secret: shown this once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// The HMAC-SHA256 key of the `Nexus-Signature` header. Store it now; it is not
    /// shown again.
    #[schema(example = "whsec_9bEfL2kq0x7cYp3V1aZQe5mR8tN4uW6sD0gH2jK4lM8")]
    pub secret: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookList {
    pub items: Vec<Webhook>,
}

/// One delivery attempt.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    pub id: Uuid,
    /// The event's id; receivers see it as `Nexus-Delivery` and may dedupe on it.
    pub event_id: Uuid,
    #[schema(example = "note.published")]
    pub event_type: String,
    /// The queue job that made the attempt (see the admin jobs API).
    pub job_id: Uuid,
    /// 1 for the first attempt of this delivery.
    pub attempt: i32,
    /// `succeeded` (a 2xx answer) or `failed`.
    #[schema(example = "succeeded")]
    pub outcome: String,
    /// The endpoint's HTTP status, when it answered.
    #[schema(example = 200)]
    pub status_code: Option<i32>,
    /// Why the attempt failed.
    pub error: Option<String>,
    pub duration_ms: i64,
    pub created_at: DateTime<Utc>,
}

/// A test delivery, queued.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TestDelivery {
    /// The id of the test event, as the receiver will see it in `Nexus-Delivery`.
    pub event_id: Uuid,
    /// The queue job delivering it.
    pub job_id: Uuid,
}

/// A fresh signing secret: 256 random bits behind a recognisable prefix.
fn new_secret() -> AppResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("system randomness failed: {e}")))?;
    Ok(format!("whsec_{}", URL_SAFE_NO_PAD.encode(bytes)))
}

fn view(row: repo::WebhookRow, events: Vec<String>) -> Webhook {
    Webhook {
        id: row.id,
        url: row.url,
        description: row.description,
        events,
        breaker: Breaker {
            open_until: (row.breaker_state == "open")
                .then_some(row.open_until_us)
                .flatten()
                .map(from_micros),
            state: row.breaker_state,
            consecutive_failures: row.consecutive_failures,
        },
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

use_case_group! {
    /// The webhooks domain's facade: [`Services::webhooks`] returns it.
    Webhooks
}

impl Webhooks<'_> {
    /// Registers an endpoint for the caller. Checks the URL's form and that its host
    /// resolves to public addresses only (unless `webhooks.allow_private_targets`).
    pub async fn create(
        &self,
        actor: &AuthUser,
        input: CreateWebhook,
    ) -> AppResult<CreatedWebhook> {
        self.charge(OpClass::Write).await?;
        // A retry whose first attempt committed answers with the same endpoint and
        // secret, which exists nowhere else in the clear.
        if let Some((id, secret)) = self.committed_before::<(Uuid, String)>()? {
            return Ok(CreatedWebhook {
                webhook: self.get(actor, id).await?,
                secret,
            });
        }
        actor.require_write()?;
        let mut problems = Vec::new();
        let url = match target::check_form(input.url.trim()) {
            Ok(url) => Some(url),
            Err(message) => {
                problems.push(FieldError::new("url", message));
                None
            }
        };
        let mut events = BTreeSet::new();
        if input.events.is_empty() {
            problems.push(FieldError::new(
                "events",
                "must name at least one event type",
            ));
        }
        for event in &input.events {
            let Some(known) = self.registry.event_type(event) else {
                let names: Vec<&str> = self.registry.event_types().map(|e| e.name).collect();
                problems.push(FieldError::new(
                    "events",
                    format!(
                        "`{}` is not an event type; known: {}",
                        event.chars().take(60).collect::<String>(),
                        names.join(", ")
                    ),
                ));
                continue;
            };
            if known.admin_only && actor.role < Role::Admin {
                problems.push(FieldError::new(
                    "events",
                    format!("`{event}` is for admins only"),
                ));
            } else {
                events.insert(event.clone());
            }
        }
        let description = nexus_core::identity::bounded_text(
            "description",
            input.description.as_deref().unwrap_or_default(),
            (0, 200),
        )
        .unwrap_or_else(|e| {
            problems.push(e);
            String::new()
        });
        if let Some(url) = &url
            && let Err(message) =
                target::check_reachable(url, self.settings.webhooks.allow_private_targets).await
        {
            problems.push(FieldError::new("url", message));
        }
        if !problems.is_empty() {
            return Err(AppError::Validation(problems));
        }
        let url = url.map(String::from).unwrap_or_default();
        let events: Vec<String> = events.into_iter().collect();
        let secret = new_secret()?;
        let id = Uuid::now_v7();
        let mut tx = self.db.begin().await?;
        let owned = repo::count_for_owner(&mut tx, actor.id).await?;
        let limit = self.settings.webhooks.max_per_owner;
        if owned >= i64::from(limit) {
            return Err(AppError::Conflict(format!(
                "you have {owned} webhooks, the most one account may have ({limit}); delete one first"
            )));
        }
        repo::insert(
            &mut tx,
            &repo::NewWebhook {
                id,
                owner: actor.id,
                url: &url,
                description: &description,
                secret: &secret,
                events: &events,
            },
            self.clock.now(),
        )
        .await?;
        let (id, secret) = self.commit(tx, (id, secret)).await?;
        tracing::info!(webhook = %id, owner = %actor.handle, "webhook registered");
        Ok(CreatedWebhook {
            webhook: self.get(actor, id).await?,
            secret,
        })
    }

    /// The caller's endpoints.
    pub async fn list(&self, actor: &AuthUser) -> AppResult<WebhookList> {
        self.charge(OpClass::Read).await?;
        let rows = repo::list_for_owner(&self.db, actor.id).await?;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut types = repo::event_types(&self.db, &ids).await?;
        let items = rows
            .into_iter()
            .map(|row| {
                let mine = types
                    .extract_if(.., |(hook, _)| *hook == row.id)
                    .map(|(_, t)| t)
                    .collect();
                view(row, mine)
            })
            .collect();
        Ok(WebhookList { items })
    }

    /// An endpoint of the caller's (any endpoint, for admins); someone else's is 404.
    async fn owned_webhook(&self, actor: &AuthUser, id: Uuid) -> AppResult<repo::WebhookRow> {
        match repo::find(&self.db, id).await? {
            Some(row) if row.owner_id == actor.id || actor.role >= Role::Admin => Ok(row),
            _ => Err(AppError::not_found(format!("no webhook {id}"))),
        }
    }

    pub async fn get(&self, actor: &AuthUser, id: Uuid) -> AppResult<Webhook> {
        self.charge(OpClass::Read).await?;
        let row = self.owned_webhook(actor, id).await?;
        let events = repo::event_types(&self.db, &[id])
            .await?
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        Ok(view(row, events))
    }

    /// Deletes an endpoint and its delivery log; deliveries still queued are dropped.
    pub async fn delete(&self, actor: &AuthUser, id: Uuid) -> AppResult<()> {
        self.charge(OpClass::Write).await?;
        actor.require_write()?;
        self.owned_webhook(actor, id).await?;
        repo::delete(&self.db, id).await?;
        tracing::info!(webhook = %id, by = %actor.handle, "webhook deleted");
        Ok(())
    }

    /// The endpoint's delivery attempts, newest first.
    pub async fn deliveries(
        &self,
        actor: &AuthUser,
        id: Uuid,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<Delivery>> {
        self.charge(OpClass::Read).await?;
        let want = PageRequest::new(limit, cursor)?;
        self.owned_webhook(actor, id).await?;
        let rows = repo::deliveries(&self.db, id, want.after, want.fetch()).await?;
        Ok(want.page(
            rows,
            |r| r.id,
            |r| Delivery {
                id: r.id,
                event_id: r.event_id,
                event_type: r.event_type,
                job_id: r.job_id,
                attempt: r.attempt,
                outcome: r.outcome,
                status_code: r.status_code,
                error: r.error,
                duration_ms: r.duration_ms,
                created_at: r.created_at,
            },
        ))
    }

    /// Queues a `webhook.test` delivery to the endpoint, through the same path (signing,
    /// breaker, retries, log) as every other delivery.
    pub async fn test(&self, actor: &AuthUser, id: Uuid) -> AppResult<TestDelivery> {
        self.charge(OpClass::Write).await?;
        actor.require_write()?;
        let hook = self.owned_webhook(actor, id).await?;
        let event_id = Uuid::now_v7();
        let payload = serde_json::to_value(deliver::DeliverJob {
            webhook_id: hook.id,
            event: EventEnvelope {
                event_id,
                event_type: TEST_EVENT.into(),
                occurred_at: self.clock.now(),
                data: json!({ "webhook_id": hook.id, "requested_by": actor.id }),
            },
        })
        .map_err(|e| AppError::Internal(e.into()))?;
        let opts = EnqueueOptions {
            dedupe_key: Some(format!("webhook:{event_id}:{}", hook.id)),
            run_at: None,
        };
        let job_id = self
            .queue
            .enqueue_new(WEBHOOK_DELIVER, &payload, &opts)
            .await?
            .ok_or_else(|| AppError::Conflict("this test delivery is already queued".into()))?;
        Ok(TestDelivery { event_id, job_id })
    }
}
