//! Domain events: facts about changes, written to the outbox in the transaction that makes
//! the change, and turned into jobs by the relay. Each domain declares its own events
//! (an [`Event`] and its [`super::registry::EventType`]); this module knows none of them.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// A fact a domain records in the outbox.
pub trait Event: Send + Sync {
    /// A registered [`super::registry::EventType`]'s name.
    fn event_type(&self) -> &'static str;

    /// The event's data as subscribers (webhook receivers included) see it: ids and
    /// slugs, never private fields (email addresses, report reasons), so an endpoint
    /// learns only what its owner could look up through the API.
    fn payload(&self) -> Value;
}

/// What a relayed event's jobs receive: the event's id (a stable key for dedupe by
/// every consumer, webhook receivers included), its type and its data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventEnvelope {
    pub event_id: Uuid,
    pub event_type: String,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    pub data: Value,
}

impl EventEnvelope {
    /// A uuid field of the event's data; an event without it can never be handled.
    pub fn uuid(&self, field: &str) -> Result<Uuid, super::JobError> {
        self.data
            .get(field)
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(|| super::JobError::permanent(format!("event data has no `{field}`")))
    }
}
