//! Background work over real components: the queue in SQLite and PostgreSQL, the outbox
//! relay, the admin API over dead jobs, RabbitMQ restarted under 1,000 queued jobs, email
//! delivered to a real SMTP server (and refused when it cannot do the TLS asked for), and
//! the email preferences that notifications and the digest honour. (Retries to death, an
//! email held back while SMTP is down, and the weekly digest run on a manual clock:
//! `tests/service/retries.rs`, `tests/service/schedules.rs`.)

use std::time::Duration;

use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{
    Backend, SmtpSink, TestApp, assert_problem, spawn_app, spawn_app_with, wait_for,
};
use crate::hub::create as create_note;

backend_tests!(
    registration_email_is_sent_by_the_queue_and_its_code_leaves_the_ledger,
    a_comment_is_an_outbox_event_that_emails_the_note_author_once,
    the_jobs_api_is_for_admins_and_validates_its_filters,
    the_verification_email_reaches_a_real_smtp_server,
    smtp_with_tls_required_refuses_a_server_without_starttls,
    email_preferences_start_on_and_a_patch_changes_only_what_it_names,
    email_preferences_refuse_bad_bodies_and_anonymous_callers,
    an_author_with_notifications_off_is_not_emailed_about_comments_but_gets_essential_email,
);

async fn jobs(app: &TestApp, token: &str, query: &str) -> Value {
    app.get_auth_json(&format!("/api/v1/admin/jobs{query}"), token)
        .await
}

fn count_of(list: &Value, kind: &str, state: &str) -> i64 {
    list["counts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == kind && c["state"] == state)
        .map_or(0, |c| c["count"].as_i64().unwrap())
}

async fn registration_email_is_sent_by_the_queue_and_its_code_leaves_the_ledger(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin("root").await;
    assert_eq!(app.register("ada@example.com", "ada").await.status(), 202);
    let code = app
        .code_from_email("ada@example.com", "Verification code")
        .await;
    app.jobs_settled().await;
    let list = jobs(&app, &admin.access, "?kind=email.send").await;
    assert_eq!(count_of(&list, "email.send", "succeeded"), 1, "{list}");
    let job = &list["items"][0];
    assert_eq!(job["state"], "succeeded");
    assert_eq!(job["attempts"], 1);
    assert_eq!(job["payload"]["to"], "ada@example.com");
    assert!(
        !job.to_string().contains(&code),
        "the one-time code is not kept once sent: {job}"
    );
    // The user.registered event went through the outbox too.
    let relayed: i64 = sqlx_count(
        &app,
        "SELECT COUNT(*) FROM outbox_events WHERE event_type = 'user.registered' AND relayed_at IS NOT NULL",
    )
    .await;
    assert_eq!(relayed, 1);
    // The message is named after its job: a resend would replace it, not add one.
    let id = job["id"].as_str().unwrap();
    assert!(app.outbox().join(format!("{id}.eml")).exists());
    // The queue shows in /metrics: attempts by kind, and the depth gauge.
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("jobs_attempts_total{kind=\"email.send\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("jobs_queue_depth{kind=\"email.send\"}"));
    assert!(metrics.contains("jobs_latency_seconds"));
    let ready = app.get_json("/readyz").await;
    assert_eq!(ready["checks"]["queue"]["backend"], "database");
    assert_eq!(ready["checks"]["queue"]["status"], "ok");
}

async fn sqlx_count(app: &TestApp, sql: &'static str) -> i64 {
    nexus_db::Exec::from(&app.state.db)
        .scalar::<i64>(nexus_db::query(sql))
        .await
        .unwrap()
}

async fn a_comment_is_an_outbox_event_that_emails_the_note_author_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_admin, ada) = crate::hub::setup(&app).await;
    let note = create_note(
        &app,
        &ada,
        json!({"title": "Raft", "kind": "concept", "body_md": "Leaders.", "topics": ["databases"]}),
    )
    .await;
    let slug = note["slug"].as_str().unwrap();
    let grace = app.verified_user("grace").await;
    let path = format!("/api/v1/notes/{slug}/comments");
    let resp = app
        .post_json(
            &path,
            Some(&grace.access),
            json!({"body_md": "Why a leader?"}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    // The author's own comment tells nobody.
    let resp = app
        .post_json(&path, Some(&ada.access), json!({"body_md": "Simplicity."}))
        .await;
    assert_eq!(resp.status(), 201);
    app.jobs_settled().await;
    let told: Vec<String> = app
        .emails_to("ada@example.com")
        .into_iter()
        .filter(|m| m.contains("commented"))
        .collect();
    assert_eq!(told.len(), 1, "one notification for one comment by another");
    assert!(told[0].contains("grace"), "{}", told[0]);
    assert!(told[0].contains(&format!("/notes/{slug}")));
    assert!(
        app.emails_to("grace@example.com")
            .iter()
            .all(|m| !m.contains("commented")),
        "the commenter is not told of their own comment"
    );
    // Relaying the same events again adds no jobs: their dedupe keys are taken.
    let before = sqlx_count(&app, "SELECT COUNT(*) FROM jobs").await;
    nexus_db::Exec::from(&app.state.db)
        .execute(nexus_db::query(
            "UPDATE outbox_events SET relayed_at = NULL",
        ))
        .await
        .unwrap();
    nexus_service::jobs::worker::relay_once(&app.state.services)
        .await
        .unwrap();
    assert_eq!(sqlx_count(&app, "SELECT COUNT(*) FROM jobs").await, before);
}

async fn the_jobs_api_is_for_admins_and_validates_its_filters(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin("root").await;
    let ada = app.verified_user("ada").await;
    app.jobs_settled().await;
    let resp = app.get_auth("/api/v1/admin/jobs", &ada.access).await;
    assert_problem(resp, 403, "forbidden").await;
    assert_problem(app.get("/api/v1/admin/jobs").await, 401, "unauthenticated").await;
    for query in [
        "?state=exploded",
        "?kind=email.sent",
        "?limit=0",
        "?limit=101",
        "?cursor=nonsense",
        "?state=%F0%9F%92%A5",
    ] {
        let resp = app
            .get_auth(&format!("/api/v1/admin/jobs{query}"), &admin.access)
            .await;
        assert_problem(resp, 422, "validation-failed").await;
    }
    let resp = app
        .get_auth("/api/v1/admin/jobs/not-a-uuid", &admin.access)
        .await;
    assert_eq!(resp.status(), 400);
    let list = jobs(&app, &admin.access, "?state=succeeded").await;
    let id = list["items"][0]["id"].as_str().unwrap().to_owned();
    let resp = app
        .post_json(
            &format!("/api/v1/admin/jobs/{id}/retry"),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_problem(resp, 409, "conflict").await;
    // A dead job is revived over HTTP (how one dies, attempt by attempt on a manual
    // clock, is tests/service/retries.rs); an unknown one is missing.
    nexus_db::Exec::from(&app.state.db)
        .execute(
            nexus_db::query("UPDATE jobs SET state = 'dead' WHERE id = $1")
                .bind(uuid::Uuid::parse_str(&id).unwrap()),
        )
        .await
        .unwrap();
    let resp = app
        .post_json(
            &format!("/api/v1/admin/jobs/{id}/retry"),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let revived: Value = resp.json().await.unwrap();
    assert_eq!(
        (revived["state"].as_str(), revived["attempts"].as_i64()),
        (Some("queued"), Some(0))
    );
    let resp = app
        .post_json(
            &format!("/api/v1/admin/jobs/{}/retry", uuid::Uuid::now_v7()),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_problem(resp, 404, "not-found").await;
    // Pages follow the cursor without repeats.
    let first = jobs(&app, &admin.access, "?limit=1").await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = jobs(&app, &admin.access, &format!("?limit=1&cursor={cursor}")).await;
    assert_ne!(first["items"][0]["id"], second["items"][0]["id"]);
}

/// Runs `rabbitmqctl` against the local broker; `epmd` stays on loopback.
fn rabbitmqctl(args: &[&str]) {
    let status = std::process::Command::new("rabbitmqctl")
        .args(args)
        .env("ERL_EPMD_ADDRESS", "127.0.0.1")
        .stdout(std::process::Stdio::null())
        .status()
        .expect("rabbitmqctl runs");
    assert!(status.success(), "rabbitmqctl {args:?}: {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rabbitmq_restarted_under_1000_queued_jobs_loses_none_and_repeats_none() {
    let Some(amqp) = crate::helpers::amqp_url_or_skip() else {
        return;
    };
    const N: usize = 1000;
    let queue = format!("nexus-test-{}", uuid::Uuid::new_v4().simple());
    let backend = Backend::postgres_or_skip().unwrap_or(Backend::Sqlite);
    let app = spawn_app_with(
        backend,
        |s| {
            s.amqp_url = Some(nexus_core::config::SecretUrl::new(amqp.clone()));
            s.jobs.amqp_queue = queue.clone();
            s.jobs.concurrency = 2;
        },
        None,
    )
    .await;
    let services = &app.state.services;
    let ready = app.get_json("/readyz").await;
    assert_eq!(ready["checks"]["queue"]["backend"], "rabbitmq", "{ready}");
    // One transaction, so all 1,000 reach the broker before much is consumed.
    let mut tx = services.db.begin().await.unwrap();
    for i in 0..N {
        let email = nexus_service::mail::OutgoingEmail {
            to: format!("reader{i}@example.com"),
            subject: format!("message {i}"),
            text: "hello".into(),
            html: "<p>hello</p>".into(),
        };
        let opts = nexus_service::jobs::EnqueueOptions {
            dedupe_key: Some(format!("test:{i}")),
            run_at: None,
        };
        services
            .queue
            .enqueue_tx(
                &mut tx,
                nexus_service::mail::send::EMAIL_SEND,
                &nexus_service::mail::send::email_payload(email, true, None),
                &opts,
            )
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    services.queue.wake();
    let succeeded = async || {
        sqlx_count(
            &app,
            "SELECT COUNT(*) FROM jobs WHERE kind = 'email.send' AND state = 'succeeded'",
        )
        .await as usize
    };
    // Restart once every job has been handed to the broker and work is under way.
    wait_for("every job to reach the broker", async || {
        sqlx_count(
            &app,
            "SELECT COUNT(*) FROM jobs WHERE kind = 'email.send' AND published_at IS NULL",
        )
        .await
            == 0
    })
    .await;
    let link = services.amqp.clone().unwrap();
    let in_broker = link.probe().await.unwrap();
    let done_at_stop = succeeded().await;
    assert!(
        done_at_stop < N,
        "the restart must come while jobs are queued"
    );
    rabbitmqctl(&["stop_app"]);
    let ready = app.get_json("/readyz").await;
    assert_eq!(
        ready["status"], "ready",
        "the queue's ledger keeps the instance ready"
    );
    assert_eq!(ready["checks"]["queue"]["status"], "degraded", "{ready}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    rabbitmqctl(&["start_app"]);
    rabbitmqctl(&["await_startup"]);
    let mut polls = 0;
    wait_for("every job to complete after the restart", async || {
        polls += 1;
        if polls % 100 == 0 {
            let states = nexus_db::jobs::counts(&app.state.db).await.unwrap();
            let unpublished = sqlx_count(
                &app,
                "SELECT COUNT(*) FROM jobs WHERE published_at IS NULL AND state = 'queued'",
            )
            .await;
            eprintln!("after the restart: {states:?}, {unpublished} queued and unpublished");
        }
        succeeded().await == N
    })
    .await;
    let files = std::fs::read_dir(app.outbox())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .count();
    assert_eq!(files, N, "every job's email, each once");
    let repeated = sqlx_count(&app, "SELECT COUNT(*) FROM jobs WHERE attempts <> 1").await;
    assert_eq!(repeated, 0, "no job ran twice");
    eprintln!(
        "restart came with {done_at_stop} of {N} done and {in_broker} messages in the broker"
    );
    drop(app);
    let _ = crate::helpers::delete_amqp_queue(&amqp, &queue).await;
}

/// The one `email.send` job of a test, from the admin API.
async fn the_email_job(app: &TestApp, token: &str) -> Value {
    let list = jobs(app, token, "?kind=email.send").await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    items[0].clone()
}

async fn the_verification_email_reaches_a_real_smtp_server(backend: Backend) {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let app = spawn_app_with(backend, |s| s.smtp_url = Some(sink.url("")), None).await;
    let admin = app.admin("root").await;
    assert_eq!(app.register("ada@example.com", "ada").await.status(), 202);
    let message = sink.wait_for_messages(1).await.remove(0);
    app.jobs_settled().await;
    let job = the_email_job(&app, &admin.access).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["attempts"], 1);
    let id = job["id"].as_str().unwrap();
    // Headers end at the first empty line; bodies may be folded or encoded, so the code
    // is looked for after the label as lettre writes it (7bit or quoted-printable).
    let headers: Vec<&str> = message.lines().take_while(|l| !l.is_empty()).collect();
    let header = |name: &str| {
        headers
            .iter()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} header in {message}"))
    };
    assert_eq!(header("To"), "ada@example.com");
    assert_eq!(header("Subject"), "Confirm your email address for Nexus");
    assert_eq!(header("Message-ID"), format!("<{id}@nexus.localhost>"));
    assert!(header("Content-Type").starts_with("multipart/alternative"));
    assert!(message.contains("Content-Type: text/plain"), "{message}");
    assert!(message.contains("Content-Type: text/html"), "{message}");
    let code = {
        let mut lines = message.lines();
        lines.find(|l| l.trim() == "Verification code:");
        lines.next().unwrap().trim().to_owned()
    };
    assert!(!code.is_empty(), "{message}");
    // The code delivered over SMTP is the one that verifies the account.
    let resp = app
        .post_json("/api/v1/auth/verify-email", None, json!({"token": code}))
        .await;
    assert_eq!(resp.status(), 204);
    assert!(
        !app.outbox().join(format!("{id}.eml")).exists(),
        "with smtp_url nothing is written to the outbox"
    );
    assert_eq!(sink.messages().len(), 1);
}

async fn smtp_with_tls_required_refuses_a_server_without_starttls(backend: Backend) {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let app = spawn_app_with(
        backend,
        |s| {
            s.smtp_url = Some(sink.url("?tls=required"));
            s.jobs.max_attempts.insert("email.send".into(), 1);
        },
        None,
    )
    .await;
    let admin = app.admin("root").await;
    assert_eq!(app.register("ada@example.com", "ada").await.status(), 202);
    let mut job = Value::Null;
    wait_for("the email job to die", async || {
        job = the_email_job(&app, &admin.access).await;
        job["state"] == "dead"
    })
    .await;
    assert_eq!(job["attempts"], 1, "{job}");
    let error = job["last_error"].as_str().unwrap().to_lowercase();
    assert!(error.contains("tls"), "the error names TLS: {error}");
    assert!(sink.messages().is_empty(), "nothing was sent in clear text");
}

const PREFS: &str = "/api/v1/me/email-preferences";

async fn email_preferences_start_on_and_a_patch_changes_only_what_it_names(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.verified_user("ada").await;
    assert_eq!(
        app.get_auth_json(PREFS, &ada.access).await,
        json!({"notifications": true, "digest": true, "learning_digest": true})
    );
    let patch = async |body: Value| {
        let resp = app.patch_json(PREFS, Some(&ada.access), body).await;
        assert_eq!(resp.status(), 200);
        resp.json::<Value>().await.unwrap()
    };
    assert_eq!(
        patch(json!({"digest": false})).await,
        json!({"notifications": true, "digest": false, "learning_digest": true})
    );
    assert_eq!(
        app.get_auth_json(PREFS, &ada.access).await,
        json!({"notifications": true, "digest": false, "learning_digest": true})
    );
    assert_eq!(
        patch(json!({"notifications": false})).await,
        json!({"notifications": false, "digest": false, "learning_digest": true})
    );
    // An empty merge (or null, as in PATCH /me) changes nothing.
    assert_eq!(
        patch(json!({})).await,
        json!({"notifications": false, "digest": false, "learning_digest": true})
    );
    assert_eq!(
        patch(json!({"notifications": null, "digest": true})).await,
        json!({"notifications": false, "digest": true, "learning_digest": true})
    );
    // The learning digests have a switch of their own, and the others keep theirs.
    assert_eq!(
        patch(json!({"learning_digest": false})).await,
        json!({"notifications": false, "digest": true, "learning_digest": false})
    );
    assert_eq!(
        patch(json!({"learning_digest": true, "digest": null})).await,
        json!({"notifications": false, "digest": true, "learning_digest": true})
    );
    // Another user's preferences are their own.
    let grace = app.verified_user("grace").await;
    assert_eq!(
        app.get_auth_json(PREFS, &grace.access).await,
        json!({"notifications": true, "digest": true, "learning_digest": true})
    );
    // A read-only personal access token may look but not change.
    let pat: Value = app
        .post_json(
            "/api/v1/me/tokens",
            Some(&ada.access),
            json!({"name": "reader", "scope": "read"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let pat = pat["token"].as_str().unwrap();
    assert_eq!(
        app.get_auth_json(PREFS, pat).await,
        json!({"notifications": false, "digest": true, "learning_digest": true})
    );
    let resp = app
        .patch_json(PREFS, Some(pat), json!({"digest": false}))
        .await;
    assert_problem(resp, 403, "forbidden").await;
}

async fn email_preferences_refuse_bad_bodies_and_anonymous_callers(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.verified_user("ada").await;
    assert_problem(app.get(PREFS).await, 401, "unauthenticated").await;
    let resp = app.patch_json(PREFS, None, json!({"digest": false})).await;
    assert_problem(resp, 401, "unauthenticated").await;
    let resp = app
        .patch_json(PREFS, Some("not-a-token"), json!({"digest": false}))
        .await;
    assert_problem(resp, 401, "unauthenticated").await;

    let resp = app
        .patch_json(PREFS, Some(&ada.access), json!({"digest": "no"}))
        .await;
    let body = assert_problem(resp, 422, "validation-failed").await;
    assert_eq!(body["errors"][0]["field"], "digest", "{body}");
    let resp = app
        .patch_json(PREFS, Some(&ada.access), json!({"notifications": 0}))
        .await;
    let body = assert_problem(resp, 422, "validation-failed").await;
    assert_eq!(body["errors"][0]["field"], "notifications", "{body}");
    let resp = app
        .patch_json(
            PREFS,
            Some(&ada.access),
            json!({"learning_digest": "weekly"}),
        )
        .await;
    let body = assert_problem(resp, 422, "validation-failed").await;
    assert_eq!(body["errors"][0]["field"], "learning_digest", "{body}");
    let resp = app
        .patch_json(PREFS, Some(&ada.access), json!({"sms": true}))
        .await;
    assert_problem(resp, 422, "validation-failed").await;
    let resp = app.patch_json(PREFS, Some(&ada.access), json!(true)).await;
    assert_problem(resp, 422, "validation-failed").await;
    // An array of the fields in order is not an object (serde alone would accept it).
    let resp = app
        .patch_json(PREFS, Some(&ada.access), json!([false, false]))
        .await;
    assert_problem(resp, 422, "validation-failed").await;
    let raw = async |content_type: &str, body: &'static str| {
        app.client
            .patch(app.url(PREFS))
            .bearer_auth(&ada.access)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    };
    assert_problem(
        raw("application/json", "{\"digest\": fal").await,
        400,
        "bad-request",
    )
    .await;
    assert_problem(raw("application/json", "").await, 400, "bad-request").await;
    assert_eq!(raw("text/plain", "{}").await.status(), 415);
    // Nothing above changed anything.
    assert_eq!(
        app.get_auth_json(PREFS, &ada.access).await,
        json!({"notifications": true, "digest": true, "learning_digest": true})
    );
}

async fn an_author_with_notifications_off_is_not_emailed_about_comments_but_gets_essential_email(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let (_admin, ada) = crate::hub::setup(&app).await;
    let barbara = app.verified_user("barbara").await;
    let grace = app.verified_user("grace").await;
    let resp = app
        .patch_json(PREFS, Some(&ada.access), json!({"notifications": false}))
        .await;
    assert_eq!(resp.status(), 200);
    let mut slugs = Vec::new();
    for (who, title) in [(&ada, "Raft"), (&barbara, "Paxos")] {
        let note = create_note(
            &app,
            who,
            json!({"title": title, "kind": "concept", "body_md": "Consensus.", "topics": ["databases"]}),
        )
        .await;
        slugs.push(note["slug"].as_str().unwrap().to_owned());
    }
    for slug in &slugs {
        let resp =
            crate::discussion::comment(&app, &grace, slug, json!({"body_md": "Why a leader?"}))
                .await;
        assert_eq!(resp.status(), 201);
    }
    app.jobs_settled().await;
    let commented = |to: &str| {
        app.emails_to(to)
            .into_iter()
            .filter(|m| m.contains("commented"))
            .count()
    };
    assert_eq!(commented("barbara@example.com"), 1, "notifications on");
    assert_eq!(commented("ada@example.com"), 0, "notifications off");
    // Essential email is sent whatever the preferences say.
    let resp = app
        .patch_json(
            PREFS,
            Some(&ada.access),
            json!({"notifications": false, "digest": false}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let resp = app
        .post_json(
            "/api/v1/auth/password-reset",
            None,
            json!({"email": "ada@example.com"}),
        )
        .await;
    assert_eq!(resp.status(), 202);
    let code = app.code_from_email("ada@example.com", "Reset code").await;
    assert!(!code.is_empty());
}
