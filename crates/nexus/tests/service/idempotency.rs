//! Idempotent writes at the service level: the result is recorded in the transaction of
//! the change, and a retry that carries it acts no more.

use nexus_core::identity::Role;
use nexus_service::hub::CreateTopic;

use crate::backend_tests;
use crate::harness::{ServiceApp, as_request};
use crate::helpers::Backend;

backend_tests!(a_committed_result_answers_the_retry_and_nothing_happens_twice);

async fn a_committed_result_answers_the_retry_and_nothing_happens_twice(backend: Backend) {
    let app = ServiceApp::new(backend).await;
    let admin = app.user("root", Role::Admin).await;
    let input = || CreateTopic {
        slug: Some("once".into()),
        title: "Once".into(),
        description: None,
    };
    let client = format!("u:{}", admin.id);
    let first = as_request(
        &app.db,
        &client,
        Some(("key-1", None)),
        app.services.hub().topics().create(&admin, input()),
    )
    .await
    .unwrap();
    let row = nexus_db::idempotency::find(&app.db, &client, "key-1")
        .await
        .unwrap()
        .unwrap();
    let effect = row.effect.expect("the result is recorded with the change");
    assert!(row.status.is_none(), "no answer was stored by a transport");

    // The retry of a request whose answer was lost carries the recorded result.
    let again = as_request(
        &app.db,
        &client,
        Some(("key-1", Some(effect))),
        app.services.hub().topics().create(&admin, input()),
    )
    .await
    .unwrap();
    assert_eq!(
        (&again.slug, again.created_at),
        (&first.slug, first.created_at)
    );
    let topics = app.services.hub().topics().list().await.unwrap();
    assert_eq!(topics.iter().filter(|t| t.slug == "once").count(), 1);

    // Without a key, the same input is a second write, refused as a duplicate.
    let dup = as_request(
        &app.db,
        &client,
        None,
        app.services.hub().topics().create(&admin, input()),
    )
    .await;
    assert!(dup.is_err());
}
