//! Delivering events to webhook endpoints: the fan-out job, the signed request, the
//! circuit breaker around it and the delivery log.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use nexus_core::config::WebhookSettings;
use nexus_core::identity::Role;
use nexus_db::jobs::{ClaimedJob, from_micros};
use nexus_db::webhooks as repo;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;
use uuid::Uuid;

use super::target;
use crate::Services;
use crate::jobs::EnqueueOptions;
use crate::jobs::events::EventEnvelope;
use crate::jobs::registry::{Done, JobError, JobKind, payload};

/// One domain event: a `webhook.deliver` per subscribed endpoint.
pub const WEBHOOK_FANOUT: JobKind = JobKind {
    name: "webhook.fanout",
    max_attempts: 5,
    run: |s, job| Box::pin(async move { fanout(s, payload(job)?).await }),
};

/// One event to one webhook endpoint. Outbound: the other side may be down for a while.
pub const WEBHOOK_DELIVER: JobKind = JobKind {
    name: "webhook.deliver",
    max_attempts: 8,
    run: |s, job| Box::pin(async move { deliver(s, job, payload(job)?).await }),
};

/// The header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256>`.
pub const SIGNATURE_HEADER: &str = "Nexus-Signature";

/// The signature of one delivery: HMAC-SHA256 keyed with the endpoint's secret over
/// `"{timestamp}.{body}"`. The timestamp inside the signed text lets a receiver refuse
/// replays of an old delivery (Stripe's and Svix's scheme, so their verifiers' habits
/// carry over).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length; new_from_slice cannot fail for it.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// The HTTP client of deliveries, built once: bounded by the outbound timeout, no
/// redirects (a redirect could lead past the target guard), its resolver the guard.
#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    settings: WebhookSettings,
    timeout: Duration,
}

impl Outbound {
    pub fn new(settings: &WebhookSettings, timeout: Duration) -> anyhow::Result<Outbound> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(target::resolver(settings.allow_private_targets))
            .user_agent(concat!("Nexus-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Outbound {
            client,
            settings: settings.clone(),
            timeout,
        })
    }

    pub fn settings(&self) -> &WebhookSettings {
        &self.settings
    }
}

/// What a receiver gets in the body of every delivery.
#[derive(Debug, Serialize)]
struct WireEvent<'a> {
    id: Uuid,
    #[serde(rename = "type")]
    event_type: &'a str,
    occurred_at: DateTime<Utc>,
    data: &'a serde_json::Value,
}

/// The payload of `webhook.deliver`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DeliverJob {
    pub webhook_id: Uuid,
    pub event: EventEnvelope,
}

/// One event to every endpoint subscribed to its type, one `webhook.deliver` job each,
/// keyed by event and endpoint so that a fan-out run twice delivers nothing twice.
async fn fanout(services: &Services, event: EventEnvelope) -> Result<Done, JobError> {
    const PAGE: i64 = 500;
    let admin_only = services
        .registry
        .event_type(&event.event_type)
        .is_some_and(|e| e.admin_only);
    let mut after = None;
    loop {
        let hooks = repo::subscribed(&services.db, &event.event_type, after, PAGE).await?;
        for (webhook_id, role) in &hooks {
            if admin_only && Role::parse(role) != Some(Role::Admin) {
                continue;
            }
            let opts = EnqueueOptions {
                dedupe_key: Some(format!("webhook:{}:{webhook_id}", event.event_id)),
                run_at: None,
            };
            let payload = serde_json::to_value(DeliverJob {
                webhook_id: *webhook_id,
                event: event.clone(),
            })
            .unwrap_or_else(|_| json!({}));
            services
                .queue
                .enqueue(WEBHOOK_DELIVER, &payload, &opts)
                .await?;
        }
        match hooks.last() {
            Some((last, _)) if hooks.len() as i64 == PAGE => after = Some(*last),
            _ => return Ok(Done::finished()),
        }
    }
}

/// One delivery attempt, through the endpoint's breaker.
async fn deliver(services: &Services, job: &ClaimedJob, d: DeliverJob) -> Result<Done, JobError> {
    let outbound = &services.outbound;
    let Some(hook) = repo::find(&services.db, d.webhook_id).await? else {
        // The endpoint was deleted after the event: nothing to deliver to.
        return Ok(Done::finished());
    };
    let now = services.clock.now();
    if hook.breaker_state != "closed" {
        let probe_until = now + outbound.timeout + Duration::from_secs(5);
        if !repo::take_probe(&services.db, hook.id, job.id, now, probe_until).await? {
            // Open and cooling down, or another delivery is the probe: wait for it
            // without spending an attempt.
            let until = match hook.breaker_state.as_str() {
                "open" => hook.open_until_us,
                _ => hook.probe_until_us,
            }
            .map(from_micros)
            .unwrap_or(now)
            .max(now + Duration::from_millis(200));
            return Ok(Done::Postpone {
                until,
                why: format!("breaker of webhook {} is {}", hook.id, hook.breaker_state),
            });
        }
        tracing::info!(webhook = %hook.id, job = %job.id, "breaker half-open: probing");
    }

    let body = serde_json::to_vec(&WireEvent {
        id: d.event.event_id,
        event_type: &d.event.event_type,
        occurred_at: d.event.occurred_at,
        data: &d.event.data,
    })
    .map_err(|e| JobError::permanent(format!("event does not serialise: {e}")))?;
    let started = Instant::now();
    let outcome = send(outbound, &hook.url, &hook.secret, &d.event, body).await;
    let elapsed = started.elapsed();
    metrics::histogram!("webhook_delivery_seconds").record(elapsed.as_secs_f64());
    let (status, error) = match &outcome {
        Ok(status) if (200..300).contains(status) => (Some(*status), None),
        Ok(status) => (
            Some(*status),
            Some(format!("the endpoint answered {status}")),
        ),
        Err(e) => (None, Some(e.clone())),
    };
    let ok = error.is_none();
    metrics::counter!("webhook_deliveries_total", "outcome" => if ok { "succeeded" } else { "failed" })
        .increment(1);
    repo::insert_delivery(
        &services.db,
        &repo::DeliveryRow {
            id: Uuid::now_v7(),
            webhook_id: hook.id,
            job_id: job.id,
            event_id: d.event.event_id,
            event_type: d.event.event_type.clone(),
            attempt: job.attempts,
            outcome: if ok { "succeeded" } else { "failed" }.into(),
            status_code: status.map(i32::from),
            error: error.clone(),
            duration_ms: i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX),
            created_at: services.clock.now(),
        },
    )
    .await?;
    match error {
        None => {
            repo::record_success(&services.db, hook.id, services.clock.now()).await?;
            Ok(Done::finished())
        }
        Some(message) => {
            let settings = outbound.settings();
            let threshold = i32::try_from(settings.breaker_failures).unwrap_or(i32::MAX);
            let now = services.clock.now();
            let reopen = now + Duration::from_secs(settings.breaker_cooldown_secs);
            let state = repo::record_failure(&services.db, hook.id, threshold, now, reopen).await?;
            if state.as_deref() == Some("open") && hook.breaker_state != "open" {
                metrics::counter!("webhook_breaker_opened_total").increment(1);
                tracing::warn!(webhook = %hook.id, "breaker opened after repeated failures");
            }
            Err(JobError {
                message,
                permanent: false,
            })
        }
    }
}

/// Sends one signed request; the status, or why there was none.
async fn send(
    outbound: &Outbound,
    url: &str,
    secret: &str,
    event: &EventEnvelope,
    body: Vec<u8>,
) -> Result<u16, String> {
    let url = target::check_form(url)?;
    // The resolver never sees literal addresses, so they are checked here.
    if let Some(ip) = target::literal_ip(&url)
        && !outbound.settings.allow_private_targets
        && !target::is_public(ip)
    {
        return Err(format!("{ip} is not a public address"));
    }
    // Wall-clock time, not the services' clock: the receiver checks the signed timestamp
    // against its own clock to refuse replays.
    let signature = sign(secret, Utc::now().timestamp(), &body);
    let response = outbound
        .client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature)
        .header("Nexus-Event", &event.event_type)
        .header("Nexus-Delivery", event.event_id.to_string())
        .body(body)
        .send()
        .await
        .map_err(describe)?;
    Ok(response.status().as_u16())
}

/// reqwest's errors name the URL and nest their cause; the log wants the cause.
fn describe(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    if cause.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {cause}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_timestamp_and_body() {
        let a = sign("whsec_k", 1_700_000_000, b"{\"a\":1}");
        assert!(a.starts_with("t=1700000000,v1="));
        assert_eq!(a.len(), "t=1700000000,v1=".len() + 64);
        assert_eq!(a, sign("whsec_k", 1_700_000_000, b"{\"a\":1}"));
        assert_ne!(a, sign("whsec_k", 1_700_000_001, b"{\"a\":1}"));
        assert_ne!(a, sign("whsec_k", 1_700_000_000, b"{\"a\":2}"));
        assert_ne!(a, sign("whsec_j", 1_700_000_000, b"{\"a\":1}"));
    }

    #[test]
    fn a_receiver_in_another_language_computes_the_same_signature() {
        // Python: hmac.new(b"Jefe", b"42.what do ya want for nothing?", sha256).hexdigest()
        assert_eq!(
            sign("Jefe", 42, b"what do ya want for nothing?"),
            "t=42,v1=246ed6bd2fdb55df4737c62ddbd57a0a74d18becf897aa14e71f8be0b5203c3d"
        );
    }
}
