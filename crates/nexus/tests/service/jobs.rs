//! The job machinery driven step by step: a job that fails is retried only once the time
//! passes its backoff, and a dead job stays dead.

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{Duration, Utc};
use nexus_service::jobs::EnqueueOptions;
use nexus_service::jobs::registry::{Done, JobError, JobKind, Registry};

use crate::backend_tests;
use crate::harness::ServiceApp;
use crate::helpers::Backend;

/// Runs of the kind below, across both backends' tests (each counts its own difference).
static RUNS: AtomicUsize = AtomicUsize::new(0);

/// Fails on its first attempt, succeeds on its second: a transient fault.
const FLAKY: JobKind = JobKind {
    name: "test.flaky",
    max_attempts: 3,
    run: |_, job| {
        Box::pin(async move {
            RUNS.fetch_add(1, Ordering::SeqCst);
            if job.attempts < 2 {
                Err(JobError::transient("not yet"))
            } else {
                Ok(Done::finished())
            }
        })
    },
};

fn register(registry: &mut Registry) {
    registry.job(FLAKY);
}

backend_tests!(a_failed_job_is_due_again_only_after_its_backoff);

async fn a_failed_job_is_due_again_only_after_its_backoff(backend: Backend) {
    let app = ServiceApp::with(backend, &[register]).await;
    app.services
        .queue
        .enqueue(FLAKY, &serde_json::json!({}), &EnqueueOptions::default())
        .await
        .unwrap();
    let now = Utc::now();
    assert_eq!(
        app.drain_at(now).await,
        1,
        "the first attempt ran and failed"
    );
    let states = || async {
        nexus_db::jobs::counts(&app.db)
            .await
            .unwrap()
            .into_iter()
            .filter(|(kind, _, _)| kind == FLAKY.name)
            .map(|(_, state, n)| (state, n))
            .collect::<Vec<_>>()
    };
    assert_eq!(states().await, [("queued".to_owned(), 1)]);
    // Not due yet at the same instant: the backoff holds it back.
    assert_eq!(app.drain_at(now).await, 0);
    // Past the largest backoff the tests configure (1 s), it runs and succeeds.
    assert_eq!(app.drain_at(now + Duration::seconds(2)).await, 1);
    assert_eq!(states().await, [("succeeded".to_owned(), 1)]);
}
