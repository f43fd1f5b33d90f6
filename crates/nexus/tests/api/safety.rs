//! Safety controls over HTTP: rate limits (in process and shared through Redis), client
//! addresses behind trusted proxies, idempotency keys, and hostile inputs.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use nexus_core::config::{RatePolicy, SecretUrl, Settings};
use nexus_http::AppState;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use utoipa_axum::router::OpenApiRouter;

use crate::backend_tests;
use crate::helpers::{
    Backend, PASSWORD, TestApp, assert_problem, redis_url_or_skip, spawn_app, spawn_app_with,
};

backend_tests!(
    the_sixth_login_in_a_minute_is_429_with_retry_after,
    instances_sharing_redis_share_the_limit,
    an_unreachable_redis_falls_back_to_counting_in_process,
    forwarded_for_counts_only_from_trusted_proxies,
    login_throttling_sees_the_client_behind_a_trusted_proxy,
    users_are_limited_by_account_and_reads_are_generous,
    a_replayed_create_answers_the_same_and_makes_one_token,
    a_replayed_note_create_makes_one_note,
    an_anonymous_replay_acts_once,
    a_key_reused_with_another_body_is_422,
    a_duplicate_while_the_first_runs_is_409,
    replayed_problems_carry_the_new_request_id,
    expired_keys_are_cleaned_up_and_reusable,
    malformed_idempotency_keys_are_400,
    hostile_inputs_get_clear_answers_and_the_server_keeps_serving,
    a_client_sending_headers_slowly_is_disconnected,
    the_openapi_document_describes_limits_and_idempotency,
);

/// The shipped login policy (5 a minute), with the per-account lock-out of the identity
/// service out of the way so that only the rate limiter answers 429.
fn strict_auth(s: &mut Settings) {
    s.rate_limit.auth = RatePolicy {
        limit: 5,
        period_secs: 60,
    };
    s.auth.login_failures_before_lockout = 1_000;
}

async fn login_from(app: &TestApp, forwarded_for: Option<&str>) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "nobody@example.com", "password": "wrong password!!"}));
    if let Some(xff) = forwarded_for {
        req = req.header("x-forwarded-for", xff);
    }
    req.send().await.unwrap()
}

fn header(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .unwrap_or_else(|| panic!("{name} on {}", resp.url()))
        .to_str()
        .unwrap()
        .to_owned()
}

async fn assert_limited(resp: reqwest::Response) {
    let retry: u64 = header(&resp, "retry-after").parse().unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert_eq!(header(&resp, "ratelimit-policy"), "\"auth\";q=5;w=60");
    assert!(header(&resp, "ratelimit").starts_with("\"auth\";r=0;t="));
    assert_problem(resp, 429, "rate-limited").await;
}

async fn the_sixth_login_in_a_minute_is_429_with_retry_after(backend: Backend) {
    let app = spawn_app_with(backend, strict_auth, None).await;
    for remaining in (0..5).rev() {
        let resp = login_from(&app, None).await;
        assert_eq!(resp.status(), 401);
        assert_eq!(header(&resp, "ratelimit-policy"), "\"auth\";q=5;w=60");
        assert!(
            header(&resp, "ratelimit").starts_with(&format!("\"auth\";r={remaining};t=")),
            "{}",
            header(&resp, "ratelimit")
        );
    }
    assert_limited(login_from(&app, None).await).await;
    // Other routes have their own buckets, and operations are never limited.
    assert_eq!(app.register("ada@example.com", "ada").await.status(), 202);
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    assert!(health.headers().get("ratelimit").is_none());
}

async fn instances_sharing_redis_share_the_limit(backend: Backend) {
    let Some(redis) = redis_url_or_skip() else {
        return;
    };
    let prefix = format!("nexus-test:{}:", uuid::Uuid::new_v4().simple());
    let configure = |s: &mut Settings| {
        strict_auth(s);
        s.redis_url = Some(SecretUrl::new(redis.clone()));
        s.rate_limit.redis_key_prefix = prefix.clone();
    };
    let a = spawn_app_with(backend, configure, None).await;
    let b = spawn_app_with(backend, configure, None).await;
    for app in [&a, &b, &a, &b, &a] {
        assert_eq!(login_from(app, None).await.status(), 401);
    }
    // Each instance saw at most three attempts; only a shared count refuses the sixth.
    assert_limited(login_from(&b, None).await).await;
    assert_limited(login_from(&a, None).await).await;

    // The bucket lives in Redis under the test's prefix, named by the operation (not by
    // a transport's route, so every transport counts against it), and expires by itself.
    let client = redis::Client::open(redis.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("{prefix}auth:login:ip:127.0.0.1");
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((1..=60_000).contains(&ttl), "PTTL {ttl}");
}

async fn an_unreachable_redis_falls_back_to_counting_in_process(backend: Backend) {
    let app = spawn_app_with(
        backend,
        |s| {
            strict_auth(s);
            // Nothing listens on port 1.
            s.redis_url = Some(SecretUrl::new("redis://127.0.0.1:1"));
        },
        None,
    )
    .await;
    for _ in 0..5 {
        assert_eq!(login_from(&app, None).await.status(), 401);
    }
    assert_limited(login_from(&app, None).await).await;
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("nexus_rate_limit_fallback_total"),
        "{metrics}"
    );
}

async fn forwarded_for_counts_only_from_trusted_proxies(backend: Backend) {
    let direct = spawn_app_with(backend, strict_auth, None).await;
    // Without a trusted proxy, a client cannot escape its limit by inventing addresses.
    for i in 0..5 {
        let resp = login_from(&direct, Some(&format!("203.0.113.{i}"))).await;
        assert_eq!(resp.status(), 401);
    }
    assert_limited(login_from(&direct, Some("203.0.113.99")).await).await;

    let proxied = spawn_app_with(
        backend,
        |s| {
            strict_auth(s);
            s.http.trusted_proxies = vec!["127.0.0.1".into()];
        },
        None,
    )
    .await;
    for _ in 0..5 {
        let resp = login_from(&proxied, Some("6.6.6.6, 203.0.113.7")).await;
        assert_eq!(resp.status(), 401);
    }
    assert_limited(login_from(&proxied, Some("203.0.113.7")).await).await;
    // Another client behind the same proxy has its own budget.
    assert_eq!(
        login_from(&proxied, Some("203.0.113.8")).await.status(),
        401
    );
}

async fn login_throttling_sees_the_client_behind_a_trusted_proxy(backend: Backend) {
    let app = spawn_app_with(
        backend,
        |s| {
            s.http.trusted_proxies = vec!["127.0.0.0/8".into()];
            s.auth.login_failures_before_lockout = 2;
        },
        None,
    )
    .await;
    let attempt = |email: &'static str, xff: &'static str| {
        app.client
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", xff)
            .json(&json!({"email": email, "password": "wrong password!!"}))
            .send()
    };
    // Different accounts, one forwarded address: the address is what locks out.
    assert_eq!(
        attempt("a@example.com", "203.0.113.7")
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        attempt("b@example.com", "203.0.113.7")
            .await
            .unwrap()
            .status(),
        401
    );
    let locked = attempt("c@example.com", "203.0.113.7").await.unwrap();
    assert_problem(locked, 429, "rate-limited").await;
    assert_eq!(
        attempt("d@example.com", "203.0.113.8")
            .await
            .unwrap()
            .status(),
        401
    );
}

async fn users_are_limited_by_account_and_reads_are_generous(backend: Backend) {
    let app = spawn_app_with(
        backend,
        |s| {
            s.rate_limit.read = RatePolicy {
                limit: 3,
                period_secs: 60,
            };
        },
        None,
    )
    .await;
    let ada = app.verified_user("ada").await;
    let bob = app.verified_user("bob").await;
    for _ in 0..3 {
        let resp = app.get_auth("/api/v1/me", &ada.access).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(header(&resp, "ratelimit-policy"), "\"read\";q=3;w=60");
    }
    let limited = app.get_auth("/api/v1/me", &ada.access).await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    // Same address, another user: a separate budget.
    assert_eq!(app.get_auth("/api/v1/me", &bob.access).await.status(), 200);
}

/// A POST under `/api/` that takes its time and answers a fresh id, so tests can hold a
/// request in flight and tell a replay from a second run.
fn slow_create_route() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().route(
        "/api/test/slow-create",
        axum::routing::post(|body: String| async move {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            (
                StatusCode::CREATED,
                axum::Json(json!({"id": uuid::Uuid::new_v4(), "body": body})),
            )
        }),
    )
}

async fn post_with_key(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    key: &str,
    body: Value,
) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url(path))
        .header("idempotency-key", key)
        .json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn a_replayed_create_answers_the_same_and_makes_one_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.verified_user("ada").await;
    let body = json!({"name": "ci", "scope": "read"});
    let first = post_with_key(
        &app,
        "/api/v1/me/tokens",
        Some(&ada.access),
        "key-1",
        body.clone(),
    )
    .await;
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first_type = header(&first, "content-type");
    let first_body: Value = first.json().await.unwrap();

    let again = post_with_key(
        &app,
        "/api/v1/me/tokens",
        Some(&ada.access),
        "key-1",
        body.clone(),
    )
    .await;
    assert_eq!(again.status(), 201);
    assert_eq!(header(&again, "idempotent-replayed"), "true");
    assert_eq!(header(&again, "content-type"), first_type);
    assert!(again.headers().contains_key("x-request-id"));
    let again_body: Value = again.json().await.unwrap();
    assert_eq!(again_body, first_body);

    let tokens: Value = app.get_auth_json("/api/v1/me/tokens", &ada.access).await;
    assert_eq!(tokens.as_array().unwrap().len(), 1, "{tokens}");

    // Keys are per principal: another user's identical key is a new request.
    let bob = app.verified_user("bob").await;
    let other = post_with_key(&app, "/api/v1/me/tokens", Some(&bob.access), "key-1", body).await;
    assert_eq!(other.status(), 201);
    assert!(other.headers().get("idempotent-replayed").is_none());
    let other_body: Value = other.json().await.unwrap();
    assert_ne!(other_body["token"], first_body["token"]);
}

async fn an_anonymous_replay_acts_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = json!({"email": "ada@example.com", "handle": "ada", "display_name": "Ada", "password": PASSWORD});
    let first = post_with_key(
        &app,
        "/api/v1/auth/register",
        None,
        "signup-1",
        body.clone(),
    )
    .await;
    assert_eq!(first.status(), 202);
    let again = post_with_key(&app, "/api/v1/auth/register", None, "signup-1", body).await;
    assert_eq!(again.status(), 202);
    assert_eq!(header(&again, "idempotent-replayed"), "true");
    app.jobs_settled().await;
    assert_eq!(
        app.emails_to("ada@example.com").len(),
        1,
        "one email, not two"
    );
}

async fn a_key_reused_with_another_body_is_422(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.verified_user("ada").await;
    let first = post_with_key(
        &app,
        "/api/v1/me/tokens",
        Some(&ada.access),
        "key-2",
        json!({"name": "one", "scope": "read"}),
    )
    .await;
    assert_eq!(first.status(), 201);
    let other = post_with_key(
        &app,
        "/api/v1/me/tokens",
        Some(&ada.access),
        "key-2",
        json!({"name": "two", "scope": "read"}),
    )
    .await;
    let problem = assert_problem(other, 422, "validation-failed").await;
    assert_eq!(problem["errors"][0]["field"], "Idempotency-Key");
    let tokens: Value = app.get_auth_json("/api/v1/me/tokens", &ada.access).await;
    assert_eq!(tokens.as_array().unwrap().len(), 1);
}

async fn a_duplicate_while_the_first_runs_is_409(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}, Some(slow_create_route())).await;
    let client = app.client.clone();
    let url = app.url("/api/test/slow-create");
    let first = tokio::spawn(async move {
        client
            .post(url)
            .header("idempotency-key", "key-3")
            .body("payload")
            .send()
            .await
            .unwrap()
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let duplicate = app
        .client
        .post(app.url("/api/test/slow-create"))
        .header("idempotency-key", "key-3")
        .body("payload")
        .send()
        .await
        .unwrap();
    assert_problem(duplicate, 409, "conflict").await;
    let first = first.await.unwrap();
    assert_eq!(first.status(), 201);
    let first_body: Value = first.json().await.unwrap();
    // Once it finished, the duplicate is answered the stored answer, not run again.
    let started = Instant::now();
    let replay = app
        .client
        .post(app.url("/api/test/slow-create"))
        .header("idempotency-key", "key-3")
        .body("payload")
        .send()
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "not run again"
    );
    assert_eq!(header(&replay, "idempotent-replayed"), "true");
    assert_eq!(replay.json::<Value>().await.unwrap(), first_body);
}

async fn replayed_problems_carry_the_new_request_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.verified_user("ada").await;
    let bad = json!({"name": "", "scope": "read"});
    let first = post_with_key(
        &app,
        "/api/v1/me/tokens",
        Some(&ada.access),
        "key-4",
        bad.clone(),
    )
    .await;
    let first = assert_problem(first, 422, "validation-failed").await;
    let again = post_with_key(&app, "/api/v1/me/tokens", Some(&ada.access), "key-4", bad).await;
    assert_eq!(header(&again, "idempotent-replayed"), "true");
    // assert_problem checks that `request_id` is this request's own.
    let again = assert_problem(again, 422, "validation-failed").await;
    assert_eq!(again["errors"], first["errors"]);
    assert_ne!(again["request_id"], first["request_id"]);
    assert_eq!(again["instance"], "/api/v1/me/tokens");
}

async fn expired_keys_are_cleaned_up_and_reusable(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.verified_user("ada").await;
    let first = post_with_key(
        &app,
        "/api/v1/me/tokens",
        Some(&ada.access),
        "key-5",
        json!({"name": "one", "scope": "read"}),
    )
    .await;
    assert_eq!(first.status(), 201);
    let in_a_day = chrono::Utc::now() + chrono::Duration::hours(24) + chrono::Duration::minutes(1);
    let removed = nexus_db::idempotency::delete_expired(&app.state.db, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(removed, 0, "a fresh key is kept");
    let removed = nexus_db::idempotency::delete_expired(&app.state.db, in_a_day)
        .await
        .unwrap();
    assert_eq!(removed, 1, "after 24 hours it is gone");
    let reused = post_with_key(
        &app,
        "/api/v1/me/tokens",
        Some(&ada.access),
        "key-5",
        json!({"name": "two", "scope": "read"}),
    )
    .await;
    assert_eq!(reused.status(), 201);
    assert!(reused.headers().get("idempotent-replayed").is_none());

    // The periodic task `nexus serve` runs removes what has expired, and only that.
    let db = app.state.db.clone();
    let long_ago = chrono::Utc::now() - chrono::Duration::hours(48);
    let claimed = nexus_db::idempotency::claim(&db, "ip:192.0.2.1", "old", "f", long_ago, long_ago)
        .await
        .unwrap();
    assert!(claimed);
    let task = tokio::spawn(nexus_http::safety::cleanup_loop(
        db.clone(),
        Duration::from_millis(50),
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    task.abort();
    let old = nexus_db::idempotency::find(&db, "ip:192.0.2.1", "old")
        .await
        .unwrap();
    assert!(old.is_none(), "the expired key is gone");
    let kept = nexus_db::idempotency::delete_expired(&db, in_a_day)
        .await
        .unwrap();
    assert_eq!(kept, 1, "the live key survived the cleanup");
}

async fn malformed_idempotency_keys_are_400(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.verified_user("ada").await;
    for key in ["", "has space", &"k".repeat(256)] {
        let resp = post_with_key(
            &app,
            "/api/v1/me/tokens",
            Some(&ada.access),
            key,
            json!({"name": "x", "scope": "read"}),
        )
        .await;
        assert_problem(resp, 400, "bad-request").await;
    }
}

async fn assert_serving(app: &TestApp) {
    assert_eq!(app.get("/healthz").await.status(), 200);
}

async fn hostile_inputs_get_clear_answers_and_the_server_keeps_serving(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin("root").await;
    let register = "/api/v1/auth/register";

    // 10 MiB, with and without a declared length, with and without an idempotency key.
    let big = vec![b'a'; 10 * 1024 * 1024];
    for (streamed, key) in [(false, None), (true, None), (true, Some("big-1"))] {
        let body = if streamed {
            let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
                big.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
            reqwest::Body::wrap_stream(futures::stream::iter(chunks))
        } else {
            reqwest::Body::from(big.clone())
        };
        let mut req = app
            .client
            .post(app.url(register))
            .header("content-type", "application/json")
            .body(body);
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        match req.send().await {
            Ok(resp) => {
                assert_problem(resp, 413, "payload-too-large").await;
            }
            // The server may close the connection before the whole body is sent.
            Err(e) => assert!(e.is_request() || e.is_body(), "{e}"),
        }
    }
    assert_serving(&app).await;

    // JSON nested 1,000 deep, at the top and inside a field.
    let deep = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
    let resp = app
        .post_raw(register, Some("application/json"), deep.clone())
        .await;
    assert_problem(resp, 400, "bad-request").await;
    let nested = format!("{{\"email\": {deep}, \"handle\": \"x\"}}");
    let resp = app
        .post_raw(register, Some("application/json"), nested)
        .await;
    assert_problem(resp, 400, "bad-request").await;
    assert_serving(&app).await;

    // Invalid UTF-8.
    let resp = app
        .post_raw(
            register,
            Some("application/json"),
            b"{\"email\": \"\xff\xfe\"}".to_vec(),
        )
        .await;
    assert_problem(resp, 400, "bad-request").await;

    // A 1 MB string field: within the body limit, refused by validation.
    let resp = app
        .post_json(
            register,
            None,
            json!({"email": "a@b.io", "handle": "abc", "display_name": "x".repeat(1_000_000), "password": PASSWORD}),
        )
        .await;
    let problem = assert_problem(resp, 422, "validation-failed").await;
    assert_eq!(problem["errors"][0]["field"], "display_name");

    // A page size far beyond the maximum.
    let resp = app
        .get_auth("/api/v1/admin/users?limit=1000000", &admin.access)
        .await;
    assert!(resp.status().is_client_error(), "{}", resp.status());
    let ct = header(&resp, "content-type");
    assert_eq!(ct, "application/problem+json");
    assert_serving(&app).await;
}

async fn a_client_sending_headers_slowly_is_disconnected(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.http.header_read_timeout_secs = 2, None).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let started = Instant::now();
    let request = b"GET /healthz HTTP/1.1\r\nHost: nexus\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut closed_after = None;
    for byte in request {
        if slow.write_all(&[*byte]).await.is_err() {
            closed_after = Some(started.elapsed());
            break;
        }
        // Meanwhile everyone else is served at once.
        let t = Instant::now();
        assert_serving(&app).await;
        assert!(t.elapsed() < Duration::from_secs(1));
        let mut buf = [0u8; 256];
        match tokio::time::timeout(Duration::from_millis(900), slow.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => {
                closed_after = Some(started.elapsed());
                break;
            }
            // hyper may answer 408 before closing; either way the connection ends.
            Ok(Ok(_)) => {}
            Err(_) => {}
        }
    }
    let closed_after = closed_after.expect("the slow connection was closed");
    assert!(
        closed_after < Duration::from_secs(6),
        "closed after {closed_after:?}"
    );
    assert_serving(&app).await;
}

async fn the_openapi_document_describes_limits_and_idempotency(backend: Backend) {
    let app = spawn_app(backend).await;
    let doc: Value = app.get_json("/api/openapi.json").await;
    let mut posts = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = &op["responses"];
            if path.starts_with("/api/") {
                let limited = &responses["429"];
                assert!(
                    limited["headers"]["Retry-After"].is_object(),
                    "{method} {path}"
                );
                assert!(
                    limited["headers"]["RateLimit"].is_object(),
                    "{method} {path}"
                );
                assert!(
                    limited["headers"]["RateLimit-Policy"].is_object(),
                    "{method} {path}"
                );
            }
            if method == "post" {
                posts += 1;
                let params = op["parameters"].as_array().unwrap();
                assert!(
                    params
                        .iter()
                        .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"),
                    "{path}"
                );
                for status in ["409", "422"] {
                    assert!(responses[status].is_object(), "{path} {status}");
                }
            }
        }
    }
    assert!(posts >= 8, "{posts}");
}

async fn a_replayed_note_create_makes_one_note(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin("root").await;
    app.post_json(
        "/api/v1/topics",
        Some(&admin.access),
        json!({"slug": "rust", "title": "Rust"}),
    )
    .await;
    let ada = app.verified_user("ada").await;
    let body = json!({"title": "Once only", "kind": "concept", "body_md": "x", "topics": ["rust"]});
    let first = post_with_key(
        &app,
        "/api/v1/notes",
        Some(&ada.access),
        "note-key-1",
        body.clone(),
    )
    .await;
    assert_eq!(first.status(), 201);
    let etag = first.headers()["etag"].clone();
    let first: Value = first.json().await.unwrap();
    let again = post_with_key(&app, "/api/v1/notes", Some(&ada.access), "note-key-1", body).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(
        again.headers()["etag"],
        etag,
        "stored headers are replayed too"
    );
    assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"]);
    let page: Value = app.get_json("/api/v1/notes?topic=rust").await;
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        1,
        "one note, not two"
    );
}
