//! The hub's domain events, recorded in the outbox with the change that causes them.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::jobs::events::Event;
use crate::jobs::registry::{EventType, Registry};

pub const NOTE_PUBLISHED: EventType = EventType {
    name: "note.published",
    admin_only: false,
};
pub const COMMENT_CREATED: EventType = EventType {
    name: "comment.created",
    admin_only: false,
};
pub const PROPOSAL_CREATED: EventType = EventType {
    name: "proposal.created",
    admin_only: false,
};
pub const PROPOSAL_ACCEPTED: EventType = EventType {
    name: "proposal.accepted",
    admin_only: false,
};
pub const PROPOSAL_REJECTED: EventType = EventType {
    name: "proposal.rejected",
    admin_only: false,
};
/// Moderation: a report names what another user wrote.
pub const REPORT_FILED: EventType = EventType {
    name: "report.filed",
    admin_only: true,
};

pub fn register(registry: &mut Registry) {
    for event in [
        NOTE_PUBLISHED,
        COMMENT_CREATED,
        PROPOSAL_CREATED,
        PROPOSAL_ACCEPTED,
        PROPOSAL_REJECTED,
        REPORT_FILED,
    ] {
        registry.event(event);
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HubEvent {
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

impl Event for HubEvent {
    fn event_type(&self) -> &'static str {
        match self {
            HubEvent::NotePublished { .. } => NOTE_PUBLISHED.name,
            HubEvent::CommentCreated { .. } => COMMENT_CREATED.name,
            HubEvent::ProposalCreated { .. } => PROPOSAL_CREATED.name,
            HubEvent::ProposalDecided { accepted: true, .. } => PROPOSAL_ACCEPTED.name,
            HubEvent::ProposalDecided {
                accepted: false, ..
            } => PROPOSAL_REJECTED.name,
            HubEvent::ReportFiled { .. } => REPORT_FILED.name,
        }
    }

    fn payload(&self) -> Value {
        match self {
            HubEvent::NotePublished { note, slug, author } => {
                json!({ "note_id": note, "slug": slug, "author_id": author })
            }
            HubEvent::CommentCreated {
                comment,
                note,
                author,
            } => json!({ "comment_id": comment, "note_id": note, "author_id": author }),
            HubEvent::ProposalCreated {
                proposal,
                note,
                proposer,
            } => json!({ "proposal_id": proposal, "note_id": note, "proposer_id": proposer }),
            HubEvent::ProposalDecided { proposal, note, .. } => {
                json!({ "proposal_id": proposal, "note_id": note })
            }
            HubEvent::ReportFiled { report, note } => {
                json!({ "report_id": report, "note_id": note })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decided_proposals_name_their_outcome() {
        let id = Uuid::nil();
        let accepted = HubEvent::ProposalDecided {
            proposal: id,
            note: id,
            accepted: true,
        };
        assert_eq!(accepted.event_type(), "proposal.accepted");
        let rejected = HubEvent::ProposalDecided {
            proposal: id,
            note: id,
            accepted: false,
        };
        assert_eq!(rejected.event_type(), "proposal.rejected");
        let mut registry = Registry::default();
        register(&mut registry);
        assert!(registry.event_type(rejected.event_type()).is_some());
    }
}
