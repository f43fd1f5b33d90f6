//! The identity domain's events.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::jobs::events::Event;
use crate::jobs::registry::{EventType, Registry};

/// Concerns another user's account, so only an admin's endpoint may receive it.
pub const USER_REGISTERED: EventType = EventType {
    name: "user.registered",
    admin_only: true,
};

pub fn register(registry: &mut Registry) {
    registry.event(USER_REGISTERED);
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRegistered {
    pub user: Uuid,
    pub handle: String,
}

impl Event for UserRegistered {
    fn event_type(&self) -> &'static str {
        USER_REGISTERED.name
    }

    fn payload(&self) -> Value {
        json!({ "user_id": self.user, "handle": self.handle })
    }
}
