//! The one table from database constraints to the domain's uniqueness rules.
//!
//! PostgreSQL names the violated constraint; SQLite names only the columns
//! (`UNIQUE constraint failed: users.email_normalized`), so each rule is listed under
//! both. A violation becomes [`AppError::Duplicate`] carrying the rule, whose text names
//! no table, column or constraint; the raw database message is only logged.

use nexus_core::{AppError, Unique};

struct Rule {
    /// The constraint's name on PostgreSQL.
    postgres: &'static str,
    /// The `table.column, …` list SQLite reports.
    sqlite: &'static str,
    rule: Unique,
}

const RULES: &[Rule] = &[
    Rule {
        postgres: "users_email_key",
        sqlite: "users.email_normalized",
        rule: Unique::AccountEmail,
    },
    Rule {
        postgres: "users_handle_key",
        sqlite: "users.handle",
        rule: Unique::AccountHandle,
    },
    Rule {
        postgres: "topics_slug_key",
        sqlite: "topics.slug",
        rule: Unique::TopicSlug,
    },
    Rule {
        postgres: "notes_slug_key",
        sqlite: "notes.slug",
        rule: Unique::NoteSlug,
    },
    Rule {
        postgres: "courses_slug_key",
        sqlite: "courses.slug",
        rule: Unique::CourseSlug,
    },
    Rule {
        postgres: "cohorts_slug_key",
        sqlite: "cohorts.slug",
        rule: Unique::CohortSlug,
    },
    Rule {
        postgres: "enrolments_pkey",
        sqlite: "enrolments.cohort_id, enrolments.user_id",
        rule: Unique::Enrolment,
    },
    Rule {
        postgres: "submissions_learner_key",
        sqlite: "submissions.cohort_id, submissions.deliverable, submissions.learner_id",
        rule: Unique::Submission,
    },
    Rule {
        postgres: "submission_revisions_revision_key",
        sqlite: "submission_revisions.submission_id, submission_revisions.revision",
        rule: Unique::SubmissionRevision,
    },
    Rule {
        postgres: "review_assignments_pair_key",
        sqlite: "review_assignments.submission_id, review_assignments.reviewer_id",
        rule: Unique::ReviewAssignment,
    },
    Rule {
        postgres: "reviews_reviewer_key",
        sqlite: "reviews.revision_id, reviews.reviewer_id",
        rule: Unique::Review,
    },
    Rule {
        postgres: "bookmarks_user_note_key",
        sqlite: "bookmarks.user_id, bookmarks.note_id",
        rule: Unique::Bookmark,
    },
    Rule {
        postgres: "personal_access_tokens_hash_key",
        sqlite: "personal_access_tokens.token_hash",
        rule: Unique::TokenHash,
    },
    Rule {
        postgres: "jobs_dedupe_key_key",
        sqlite: "jobs.dedupe_key",
        rule: Unique::JobDedupeKey,
    },
    Rule {
        postgres: "idempotency_keys_pkey",
        sqlite: "idempotency_keys.scope, idempotency_keys.key",
        rule: Unique::IdempotencyKey,
    },
    Rule {
        postgres: "collaborations_pending_key",
        // An index on expressions: SQLite names the index, not columns.
        sqlite: "index 'collaborations_pending_key'",
        rule: Unique::CollaborationRequest,
    },
];

/// The rule behind a unique violation: by constraint name (PostgreSQL) or by the column
/// list at the end of the message (SQLite).
pub(crate) fn unique_rule(db: &dyn sqlx::error::DatabaseError) -> Unique {
    if let Some(name) = db.constraint() {
        return RULES
            .iter()
            .find(|r| r.postgres == name)
            .map_or(Unique::Other, |r| r.rule);
    }
    let columns = db
        .message()
        .rsplit_once("constraint failed: ")
        .map_or("", |(_, cols)| cols.trim());
    RULES
        .iter()
        .find(|r| r.sqlite == columns)
        .map_or(Unique::Other, |r| r.rule)
}

/// A unique violation as the domain sees it; the database's own words go to the log.
pub(crate) fn duplicate(db: &dyn sqlx::error::DatabaseError) -> AppError {
    let rule = unique_rule(db);
    if rule == Unique::Other {
        tracing::warn!(message = db.message(), "a unique violation no rule names");
    }
    AppError::Duplicate(rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every rule is listed once on each backend, so one constraint cannot mean two rules.
    #[test]
    fn each_constraint_and_column_list_names_one_rule() {
        for (i, a) in RULES.iter().enumerate() {
            for b in &RULES[i + 1..] {
                assert_ne!(a.postgres, b.postgres);
                assert_ne!(a.sqlite, b.sqlite);
                assert_ne!(a.rule, b.rule);
            }
        }
    }

    /// The constraint names in the table exist in the migrations, so a renamed
    /// constraint cannot silently fall through to `Other`.
    #[test]
    fn every_postgres_name_is_declared_by_a_migration() {
        let sql: String = crate::POSTGRES_MIGRATIONS
            .iter()
            .map(|m| m.sql.as_str().to_owned())
            .collect();
        for rule in RULES {
            let implicit = rule.postgres.ends_with("_pkey");
            assert!(
                implicit || sql.contains(rule.postgres),
                "{} is not in the PostgreSQL migrations",
                rule.postgres
            );
        }
    }
}
