//! `Idempotency-Key` inside the use case: a write records its result in the transaction
//! that makes its change, and the retry of a request whose first attempt committed answers
//! with that result instead of acting again.
//!
//! The transport claims the key and stores the answer it sent (so an ordinary retry is a
//! byte-for-byte replay, done without calling the use case). What it cannot cover alone
//! is a process that dies after the commit and before the answer is stored: the effect
//! happened, the answer was lost. The result recorded here closes that gap: the retry
//! finds it ([`super::scope::IdempotencyScope::committed`]) and the use case returns it,
//! so the transport renders the same answer and nothing happens twice.

use nexus_core::AppError;
use nexus_core::error::AppResult;
use nexus_db::DbTx;
use nexus_db::idempotency as repo;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::scope::RequestScope;
use crate::Services;
use crate::jobs::Event;

/// Where tests kill the process: after a use case's commit, before its answer is sent.
/// Only debug builds look, so no release binary can be made to abort by its environment.
const ABORT_AFTER_COMMIT: &str = "NEXUS_TEST_ABORT_AFTER_COMMIT";

impl Services {
    /// The result this request's first attempt committed, when this request is a retry
    /// of one that never answered. A use case with an effect calls this first and, on
    /// `Some`, returns it without acting.
    pub fn committed_before<T: DeserializeOwned>(&self) -> AppResult<Option<T>> {
        let Some(scope) = RequestScope::current() else {
            return Ok(None);
        };
        let Some(json) = scope
            .idempotency
            .as_ref()
            .and_then(|i| i.committed.as_deref())
        else {
            return Ok(None);
        };
        serde_json::from_str(json).map(Some).map_err(|e| {
            AppError::Internal(anyhow::Error::new(e).context("reading a committed result"))
        })
    }

    /// Commits `tx` with `result` recorded as this request's effect (when it carries an
    /// `Idempotency-Key`), and returns the result.
    pub async fn commit<T: Serialize>(&self, mut tx: DbTx, result: T) -> AppResult<T> {
        if let Some(scope) = RequestScope::current()
            && let Some(idem) = &scope.idempotency
        {
            let json = serde_json::to_string(&result).map_err(|e| {
                AppError::Internal(anyhow::Error::new(e).context("recording a result"))
            })?;
            repo::record_effect(&mut tx, &idem.scope, &idem.key, &json).await?;
        }
        tx.commit().await?;
        if cfg!(debug_assertions)
            && RequestScope::current().is_some_and(|s| s.idempotency.is_some())
            && std::env::var_os(ABORT_AFTER_COMMIT).is_some()
        {
            tracing::error!("{ABORT_AFTER_COMMIT} is set: aborting after the commit");
            std::process::abort();
        }
        Ok(result)
    }

    /// Records `event` in the outbox of `tx`, commits as [`Services::commit`] does, and
    /// wakes the relay so that subscribers hear of it at once: how a write that others
    /// are told about ends.
    pub async fn commit_with_event<T: Serialize>(
        &self,
        mut tx: DbTx,
        event: &dyn Event,
        result: T,
    ) -> AppResult<T> {
        self.queue.emit(&mut tx, event).await?;
        let result = self.commit(tx, result).await?;
        self.queue.wake();
        Ok(result)
    }
}
