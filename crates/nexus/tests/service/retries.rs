//! A job that keeps failing, on the manual clock: each retry is due only once the clock
//! passes its backoff, the last failure makes it dead, and an admin's retry starts it
//! over; an email waits in the queue while its SMTP server is down and goes once when a
//! real one is back. No sleeping: the time between attempts is set, not waited for.

use chrono::{Duration, SubsecRound};
use nexus_core::config::SecretUrl;
use nexus_core::identity::Role;
use nexus_service::identity::RegisterRequest;
use nexus_service::jobs::admin::JobQuery;

use crate::backend_tests;
use crate::harness::ServiceApp;
use crate::helpers::{Backend, SmtpSink, closed_port};

backend_tests!(
    an_email_that_cannot_be_sent_dies_after_its_attempts_and_an_admin_revives_it,
    an_email_waits_in_the_queue_while_smtp_is_down_and_is_delivered_once_when_it_is_back,
);

fn ada() -> RegisterRequest {
    RegisterRequest {
        email: "ada@example.com".into(),
        handle: "ada".into(),
        display_name: "Ada".into(),
        password: "a long enough password".into(),
    }
}

async fn an_email_that_cannot_be_sent_dies_after_its_attempts_and_an_admin_revives_it(
    backend: Backend,
) {
    let port = closed_port();
    let app = ServiceApp::configured(backend, &[], |s| {
        s.smtp_url = Some(SecretUrl::new(format!("smtp://127.0.0.1:{port}")));
        s.jobs.max_attempts.insert("email.send".into(), 3);
    })
    .await;
    let admin = app.user("root", Role::Admin).await;
    // Whole microseconds: what PostgreSQL keeps of a time.
    let t0 = app.clock.now().trunc_subsecs(6);
    app.clock.set(t0);
    app.services
        .identity()
        .accounts()
        .register(ada())
        .await
        .unwrap();
    let emails = || async {
        let q = JobQuery {
            kind: Some("email.send".into()),
            ..JobQuery::default()
        };
        app.services.jobs().list(&admin, q).await.unwrap().items
    };

    // The first attempt fails (nothing listens); the retry is not due at the same instant.
    assert!(app.drain_at(t0).await > 0);
    let job = emails().await.remove(0);
    assert_eq!((job.state.as_str(), job.attempts), ("queued", 1), "{job:?}");
    assert!(job.run_at > t0, "due again only after its backoff");
    assert_eq!(app.drain_at(t0).await, 0);

    // Past the backoff (at most 1 s in tests) the second runs, then the third: dead.
    app.drain_at(t0 + Duration::minutes(1)).await;
    assert_eq!(emails().await[0].attempts, 2);
    app.drain_at(t0 + Duration::minutes(2)).await;
    let dead = emails().await.remove(0);
    assert_eq!(
        (dead.state.as_str(), dead.attempts),
        ("dead", 3),
        "{dead:?}"
    );
    assert_eq!(dead.max_attempts, 3);
    assert!(!dead.last_error.as_deref().unwrap_or_default().is_empty());
    assert_eq!(
        dead.finished_at,
        Some(t0 + Duration::minutes(2)),
        "the clock's time"
    );
    assert_eq!(
        dead.payload["text"], "[redacted]",
        "codes never reach the admin view"
    );
    // Nothing runs a dead job, however late.
    assert_eq!(app.drain_at(t0 + Duration::days(30)).await, 0);

    // An admin revives it; it fails three more times and is dead again.
    let revived = app.services.jobs().retry(&admin, dead.id).await.unwrap();
    assert_eq!((revived.state.as_str(), revived.attempts), ("queued", 0));
    for minute in 31..34 {
        app.drain_at(t0 + Duration::days(30) + Duration::minutes(minute))
            .await;
    }
    let again = emails().await.remove(0);
    assert_eq!(
        (again.state.as_str(), again.attempts),
        ("dead", 3),
        "{again:?}"
    );
    assert_eq!(emails().await.len(), 1, "the same job, not a new one");
}

async fn an_email_waits_in_the_queue_while_smtp_is_down_and_is_delivered_once_when_it_is_back(
    backend: Backend,
) {
    let Some(python) = SmtpSink::python_or_skip() else {
        return;
    };
    let port = closed_port();
    let app = ServiceApp::configured(backend, &[], |s| {
        s.smtp_url = Some(SecretUrl::new(format!("smtp://127.0.0.1:{port}")));
        s.jobs.max_attempts.insert("email.send".into(), 100);
    })
    .await;
    let admin = app.user("root", Role::Admin).await;
    let t0 = app.clock.now().trunc_subsecs(6);
    app.clock.set(t0);
    app.services
        .identity()
        .accounts()
        .register(ada())
        .await
        .unwrap();
    let the_email = || async {
        let q = JobQuery {
            kind: Some("email.send".into()),
            ..JobQuery::default()
        };
        let mut items = app.services.jobs().list(&admin, q).await.unwrap().items;
        assert_eq!(items.len(), 1, "{items:?}");
        items.remove(0)
    };

    // Nothing listens: two attempts fail, each retry due only after its backoff, and the
    // job stays queued with the error, nowhere near its 100 attempts.
    app.drain_at(t0).await;
    let down = t0 + Duration::minutes(1);
    app.drain_at(down).await;
    let job = the_email().await;
    assert_eq!((job.state.as_str(), job.attempts), ("queued", 2), "{job:?}");
    assert_eq!(job.max_attempts, 100);
    assert!(
        !job.last_error.as_deref().unwrap_or_default().is_empty(),
        "{job:?}"
    );
    assert_eq!(job.finished_at, None);
    assert!(job.run_at > down, "due again only after its backoff");
    assert_eq!(app.drain_at(down).await, 0);

    // A real SMTP server comes up on that port; the next attempt delivers. The sink
    // stores a message before it accepts it, so it is there when the job has succeeded.
    let sink = SmtpSink::start_on(&python, port);
    let back = down + Duration::minutes(1);
    app.drain_at(back).await;
    let job = the_email().await;
    assert_eq!(
        (job.state.as_str(), job.attempts),
        ("succeeded", 3),
        "{job:?}"
    );
    assert_eq!(job.finished_at, Some(back), "the clock's time");
    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].contains(&format!("Message-ID: <{}@", job.id)),
        "{}",
        messages[0]
    );
    // Nothing is left to try, however late: still exactly one message.
    assert_eq!(app.drain_at(back + Duration::days(30)).await, 0);
    assert_eq!(sink.messages().len(), 1, "delivered exactly once");
}
