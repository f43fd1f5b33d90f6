//! Webhooks against a real receiver on loopback: signed deliveries that verify, the
//! delivery log, and the registration API's checks (private targets, ownership, limits).
//! (Retries and the breaker, whose cool-down is a matter of time, run on a manual clock:
//! `tests/service/webhooks.rs`.)

use serde_json::{Value, json};

use crate::backend_tests;
use crate::discussion::{comment, propose};
use crate::helpers::{Backend, TestApp, TestUser, assert_problem, spawn_app_with};
use crate::hub::{create as create_note, setup};
use crate::receiver::{Receiver, body_of, verifies};

backend_tests!(
    a_receiver_gets_signed_deliveries_of_the_events_it_chose,
    the_webhooks_api_checks_targets_events_owners_and_limits,
    only_events_some_endpoint_receives_become_fan_out_jobs,
);

async fn webhook_app(backend: Backend) -> TestApp {
    spawn_app_with(
        backend,
        |s| {
            // The receiver is on 127.0.0.1: allowed here, and only here.
            s.webhooks.allow_private_targets = true;
            s.webhooks.breaker_failures = 3;
            s.webhooks.breaker_cooldown_secs = 2;
            s.jobs.max_attempts.insert("webhook.deliver".into(), 20);
            s.jobs.outbound_timeout_secs = 5;
        },
        None,
    )
    .await
}

async fn register(app: &TestApp, who: &TestUser, url: &str, events: Value) -> Value {
    let resp = app
        .post_json(
            "/api/v1/webhooks",
            Some(&who.access),
            json!({"url": url, "events": events, "description": "test receiver"}),
        )
        .await;
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    resp.json().await.unwrap()
}

async fn a_receiver_gets_signed_deliveries_of_the_events_it_chose(backend: Backend) {
    let app = webhook_app(backend).await;
    let (_admin, ada) = setup(&app).await;
    let (receiver, url) = Receiver::start().await;
    let hook = register(
        &app,
        &ada,
        &url,
        json!(["note.published", "comment.created"]),
    )
    .await;
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let id = hook["id"].as_str().unwrap().to_owned();
    assert_eq!(hook["events"], json!(["comment.created", "note.published"]));
    assert_eq!(hook["breaker"]["state"], "closed");

    let note = create_note(
        &app,
        &ada,
        json!({"title": "Raft", "kind": "concept", "body_md": "Leaders.", "topics": ["databases"]}),
    )
    .await;
    let slug = note["slug"].as_str().unwrap();
    let grace = app.verified_user("grace").await;
    let resp = comment(&app, &grace, slug, json!({"body_md": "Why one leader?"})).await;
    assert_eq!(resp.status(), 201);
    // A proposal is an event this endpoint did not choose: it gets no delivery.
    let resp = propose(
        &app,
        &grace,
        slug,
        json!({"base_version": 1, "body_md": "Leaders, elected.", "message": "clearer"}),
    )
    .await;
    assert_eq!(resp.status(), 201);
    app.jobs_settled().await;

    let got = receiver.all();
    let types: Vec<String> = got
        .iter()
        .map(|g| body_of(g)["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(types.len(), 2, "{types:?}");
    assert!(types.contains(&"note.published".to_owned()));
    assert!(types.contains(&"comment.created".to_owned()));
    for g in &got {
        assert!(verifies(&secret, g), "signature verifies");
        assert!(!verifies("whsec_wrong", g), "and not with another key");
        let body = body_of(g);
        assert_eq!(g.headers["nexus-event"], body["type"].as_str().unwrap());
        assert_eq!(g.headers["nexus-delivery"], body["id"].as_str().unwrap());
        assert_eq!(g.headers["content-type"], "application/json");
    }
    let published = got
        .iter()
        .map(body_of)
        .find(|b| b["type"] == "note.published")
        .unwrap();
    assert_eq!(published["data"]["slug"], slug);
    assert!(published["occurred_at"].is_string());

    // The test endpoint sends a webhook.test event down the same path.
    let resp = app
        .post_json(
            &format!("/api/v1/webhooks/{id}/test"),
            Some(&ada.access),
            json!({}),
        )
        .await;
    assert_eq!(resp.status(), 202);
    let test: Value = resp.json().await.unwrap();
    app.jobs_settled().await;
    let last = receiver.all().last().cloned().unwrap();
    assert_eq!(body_of(&last)["type"], "webhook.test");
    assert_eq!(body_of(&last)["id"], test["event_id"]);
    assert!(verifies(&secret, &last));

    // Every attempt is in the log, newest first.
    let log = app
        .get_auth_json(&format!("/api/v1/webhooks/{id}/deliveries"), &ada.access)
        .await;
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{log}");
    assert_eq!(items[0]["event_type"], "webhook.test");
    assert_eq!(items[0]["job_id"], test["job_id"]);
    for item in items {
        assert_eq!(item["outcome"], "succeeded");
        assert_eq!(item["status_code"], 200);
        assert_eq!(item["attempt"], 1);
    }
    let page = app
        .get_auth_json(
            &format!("/api/v1/webhooks/{id}/deliveries?limit=2"),
            &ada.access,
        )
        .await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = app
        .get_auth_json(
            &format!("/api/v1/webhooks/{id}/deliveries?limit=2&cursor={cursor}"),
            &ada.access,
        )
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert!(rest["next_cursor"].is_null());

    // Deleted: later events reach it no more, and it is gone from the API.
    let resp = app
        .delete_auth(&format!("/api/v1/webhooks/{id}"), &ada.access)
        .await;
    assert_eq!(resp.status(), 204);
    create_note(
        &app,
        &ada,
        json!({"title": "Paxos", "kind": "concept", "body_md": "Ballots.", "topics": ["databases"]}),
    )
    .await;
    app.jobs_settled().await;
    assert_eq!(receiver.all().len(), 3);
    let listed = app.get_auth_json("/api/v1/webhooks", &ada.access).await;
    assert_eq!(listed["items"], json!([]));
}

async fn the_webhooks_api_checks_targets_events_owners_and_limits(backend: Backend) {
    let app = spawn_app_with(
        backend,
        |s| {
            s.webhooks.max_per_owner = 2;
        },
        None,
    )
    .await;
    let admin = app.admin("root").await;
    let ada = app.verified_user("ada").await;
    let grace = app.verified_user("grace").await;
    let post = async |who: &TestUser, body: Value| {
        app.post_json("/api/v1/webhooks", Some(&who.access), body)
            .await
    };
    // Private and loopback targets are refused in the default configuration.
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://10.0.0.7/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://0.0.0.0/",
    ] {
        let resp = post(&ada, json!({"url": url, "events": ["note.published"]})).await;
        let problem = assert_problem(resp, 422, "validation-failed").await;
        assert_eq!(problem["errors"][0]["field"], "url", "{url}: {problem}");
    }
    // Malformed input.
    for body in [
        json!({"url": "ftp://example.com/", "events": ["note.published"]}),
        json!({"url": "https://u:p@example.com/", "events": ["note.published"]}),
        json!({"url": "not a url", "events": ["note.published"]}),
        json!({"url": "", "events": ["note.published"]}),
        json!({"url": format!("https://example.com/{}", "a".repeat(3000)), "events": ["note.published"]}),
        json!({"url": "https://example.com/", "events": []}),
        json!({"url": "https://example.com/", "events": ["note.exploded"]}),
        json!({"url": "https://example.com/", "events": ["💥"]}),
        json!({"url": "https://example.com/", "events": ["report.filed"]}),
        json!({"url": "https://example.com/", "events": ["note.published"], "description": "d".repeat(201)}),
    ] {
        let resp = post(&ada, body.clone()).await;
        assert_problem(resp, 422, "validation-failed").await;
    }
    for body in [
        json!({"url": 7, "events": ["note.published"]}),
        json!({"url": "https://example.com/", "events": "note.published"}),
        json!({"url": "https://example.com/", "events": ["note.published"], "secret": "mine"}),
    ] {
        let resp = post(&ada, body).await;
        assert!(
            [400, 422].contains(&resp.status().as_u16()),
            "{}",
            resp.status()
        );
    }
    let resp = app
        .post_json(
            "/api/v1/webhooks",
            None,
            json!({"url": "https://example.com/", "events": ["note.published"]}),
        )
        .await;
    assert_problem(resp, 401, "unauthenticated").await;

    // Registration itself, with loopback allowed on a sibling configuration, is covered
    // by the delivery tests; here a public literal address passes the guard.
    let ok = json!({"url": "https://93.184.216.34/hook", "events": ["note.published"]});
    let resp = post(&ada, ok.clone()).await;
    assert_eq!(resp.status(), 201);
    let first: Value = resp.json().await.unwrap();
    let id = first["id"].as_str().unwrap();
    assert_eq!(post(&ada, ok.clone()).await.status(), 201);
    assert_problem(post(&ada, ok.clone()).await, 409, "conflict").await;
    // Admins may take the admin-only events.
    let resp = post(
        &admin,
        json!({"url": "https://93.184.216.34/admin", "events": ["report.filed", "user.registered"]}),
    )
    .await;
    assert_eq!(resp.status(), 201);

    // Someone else's webhook does not exist for grace; the admin sees it.
    for path in [
        format!("/api/v1/webhooks/{id}"),
        format!("/api/v1/webhooks/{id}/deliveries"),
    ] {
        assert_problem(app.get_auth(&path, &grace.access).await, 404, "not-found").await;
        assert_eq!(app.get_auth(&path, &admin.access).await.status(), 200);
    }
    let resp = app
        .post_json(
            &format!("/api/v1/webhooks/{id}/test"),
            Some(&grace.access),
            json!({}),
        )
        .await;
    assert_problem(resp, 404, "not-found").await;
    let resp = app
        .delete_auth(&format!("/api/v1/webhooks/{id}"), &grace.access)
        .await;
    assert_problem(resp, 404, "not-found").await;
    let listed = app.get_auth_json("/api/v1/webhooks", &grace.access).await;
    assert_eq!(listed["items"], json!([]));
    let listed = app.get_auth_json("/api/v1/webhooks", &ada.access).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    assert!(
        listed["items"][0].get("secret").is_none(),
        "the secret is shown only once"
    );
    // Bad ids and cursors.
    assert_problem(
        app.get_auth("/api/v1/webhooks/not-a-uuid", &ada.access)
            .await,
        400,
        "bad-request",
    )
    .await;
    let resp = app
        .get_auth(
            &format!("/api/v1/webhooks/{id}/deliveries?cursor=nonsense"),
            &ada.access,
        )
        .await;
    assert_problem(resp, 422, "validation-failed").await;
    // Deleting frees a place.
    let resp = app
        .delete_auth(&format!("/api/v1/webhooks/{id}"), &ada.access)
        .await;
    assert_eq!(resp.status(), 204);
    assert_problem(
        app.get_auth(&format!("/api/v1/webhooks/{id}"), &ada.access)
            .await,
        404,
        "not-found",
    )
    .await;
    assert_eq!(post(&ada, ok).await.status(), 201);
}

/// Fan-out jobs by state, from the job ledger.
async fn fan_outs(app: &TestApp) -> Vec<(String, i64)> {
    nexus_db::jobs::counts(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|(kind, _, _)| kind == "webhook.fanout")
        .map(|(_, state, n)| (state, n))
        .collect()
}

async fn only_events_some_endpoint_receives_become_fan_out_jobs(backend: Backend) {
    let app = webhook_app(backend).await;
    let (_admin, ada) = setup(&app).await;
    let first = create_note(
        &app,
        &ada,
        json!({"title": "Unheard", "kind": "concept", "body_md": "No endpoint yet.", "topics": ["databases"]}),
    )
    .await;
    app.jobs_settled().await;
    assert_eq!(fan_outs(&app).await, vec![], "no endpoint: no fan-out job");

    let (receiver, url) = Receiver::start().await;
    register(&app, &ada, &url, json!(["note.published"])).await;
    let grace = app.verified_user("grace").await;
    let slug = first["slug"].as_str().unwrap();
    // comment.created has no endpoint; note.published now has one.
    let resp = comment(&app, &grace, slug, json!({"body_md": "Heard?"})).await;
    assert_eq!(resp.status(), 201);
    create_note(
        &app,
        &ada,
        json!({"title": "Heard", "kind": "concept", "body_md": "Delivered.", "topics": ["databases"]}),
    )
    .await;
    app.jobs_settled().await;
    assert_eq!(fan_outs(&app).await, vec![("succeeded".to_owned(), 1)]);
    let got = receiver.all();
    assert_eq!(got.len(), 1);
    assert_eq!(body_of(&got[0])["data"]["slug"], "heard");
}
