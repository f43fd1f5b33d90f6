//! The read cache holds typed values: every transport that reads a published note gets
//! the same cached value (REST takes its JSON, GraphQL and HTML pages its fields), and a
//! change through any use case replaces it.

use std::sync::Arc;

use nexus_core::hub::{NoteKind, NoteStatus};
use nexus_core::identity::Role;
use nexus_service::actor::Principal;
use nexus_service::hub::{CreateNote, CreateTopic, UpdateNote};

use crate::backend_tests;
use crate::harness::ServiceApp;
use crate::helpers::Backend;

backend_tests!(a_published_note_is_read_from_the_cache_as_one_typed_value);

async fn a_published_note_is_read_from_the_cache_as_one_typed_value(backend: Backend) {
    let app = ServiceApp::new(backend).await;
    let admin = app.user("root", Role::Admin).await;
    let hub = app.services.hub();
    hub.topics()
        .create(
            &admin,
            CreateTopic {
                slug: Some("rust".into()),
                title: "Rust".into(),
                description: None,
            },
        )
        .await
        .unwrap();
    let note = |status| CreateNote {
        title: "Ownership".into(),
        kind: NoteKind::Concept,
        body_md: "Values have **one** owner; ünïcode stays.".into(),
        topics: vec!["rust".into()],
        tags: vec![],
        status: Some(status),
        problem: None,
        solution: None,
        outcome: None,
    };
    let created = hub
        .notes()
        .create(&admin, note(NoteStatus::Published))
        .await
        .unwrap();

    let first = hub
        .notes()
        .get(&Principal::Anonymous, &created.slug)
        .await
        .unwrap();
    let second = hub
        .notes()
        .get(&Principal::Anonymous, &created.slug)
        .await
        .unwrap();
    assert!(
        Arc::ptr_eq(&first, &second),
        "the second read is the cached value, not a new one"
    );
    assert_eq!(second.title, "Ownership");
    assert!(second.body_html.contains("<strong>one</strong>"));
    // The JSON kept beside the value is that value's encoding, for REST to send as is.
    assert_eq!(
        second.json().unwrap(),
        serde_json::to_vec(&*second).unwrap()
    );

    // A change through the service is what the next read sees.
    let changed = hub
        .notes()
        .update(
            &admin,
            &created.slug,
            Some(created.version),
            UpdateNote {
                title: Some("Ownership and borrowing".into()),
                ..serde_json::from_str("{}").unwrap()
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.version, created.version + 1);
    let third = hub
        .notes()
        .get(&Principal::Anonymous, &created.slug)
        .await
        .unwrap();
    assert_eq!(
        (third.title.as_str(), third.version),
        ("Ownership and borrowing", changed.version)
    );

    // Drafts are never cached: each read is the author's own, from the database.
    let draft = hub
        .notes()
        .create(&admin, note(NoteStatus::Draft))
        .await
        .unwrap();
    let author = Principal::User(admin.clone());
    let a = hub.notes().get(&author, &draft.slug).await.unwrap();
    let b = hub.notes().get(&author, &draft.slug).await.unwrap();
    assert!(!Arc::ptr_eq(&a, &b));
    assert!(
        hub.notes()
            .get(&Principal::Anonymous, &draft.slug)
            .await
            .is_err()
    );
}
