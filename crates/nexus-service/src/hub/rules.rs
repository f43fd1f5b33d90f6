//! The hub's validation rules, each written once: every use case that takes a title, a
//! slug, a body, tags, topics or free text checks it here — creating a note, the bulk path
//! of `nexus seed`, editing, proposing a change, topics, comments, reports and search.
//!
//! The slug rule itself (what a slug is, how long it may be, how a title becomes one) is
//! [`nexus_core::hub`]'s; this file says where it applies, and adds the bounds that belong
//! to the service. The request types' OpenAPI annotations state the same bounds for
//! clients; these are the ones enforced.

use std::collections::BTreeSet;
use std::ops::RangeInclusive;

use nexus_core::hub::{self, NoteKind, NoteStatus, SLUG_MAX_CHARS};
use nexus_core::identity::{Checker, bounded_text};
use nexus_core::{AppError, FieldError, error::AppResult};
use uuid::Uuid;

use super::TopicIds;

/// A topic's title: 1 to 120 characters.
pub const TOPIC_TITLE_LEN: (usize, usize) = (1, 120);
/// A topic's description: up to 2000 characters.
pub const TOPIC_DESCRIPTION_LEN: (usize, usize) = (0, 2000);
/// A note's title, also in a proposal: 1 to 200 characters.
pub const NOTE_TITLE_LEN: (usize, usize) = (1, 200);
/// A note's Markdown body, also in a proposal: up to 100,000 characters.
pub const BODY_LEN: (usize, usize) = (0, 100_000);
/// A challenge's `problem`, `solution` or `outcome`: up to 20,000 characters.
pub const CHALLENGE_FIELD_MAX: usize = 20_000;
/// What an edit or a proposal changes, for the revision history: 1 to 500 characters.
pub const MESSAGE_LEN: (usize, usize) = (1, 500);
/// How many topics a note is filed under.
pub const TOPICS_PER_NOTE: RangeInclusive<usize> = 1..=5;
/// How many tags a note carries at most.
pub const MAX_TAGS: usize = 10;
/// The longest tag, in characters; a tag is a slug.
pub const TAG_MAX_CHARS: usize = 40;
/// The longest comment, in characters.
pub const COMMENT_MAX_CHARS: usize = 5000;
/// Why a proposal was rejected: 1 to 1000 characters.
pub const REJECTION_LEN: (usize, usize) = (1, 1000);
/// A report's reason, and its resolution: 1 to 2000 characters.
pub const REPORT_LEN: (usize, usize) = (1, 2000);

// ---- topics ---------------------------------------------------------------------------

pub fn topic_title(raw: &str) -> Result<String, FieldError> {
    bounded_text("title", raw, TOPIC_TITLE_LEN)
}

pub fn topic_description(raw: &str) -> Result<String, FieldError> {
    bounded_text("description", raw, TOPIC_DESCRIPTION_LEN)
}

/// A topic's slug as given: already a slug, taken as it is.
pub fn topic_slug(raw: &str) -> Result<String, FieldError> {
    hub::parse_slug("slug", raw, SLUG_MAX_CHARS)
}

// ---- notes ----------------------------------------------------------------------------

pub fn note_title(raw: &str) -> Result<String, FieldError> {
    bounded_text("title", raw, NOTE_TITLE_LEN)
}

pub fn body(raw: &str) -> Result<String, FieldError> {
    bounded_text("body_md", raw, BODY_LEN)
}

/// The message of an edit or a proposal.
pub fn message(raw: &str) -> Result<String, FieldError> {
    bounded_text("message", raw, MESSAGE_LEN)
}

/// A challenge field when given: trimmed, bounded, empty → absent.
pub fn challenge_field(check: &mut Checker, field: &str, v: Option<&str>) -> Option<String> {
    let v = v?;
    check
        .check(bounded_text(field, v, (0, CHALLENGE_FIELD_MAX)))
        .filter(|s| !s.is_empty())
}

/// A challenge needs all three of `problem`, `solution` and `outcome`; other kinds need
/// none.
pub fn challenge_complete(
    check: &mut Checker,
    kind: NoteKind,
    [problem, solution, outcome]: [&Option<String>; 3],
) {
    if kind == NoteKind::Challenge {
        for (name, v) in [
            ("problem", problem),
            ("solution", solution),
            ("outcome", outcome),
        ] {
            if v.is_none() {
                check.push(FieldError::new(name, "is required for a challenge"));
            }
        }
    }
}

/// Tags as a note stores them: trimmed, lowercase, sorted, each once.
pub fn tags(check: &mut Checker, tags: &[String]) -> Vec<String> {
    if tags.len() > MAX_TAGS {
        check.push(FieldError::new("tags", format!("at most {MAX_TAGS} tags")));
    }
    let mut out = BTreeSet::new();
    for (i, tag) in tags.iter().enumerate() {
        // The bound is on the tag as sent, as the API document states it: one too long
        // is judged untrimmed, and fails the slug rule.
        let t = if tag.chars().count() > TAG_MAX_CHARS {
            tag.clone()
        } else {
            tag.trim().to_lowercase()
        };
        if let Some(t) = check.check(hub::parse_slug(&format!("tags[{i}]"), &t, TAG_MAX_CHARS)) {
            out.insert(t);
        }
    }
    out.into_iter().collect()
}

/// A note's topic slugs: how many, normalised by [`normalize_topics`].
pub fn topic_list(check: &mut Checker, topics: &[String]) -> Vec<String> {
    if !TOPICS_PER_NOTE.contains(&topics.len()) {
        check.push(FieldError::new(
            "topics",
            format!(
                "between {} and {} topics",
                TOPICS_PER_NOTE.start(),
                TOPICS_PER_NOTE.end()
            ),
        ));
    }
    normalize_topics(topics)
}

/// Topic slugs as a note stores them: trimmed, lowercase, each once. Order kept, so a
/// field error's index points at what the client sent.
pub fn normalize_topics(topics: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    topics
        .iter()
        .map(|t| t.trim().to_lowercase())
        .filter(|t| seen.insert(t.clone()))
        .collect()
}

/// The ids of `slugs` among `known`; each unknown one is a field error.
pub fn resolve_topics(check: &mut Checker, slugs: &[String], known: &TopicIds) -> Vec<Uuid> {
    let mut ids = Vec::with_capacity(slugs.len());
    for (i, s) in slugs.iter().enumerate() {
        match known.get(s) {
            Some(id) => ids.push(*id),
            None => check.push(FieldError::new(
                format!("topics[{i}]"),
                format!("no topic `{s}`"),
            )),
        }
    }
    ids
}

/// A new note is a draft or published (the default).
pub fn new_status(check: &mut Checker, status: Option<NoteStatus>) -> NoteStatus {
    let status = status.unwrap_or(NoteStatus::Published);
    if status == NoteStatus::Archived {
        check.push(FieldError::new(
            "status",
            "a new note is a draft or published",
        ));
    }
    status
}

/// A published note never goes back to draft.
pub fn no_return_to_draft(current: NoteStatus, requested: Option<NoteStatus>) -> AppResult<()> {
    if requested == Some(NoteStatus::Draft) && current == NoteStatus::Published {
        return Err(AppError::invalid(
            "status",
            "a published note cannot go back to draft; archive it instead",
        ));
    }
    Ok(())
}

/// An edit does not archive: that is `DELETE`.
pub fn edit_status(check: &mut Checker, requested: Option<NoteStatus>) {
    if requested == Some(NoteStatus::Archived) {
        check.push(FieldError::new("status", "archive a note with DELETE"));
    }
}

// ---- discussion -----------------------------------------------------------------------

pub fn comment_body(raw: &str) -> AppResult<String> {
    alone(bounded_text("body_md", raw, (1, COMMENT_MAX_CHARS)))
}

/// The note version a proposal starts from.
pub fn base_version(v: i32) -> Result<i32, FieldError> {
    if v < 1 {
        return Err(FieldError::new(
            "base_version",
            "must be a note version (1 or more)",
        ));
    }
    Ok(v)
}

pub fn rejection_reason(raw: &str) -> AppResult<String> {
    alone(bounded_text("reason", raw, REJECTION_LEN))
}

pub fn report_reason(raw: &str) -> AppResult<String> {
    alone(bounded_text("reason", raw, REPORT_LEN))
}

pub fn resolution(raw: &str) -> AppResult<String> {
    alone(bounded_text("resolution", raw, REPORT_LEN))
}

// ---- search ---------------------------------------------------------------------------

/// A search query's length ([`hub::MAX_QUERY_CHARS`]); its syntax cannot be wrong.
pub fn search_query(q: &str) -> AppResult<()> {
    if q.chars().count() > hub::MAX_QUERY_CHARS {
        return Err(AppError::invalid(
            "q",
            format!("must be at most {} characters", hub::MAX_QUERY_CHARS),
        ));
    }
    Ok(())
}

/// A single field's error as the 422 it causes.
fn alone<T>(result: Result<T, FieldError>) -> AppResult<T> {
    result.map_err(|e| AppError::Validation(vec![e]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(f: impl FnOnce(&mut Checker)) -> Vec<FieldError> {
        let mut check = Checker::default();
        f(&mut check);
        match check.finish() {
            Ok(()) => Vec::new(),
            Err(AppError::Validation(errors)) => errors,
            Err(e) => panic!("{e:?}"),
        }
    }

    #[test]
    fn titles_and_bodies_are_bounded_the_same_everywhere() {
        assert_eq!(note_title("  CAP  ").unwrap(), "CAP");
        assert!(note_title(" ").is_err());
        assert!(note_title(&"x".repeat(200)).is_ok());
        assert_eq!(note_title(&"x".repeat(201)).unwrap_err().field, "title");
        assert!(body("").is_ok());
        assert_eq!(body(&"x".repeat(100_001)).unwrap_err().field, "body_md");
        assert!(topic_title(&"x".repeat(121)).is_err());
        assert!(topic_description(&"x".repeat(2001)).is_err());
        assert!(message("").is_err());
    }

    #[test]
    fn tags_are_slugs_of_at_most_40_characters_sorted_and_once() {
        let mut check = Checker::default();
        let t = tags(
            &mut check,
            &[" Theory ".into(), "async".into(), "theory".into()],
        );
        assert!(check.finish().is_ok());
        assert_eq!(t, ["async", "theory"]);
        let e = errors(|c| {
            tags(c, &["ok".into(), "x".repeat(41), "no spaces".into()]);
        });
        let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["tags[1]", "tags[2]"]);
        assert_eq!(
            e[0].message,
            "must be 1-40 characters of a-z, 0-9 and single -"
        );
        let too_many: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
        assert_eq!(errors(|c| drop(tags(c, &too_many)))[0].field, "tags");
    }

    #[test]
    fn a_note_has_one_to_five_known_topics() {
        assert_eq!(errors(|c| drop(topic_list(c, &[])))[0].field, "topics");
        let six: Vec<String> = (0..6).map(|i| format!("t{i}")).collect();
        assert_eq!(errors(|c| drop(topic_list(c, &six)))[0].field, "topics");
        let mut check = Checker::default();
        let slugs = topic_list(&mut check, &[" Rust".into(), "rust".into(), "web".into()]);
        assert_eq!(slugs, ["rust", "web"]);
        let known = TopicIds::from([("rust".to_owned(), Uuid::nil())]);
        let ids = resolve_topics(&mut check, &slugs, &known);
        assert_eq!(ids, [Uuid::nil()]);
        let Err(AppError::Validation(e)) = check.finish() else {
            panic!("an unknown topic passed");
        };
        assert_eq!(
            (e[0].field.as_str(), e[0].message.as_str()),
            ("topics[1]", "no topic `web`")
        );
    }

    #[test]
    fn a_challenge_needs_problem_solution_and_outcome() {
        let some = Some("x".to_owned());
        let e = errors(|c| challenge_complete(c, NoteKind::Challenge, [&some, &None, &None]));
        let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["solution", "outcome"]);
        assert!(
            errors(|c| challenge_complete(c, NoteKind::Concept, [&None, &None, &None])).is_empty()
        );
        let mut check = Checker::default();
        assert_eq!(challenge_field(&mut check, "problem", Some("  ")), None);
        assert!(challenge_field(&mut check, "problem", Some(&"x".repeat(20_001))).is_none());
        assert_eq!(
            check.finish().err().map(|e| e.kind()),
            Some(nexus_core::ErrorKind::Validation)
        );
    }

    #[test]
    fn topic_slugs_are_taken_as_given_or_refused() {
        assert_eq!(
            topic_slug("distributed-systems").unwrap(),
            "distributed-systems"
        );
        assert_eq!(
            topic_slug("Distributed Systems").unwrap_err().message,
            "must be 1-80 characters of a-z, 0-9 and single -"
        );
    }

    #[test]
    fn statuses_move_forward_only() {
        assert_eq!(
            errors(|c| {
                new_status(c, Some(NoteStatus::Archived));
            })[0]
                .field,
            "status"
        );
        assert!(no_return_to_draft(NoteStatus::Published, Some(NoteStatus::Draft)).is_err());
        assert!(no_return_to_draft(NoteStatus::Draft, Some(NoteStatus::Draft)).is_ok());
        assert_eq!(
            errors(|c| edit_status(c, Some(NoteStatus::Archived)))[0].field,
            "status"
        );
    }

    #[test]
    fn discussion_texts_and_queries_are_bounded() {
        assert!(comment_body(" ").is_err());
        assert!(comment_body(&"x".repeat(COMMENT_MAX_CHARS)).is_ok());
        assert!(comment_body(&"x".repeat(COMMENT_MAX_CHARS + 1)).is_err());
        assert!(base_version(0).is_err());
        assert!(rejection_reason(&"x".repeat(1001)).is_err());
        assert!(report_reason(&"x".repeat(2000)).is_ok());
        assert!(resolution("").is_err());
        assert!(search_query(&"q".repeat(hub::MAX_QUERY_CHARS)).is_ok());
        assert!(search_query(&"q".repeat(hub::MAX_QUERY_CHARS + 1)).is_err());
    }
}
