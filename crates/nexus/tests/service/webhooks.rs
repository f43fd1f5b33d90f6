//! A webhook endpoint that fails, against a real receiver on loopback, on the manual
//! clock: each retry is an attempt at a time the test sets, three failures open the
//! breaker for exactly its cool-down, nothing is sent while it is open, and after the
//! cool-down one probe goes: a good one closes the breaker, a bad one opens it again at
//! once. No sleeping: the cool-down is a step of the clock.

use std::collections::HashSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use nexus_core::hub::{NoteKind, NoteStatus};
use nexus_core::identity::Role;
use nexus_service::actor::AuthUser;
use nexus_service::hub::{CreateNote, CreateTopic};
use nexus_service::jobs::admin::{JobQuery, JobView};
use nexus_service::webhooks::{CreateWebhook, Delivery, Webhook};
use uuid::Uuid;

use crate::backend_tests;
use crate::harness::ServiceApp;
use crate::helpers::Backend;
use crate::receiver::{Received, Receiver, body_of, verifies};

backend_tests!(failures_are_retried_the_breaker_opens_and_a_good_probe_closes_it);

const COOL_DOWN: i64 = 60;

/// Whole seconds (PostgreSQL keeps microseconds).
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2031, 9, 1, 8, 0, 0).unwrap()
}

struct Hooked {
    app: ServiceApp,
    admin: AuthUser,
    ada: AuthUser,
    id: Uuid,
}

impl Hooked {
    async fn breaker(&self) -> Webhook {
        self.app
            .services
            .webhooks()
            .get(&self.ada, self.id)
            .await
            .unwrap()
    }

    async fn log(&self) -> Vec<Delivery> {
        self.app
            .services
            .webhooks()
            .deliveries(&self.ada, self.id, Some(100), None)
            .await
            .unwrap()
            .items
    }

    /// The `webhook.deliver` jobs, newest first.
    async fn deliveries(&self) -> Vec<JobView> {
        let q = JobQuery {
            kind: Some("webhook.deliver".into()),
            ..JobQuery::default()
        };
        let jobs = self.app.services.jobs();
        jobs.list(&self.admin, q).await.unwrap().items
    }

    async fn publish(&self, title: &str) {
        self.app
            .services
            .hub()
            .notes()
            .create(
                &self.ada,
                CreateNote {
                    title: title.into(),
                    kind: NoteKind::Concept,
                    body_md: "Leaders.".into(),
                    topics: vec!["databases".into()],
                    tags: vec![],
                    status: Some(NoteStatus::Published),
                    problem: None,
                    solution: None,
                    outcome: None,
                },
            )
            .await
            .unwrap();
    }
}

async fn failures_are_retried_the_breaker_opens_and_a_good_probe_closes_it(backend: Backend) {
    // The recorder `/metrics` renders; installed before anything is counted.
    let metrics = nexus_http::telemetry::metrics_handle();
    let app = ServiceApp::configured(backend, &[], |s| {
        // The receiver is on 127.0.0.1: allowed here, and only here.
        s.webhooks.allow_private_targets = true;
        s.webhooks.breaker_failures = 3;
        s.webhooks.breaker_cooldown_secs = COOL_DOWN as u64;
        s.jobs.max_attempts.insert("webhook.deliver".into(), 20);
        s.jobs.outbound_timeout_secs = 5;
    })
    .await;
    app.clock.set(t0());
    let admin = app.user("root", Role::Admin).await;
    let ada = app.user("ada", Role::Learner).await;
    app.services
        .hub()
        .topics()
        .create(
            &admin,
            CreateTopic {
                slug: Some("databases".into()),
                title: "Databases".into(),
                description: None,
            },
        )
        .await
        .unwrap();
    let (receiver, url) = Receiver::start().await;
    receiver.answer(500);
    let created = app
        .services
        .webhooks()
        .create(
            &ada,
            CreateWebhook {
                url,
                events: vec!["note.published".into()],
                description: Some("test receiver".into()),
            },
        )
        .await
        .unwrap();
    let secret = created.secret;
    let hook = Hooked {
        id: created.webhook.id,
        app,
        admin,
        ada,
    };
    let app = &hook.app;

    // Each failure is retried after its backoff (at most 1 s in tests); the third in a
    // row opens the breaker until exactly one cool-down after it.
    hook.publish("Raft").await;
    for (second, failures) in [(0, 1), (1, 2)] {
        app.drain_at(t0() + Duration::seconds(second)).await;
        let seen = hook.breaker().await;
        assert_eq!(
            (
                seen.breaker.state.as_str(),
                seen.breaker.consecutive_failures
            ),
            ("closed", failures),
            "{seen:?}"
        );
        assert_eq!(receiver.all().len(), failures as usize);
    }
    let opened = t0() + Duration::seconds(2);
    app.drain_at(opened).await;
    let seen = hook.breaker().await;
    assert_eq!(seen.breaker.state, "open", "{seen:?}");
    assert_eq!(seen.breaker.consecutive_failures, 3);
    let open_until = opened + Duration::seconds(COOL_DOWN);
    assert_eq!(seen.breaker.open_until, Some(open_until));
    assert_eq!(
        receiver.all().len(),
        3,
        "exactly the three failures before it opened"
    );

    // While it is open the endpoint is left alone: the delivery is due again before the
    // cool-down ends, and waits for its end without spending an attempt.
    app.drain_at(open_until - Duration::seconds(1)).await;
    assert_eq!(receiver.all().len(), 3, "nothing is sent while open");
    let waiting = hook.deliveries().await.remove(0);
    assert_eq!(
        (waiting.state.as_str(), waiting.attempts, waiting.run_at),
        ("queued", 3, open_until),
        "{waiting:?}"
    );
    let log = hook.log().await;
    assert_eq!(log.len(), 3);
    for (item, (attempt, second)) in log.iter().zip([(3, 2), (2, 1), (1, 0)]) {
        assert_eq!(item.outcome, "failed");
        assert_eq!(item.status_code, Some(500));
        assert_eq!(item.attempt, attempt);
        assert!(item.error.as_deref().unwrap().contains("500"), "{item:?}");
        assert_eq!(item.created_at, t0() + Duration::seconds(second));
    }

    // The endpoint recovers: at the end of the cool-down one probe goes, succeeds and
    // closes the breaker, and the event is delivered once.
    receiver.answer(204);
    app.drain_at(open_until).await;
    let seen = hook.breaker().await;
    assert_eq!(seen.breaker.state, "closed", "{seen:?}");
    assert_eq!(seen.breaker.consecutive_failures, 0);
    assert_eq!(seen.breaker.open_until, None);
    assert_eq!(app.drain_at(open_until + Duration::days(1)).await, 0);
    let got = receiver.all();
    let good: Vec<&Received> = got.iter().filter(|g| g.answered == 204).collect();
    assert_eq!(good.len(), 1, "delivered once after recovery");
    assert!(verifies(&secret, good[0]));
    // Every attempt carried the same event id, so a receiver can drop duplicates.
    let ids: HashSet<String> = got.iter().map(|g| body_of(g)["id"].to_string()).collect();
    assert_eq!(ids.len(), 1);
    let log = hook.log().await;
    assert_eq!(
        (
            log[0].outcome.as_str(),
            log[0].status_code,
            log[0].created_at
        ),
        ("succeeded", Some(204), open_until)
    );

    // It fails again: two events this time, so that when the breaker has opened again
    // and cooled down, two deliveries are waiting for one probe.
    receiver.answer(503);
    let t2 = open_until + Duration::days(1) + Duration::hours(1);
    hook.publish("Paxos").await;
    hook.publish("Zab").await;
    let before = receiver.all().len();
    app.drain_at(t2).await;
    let reopened = t2 + Duration::seconds(1);
    app.drain_at(reopened).await;
    let seen = hook.breaker().await;
    assert_eq!(seen.breaker.state, "open", "{seen:?}");
    assert_eq!(seen.breaker.consecutive_failures, 3);
    let reopen_until = reopened + Duration::seconds(COOL_DOWN);
    assert_eq!(seen.breaker.open_until, Some(reopen_until));
    assert_eq!(
        receiver.all().len(),
        before + 3,
        "three failures, then wait"
    );

    // A probe that fails opens the breaker again at once, for a whole cool-down, and the
    // other delivery waits for that: one probe, not a burst.
    app.drain_at(reopen_until).await;
    let seen = hook.breaker().await;
    assert_eq!(seen.breaker.state, "open", "{seen:?}");
    assert_eq!(seen.breaker.consecutive_failures, 4);
    assert_eq!(
        seen.breaker.open_until,
        Some(reopen_until + Duration::seconds(COOL_DOWN))
    );
    assert_eq!(receiver.all().len(), before + 4, "one probe, not a burst");
    assert_eq!(app.drain_at(reopen_until).await, 0, "nothing else is due");
    assert_eq!(receiver.all().len(), before + 4);

    // The metrics tell the story too.
    let metrics = metrics.render();
    assert!(
        metrics.contains("webhook_breaker_opened_total"),
        "{metrics}"
    );
    assert!(metrics.contains("webhook_deliveries_total{outcome=\"failed\"}"));
}
