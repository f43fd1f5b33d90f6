//! Uploads at the service level: the idempotency record of an upload is written with its
//! row, though the row is written on a task of its own (so that a request that goes away
//! cannot stop it half-way), and a retry that carries it stores nothing twice.

use bytes::Bytes;
use nexus_core::identity::Role;
use nexus_core::{AppError, error::AppResult};
use nexus_service::uploads::NewUpload;

use crate::backend_tests;
use crate::harness::{ServiceApp, as_request};
use crate::helpers::Backend;

backend_tests!(a_retry_with_the_committed_upload_stores_nothing_twice);

fn new_upload() -> NewUpload {
    NewUpload {
        filename: "run-2.csv".into(),
        content_type: Some("text/csv".into()),
        length: None,
    }
}

/// `bytes` as a body arriving in two chunks.
fn body(bytes: &'static [u8]) -> impl futures::Stream<Item = AppResult<Bytes>> + Send + Unpin {
    let (a, b) = bytes.split_at(bytes.len() / 2);
    futures::stream::iter([Ok(Bytes::from_static(a)), Ok(Bytes::from_static(b))])
}

async fn a_retry_with_the_committed_upload_stores_nothing_twice(backend: Backend) {
    let app = ServiceApp::new(backend).await;
    let ada = app.user("ada", Role::Learner).await;
    let client = format!("u:{}", ada.id);
    let csv: &'static [u8] = b"run,p99_ms\n1,480\n2,95\n";
    let uploads = app.services.uploads();

    let first = as_request(
        &app.db,
        &client,
        Some(("key-1", None)),
        uploads.create(&ada, new_upload(), body(csv)),
    )
    .await
    .unwrap();
    let row = nexus_db::idempotency::find(&app.db, &client, "key-1")
        .await
        .unwrap()
        .unwrap();
    let effect = row
        .effect
        .expect("the result is recorded with the row, on the task that wrote it");

    // The retry of a request whose answer was lost: the same file gets the first answer.
    let again = as_request(
        &app.db,
        &client,
        Some(("key-1", Some(effect.clone()))),
        uploads.create(&ada, new_upload(), body(csv)),
    )
    .await
    .unwrap();
    assert_eq!(again, first);
    // Other bytes under the key are another request.
    let other = as_request(
        &app.db,
        &client,
        Some(("key-1", Some(effect))),
        uploads.create(&ada, new_upload(), body(b"run,p99_ms\n3,90\n")),
    )
    .await
    .unwrap_err();
    let AppError::Validation(fields) = other else {
        panic!("{other:?}")
    };
    assert_eq!(fields[0].field, "Idempotency-Key");

    let files = std::fs::read_dir(app.services.settings.data_dir.join("files/uploads"))
        .unwrap()
        .count();
    assert_eq!(files, 1, "one object for one upload");
    let mut db = nexus_db::Exec::from(&app.db);
    let rows: i64 = db
        .scalar(nexus_db::query("SELECT COUNT(*) FROM uploads"))
        .await
        .unwrap();
    assert_eq!(rows, 1);
}
