//! The admin view of the queue: jobs by state and kind with counts, and retrying the dead.

use chrono::{DateTime, Utc};
use nexus_core::identity::Role;
use nexus_core::{AppError, FieldError, error::AppResult};
use nexus_db::jobs as repo;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::STATES;
use crate::actor::AuthUser;
use crate::page::{Page, PageRequest};
use crate::safety::OpClass;

/// A job in the ledger.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobView {
    pub id: Uuid,
    /// What the job does, e.g. `email.send`.
    #[schema(example = "email.send")]
    pub kind: String,
    /// `queued`, `running`, `succeeded` or `dead`.
    #[schema(example = "dead")]
    pub state: String,
    /// Attempts made so far.
    pub attempts: i32,
    /// Attempts allowed before the job is dead.
    pub max_attempts: i32,
    /// When the job is (or was) next due.
    pub run_at: DateTime<Utc>,
    /// The error of the last failed attempt.
    pub last_error: Option<String>,
    /// What the job works on. Secrets (one-time codes in emails) are removed once sent.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// How many jobs of one kind are in one state.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobCount {
    pub kind: String,
    pub state: String,
    pub count: i64,
}

/// A page of jobs, newest first, and the counts of every kind and state.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobList {
    pub items: Vec<JobView>,
    pub next_cursor: Option<String>,
    pub counts: Vec<JobCount>,
}

#[derive(Debug, Default)]
pub struct JobQuery {
    pub state: Option<String>,
    pub kind: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

fn view(row: repo::JobRow) -> JobView {
    JobView {
        id: row.id,
        kind: row.kind,
        state: row.state,
        attempts: row.attempts,
        max_attempts: row.max_attempts,
        run_at: repo::from_micros(row.run_at_us),
        last_error: row.last_error,
        payload: redact(row.payload.0),
        created_at: row.created_at,
        updated_at: row.updated_at,
        finished_at: row.finished_at,
    }
}

/// An unsent email's bodies hold a one-time code; the admin view shows only its envelope.
fn redact(mut payload: serde_json::Value) -> serde_json::Value {
    if let Some(map) = payload.as_object_mut() {
        for key in ["text", "html"] {
            if map.contains_key(key) {
                map.insert(key.into(), "[redacted]".into());
            }
        }
    }
    payload
}

use_case_group! {
    /// Job administration: [`Services::jobs`] returns it.
    JobsAdmin
}

impl JobsAdmin<'_> {
    pub async fn list(&self, actor: &AuthUser, q: JobQuery) -> AppResult<JobList> {
        self.charge(OpClass::Read).await?;
        actor.require_role(Role::Admin)?;
        let mut problems = Vec::new();
        if let Some(state) = &q.state
            && !STATES.contains(&state.as_str())
        {
            problems.push(FieldError::new(
                "state",
                format!("must be one of {}", STATES.join(", ")),
            ));
        }
        if let Some(kind) = &q.kind
            && self.registry.job_kind(kind).is_none()
        {
            let kinds: Vec<&str> = self.registry.job_names().collect();
            problems.push(FieldError::new(
                "kind",
                format!("must be one of {}", kinds.join(", ")),
            ));
        }
        if !problems.is_empty() {
            return Err(AppError::Validation(problems));
        }
        let want = PageRequest::new(q.limit, q.cursor.as_deref())?;
        let rows = repo::list(
            &self.db,
            q.state.as_deref(),
            q.kind.as_deref(),
            want.after,
            want.fetch(),
        )
        .await?;
        let page: Page<JobView> = want.page(rows, |r| r.id, view);
        let counts = repo::counts(&self.db)
            .await?
            .into_iter()
            .map(|(kind, state, count)| JobCount { kind, state, count })
            .collect();
        Ok(JobList {
            items: page.items,
            next_cursor: page.next_cursor,
            counts,
        })
    }

    pub async fn get(&self, actor: &AuthUser, id: Uuid) -> AppResult<JobView> {
        self.charge(OpClass::Read).await?;
        actor.require_role(Role::Admin)?;
        repo::find(&self.db, id)
            .await?
            .map(view)
            .ok_or_else(|| AppError::not_found(format!("no job {id}")))
    }

    /// Gives a dead job a fresh set of attempts, due now.
    pub async fn retry(&self, actor: &AuthUser, id: Uuid) -> AppResult<JobView> {
        self.charge(OpClass::Write).await?;
        actor.require_role(Role::Admin)?;
        let Some(row) = repo::retry(&self.db, id, self.clock.now()).await? else {
            return match repo::find(&self.db, id).await? {
                None => Err(AppError::not_found(format!("no job {id}"))),
                Some(job) => Err(AppError::Conflict(format!(
                    "only dead jobs can be retried; this one is {}",
                    job.state
                ))),
            };
        };
        tracing::info!(job = %id, admin = %actor.handle, "dead job retried");
        self.queue.wake();
        Ok(view(row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_bodies_are_redacted_and_other_fields_kept() {
        let shown =
            redact(serde_json::json!({"to": "a@b.c", "text": "code 123", "html": "<p>123</p>"}));
        assert_eq!(shown["to"], "a@b.c");
        assert_eq!(shown["text"], "[redacted]");
        assert_eq!(shown["html"], "[redacted]");
        assert_eq!(redact(serde_json::json!([1])), serde_json::json!([1]));
    }
}
