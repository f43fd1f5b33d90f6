//! A job kind is added in one place: this file declares one that exists only in tests,
//! registers it, and the queue, the outbox relay and the worker run it without any of
//! them naming it. It subscribes to a hub event, so a note published through the API
//! reaches it through the outbox.

use std::sync::Mutex;

use nexus_service::jobs::events::EventEnvelope;
use nexus_service::jobs::registry::{Done, Events, JobKind, Registry, payload};
use nexus_service::jobs::{EnqueueOptions, JobError};

use crate::backend_tests;
use crate::helpers::{Backend, spawn_app_with_jobs};

/// What the test kind saw, by test: each run records the slug its event carried.
static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

const RECORD_PUBLISHED: JobKind = JobKind {
    name: "test.record-published",
    max_attempts: 2,
    run: |_, job| {
        Box::pin(async move {
            let event: EventEnvelope = payload(job)?;
            let slug = event.data["slug"]
                .as_str()
                .ok_or_else(|| JobError::permanent("no slug"))?
                .to_owned();
            SEEN.lock().unwrap().push(slug);
            Ok(Done::finished())
        })
    },
};

fn register(registry: &mut Registry) {
    registry
        .job(RECORD_PUBLISHED)
        .subscribe(Events::Only(&["note.published"]), RECORD_PUBLISHED);
}

backend_tests!(a_job_kind_declared_in_one_file_runs_from_the_queue_and_the_outbox);

async fn a_job_kind_declared_in_one_file_runs_from_the_queue_and_the_outbox(backend: Backend) {
    let app = spawn_app_with_jobs(backend, &[register]).await;
    let (admin, author) = crate::hub::setup(&app).await;
    // SEEN is shared by both backends' variants: the title (so the slug) names this one.
    let note = crate::hub::create(
        &app,
        &author,
        serde_json::json!({
            "title": format!("Registry {backend:?}"),
            "kind": "concept",
            "body_md": "x",
            "topics": ["rust"],
        }),
    )
    .await;
    let slug = note["slug"].as_str().unwrap().to_owned();
    // Enqueued directly as well, with a payload it cannot read: a permanent failure.
    app.state
        .services
        .queue
        .enqueue(
            RECORD_PUBLISHED,
            &serde_json::json!({"not": "an event"}),
            &EnqueueOptions::default(),
        )
        .await
        .unwrap();
    app.jobs_settled().await;
    assert!(
        SEEN.lock().unwrap().contains(&slug),
        "the outbox event reached the test kind"
    );
    let counts = nexus_db::jobs::counts(&app.state.db).await.unwrap();
    let of_kind = |state: &str| {
        counts
            .iter()
            .filter(|(k, s, _)| k == RECORD_PUBLISHED.name && s == state)
            .map(|(_, _, n)| *n)
            .sum::<i64>()
    };
    assert_eq!(of_kind("succeeded"), 1, "{counts:?}");
    assert_eq!(of_kind("dead"), 1, "{counts:?}");
    let listed = app
        .get_auth_json(
            "/api/v1/admin/jobs?kind=test.record-published",
            &admin.access,
        )
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2, "{listed}");
}
