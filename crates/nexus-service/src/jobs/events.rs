//! Domain events: facts about changes, written to the outbox in the transaction that makes
//! the change, and turned into jobs by the relay.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::JobKind;

/// Every event type a webhook can subscribe to.
pub const EVENT_TYPES: [&str; 7] = [
    "user.registered",
    "note.published",
    "comment.created",
    "proposal.created",
    "proposal.accepted",
    "proposal.rejected",
    "report.filed",
];

/// Event types only an admin's endpoint may receive: they concern other users' accounts
/// and moderation.
pub const ADMIN_ONLY_EVENTS: [&str; 2] = ["user.registered", "report.filed"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainEvent {
    UserRegistered {
        user: Uuid,
        handle: String,
    },
    NotePublished {
        note: Uuid,
        slug: String,
        author: Uuid,
    },
    CommentCreated {
        comment: Uuid,
        note: Uuid,
        author: Uuid,
    },
    ProposalCreated {
        proposal: Uuid,
        note: Uuid,
        proposer: Uuid,
    },
    ProposalDecided {
        proposal: Uuid,
        note: Uuid,
        accepted: bool,
    },
    ReportFiled {
        report: Uuid,
        note: Uuid,
    },
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

impl DomainEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            DomainEvent::UserRegistered { .. } => "user.registered",
            DomainEvent::NotePublished { .. } => "note.published",
            DomainEvent::CommentCreated { .. } => "comment.created",
            DomainEvent::ProposalCreated { .. } => "proposal.created",
            DomainEvent::ProposalDecided { accepted: true, .. } => "proposal.accepted",
            DomainEvent::ProposalDecided {
                accepted: false, ..
            } => "proposal.rejected",
            DomainEvent::ReportFiled { .. } => "report.filed",
        }
    }

    /// The event's data as webhook receivers see it: ids and slugs, never private fields
    /// (email addresses, report reasons), so an endpoint learns only what its owner could
    /// look up through the API.
    pub fn payload(&self) -> Value {
        match self {
            DomainEvent::UserRegistered { user, handle } => {
                json!({ "user_id": user, "handle": handle })
            }
            DomainEvent::NotePublished { note, slug, author } => {
                json!({ "note_id": note, "slug": slug, "author_id": author })
            }
            DomainEvent::CommentCreated {
                comment,
                note,
                author,
            } => json!({ "comment_id": comment, "note_id": note, "author_id": author }),
            DomainEvent::ProposalCreated {
                proposal,
                note,
                proposer,
            } => json!({ "proposal_id": proposal, "note_id": note, "proposer_id": proposer }),
            DomainEvent::ProposalDecided { proposal, note, .. } => {
                json!({ "proposal_id": proposal, "note_id": note })
            }
            DomainEvent::ReportFiled { report, note } => {
                json!({ "report_id": report, "note_id": note })
            }
        }
    }
}

/// The jobs one event of `event_type` becomes.
pub fn subscribers(event_type: &str) -> &'static [JobKind] {
    match event_type {
        "comment.created" | "proposal.created" => &[JobKind::NotifyAuthor, JobKind::WebhookFanout],
        t if EVENT_TYPES.contains(&t) => &[JobKind::WebhookFanout],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authors_hear_of_comments_and_unknown_events_reach_nobody() {
        assert!(subscribers("comment.created").contains(&JobKind::NotifyAuthor));
        assert!(subscribers("note.deleted").is_empty());
        for t in EVENT_TYPES {
            assert!(subscribers(t).contains(&JobKind::WebhookFanout), "{t}");
        }
    }

    #[test]
    fn decided_proposals_name_their_outcome() {
        let id = Uuid::nil();
        let accepted = DomainEvent::ProposalDecided {
            proposal: id,
            note: id,
            accepted: true,
        };
        assert_eq!(accepted.event_type(), "proposal.accepted");
        let rejected = DomainEvent::ProposalDecided {
            proposal: id,
            note: id,
            accepted: false,
        };
        assert_eq!(rejected.event_type(), "proposal.rejected");
        assert!(EVENT_TYPES.contains(&rejected.event_type()));
    }
}
