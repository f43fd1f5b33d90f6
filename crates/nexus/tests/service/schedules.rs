//! Schedules on the manual clock: a weekly period ends by moving the clock to its fire
//! time, not by waiting for it, and two workers firing the same period enqueue it once.

use chrono::Duration;
use nexus_core::hub::{NoteKind, NoteStatus};
use nexus_core::identity::Role;
use nexus_core::schedule::{Cron, period_key};
use nexus_service::actor::AuthUser;
use nexus_service::hub::{CreateNote, CreateTopic};
use nexus_service::identity::UpdateEmailPreferences;

use crate::backend_tests;
use crate::harness::ServiceApp;
use crate::helpers::Backend;

backend_tests!(the_weekly_digest_reaches_each_follower_who_wants_it_once_when_its_week_ends);

async fn the_weekly_digest_reaches_each_follower_who_wants_it_once_when_its_week_ends(
    backend: Backend,
) {
    // The default schedule: Mondays at 08:00 UTC. The other schedules (deadline reminders
    // every quarter of an hour) are left out, so a count of fired periods is the digest's.
    let app = ServiceApp::configured(backend, &[], |s| {
        s.jobs.schedules.retain(|name, _| name == "weekly_digest");
    })
    .await;
    let hub = app.services.hub();
    let admin = app.user("root", Role::Admin).await;
    for (slug, title) in [("rust", "Rust"), ("web", "Web")] {
        let topic = CreateTopic {
            slug: Some(slug.into()),
            title: title.into(),
            description: None,
        };
        hub.topics().create(&admin, topic).await.unwrap();
    }
    let ada = app.user("ada", Role::Learner).await;
    let note = |title: &str, topic: &str| CreateNote {
        title: title.into(),
        kind: NoteKind::Concept,
        body_md: "Written this week.".into(),
        topics: vec![topic.into()],
        tags: vec![],
        status: Some(NoteStatus::Published),
        problem: None,
        solution: None,
        outcome: None,
    };
    hub.notes()
        .create(&ada, note("Rust lifetimes", "rust"))
        .await
        .unwrap();
    hub.notes()
        .create(&ada, note("Web caching", "web"))
        .await
        .unwrap();
    let mut readers: Vec<AuthUser> = Vec::new();
    for handle in ["grace", "linus", "barbara"] {
        let reader = app.user(handle, Role::Learner).await;
        hub.follows().follow_topic(&reader, "rust").await.unwrap();
        readers.push(reader);
    }
    // Barbara follows the topic but has turned the digest off.
    app.services
        .identity()
        .accounts()
        .update_email_preferences(
            &readers[2],
            UpdateEmailPreferences {
                notifications: None,
                digest: Some(false),
                learning_digest: None,
            },
        )
        .await
        .unwrap();

    let cron = Cron::parse("0 0 8 * * Mon").unwrap();
    // The first Monday 08:00 after the notes (written at the clock's time): the end of the
    // week they were written in.
    let week_ends = cron
        .current_fire(app.clock.now() + Duration::days(7))
        .unwrap();
    let digests = |handle: &str| -> Vec<String> {
        app.emails_to(&format!("{handle}@example.com"))
            .into_iter()
            .filter(|m| m.contains("weekly Nexus digest"))
            .collect()
    };

    // A second before, the current period is the week before, which had no notes.
    assert_eq!(
        app.fire_schedules_at(week_ends - Duration::seconds(1))
            .await,
        1
    );
    app.drain_at(week_ends - Duration::seconds(1)).await;
    for handle in ["ada", "grace", "linus", "barbara"] {
        assert!(digests(handle).is_empty(), "{handle}: nothing to tell yet");
    }

    // The week ends; two workers both see it, and only the first enqueues it.
    assert_eq!(app.fire_schedules_at(week_ends).await, 1);
    assert_eq!(
        app.fire_schedules_at(week_ends + Duration::seconds(1))
            .await,
        0
    );
    assert!(app.drain_at(week_ends + Duration::seconds(1)).await > 0);
    for handle in ["grace", "linus"] {
        let got = digests(handle);
        assert_eq!(got.len(), 1, "{handle} gets one digest");
        assert!(got[0].contains("Rust lifetimes"));
        assert!(!got[0].contains("Web caching"), "only followed topics");
    }
    assert!(
        digests("barbara").is_empty(),
        "the digest is off for barbara"
    );
    assert!(digests("ada").is_empty(), "ada follows nothing");

    // The ledger holds one fan-out for the period; draining again sends nothing more.
    let fanouts: i64 = nexus_db::Exec::from(&app.db)
        .scalar(
            nexus_db::query("SELECT COUNT(*) FROM jobs WHERE dedupe_key = $1")
                .bind(period_key("weekly_digest", week_ends)),
        )
        .await
        .unwrap();
    assert_eq!(fanouts, 1);
    assert_eq!(app.drain_at(week_ends + Duration::hours(1)).await, 0);
    assert_eq!(digests("grace").len(), 1);
}
