//! The foundation: errors as problems, health, metrics, OpenAPI, Swagger UI, middleware
//! and graceful shutdown.

use std::time::Duration;

use axum::Json;
use nexus_http::AppState;
use nexus_http::extract::JsonBody;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;

use crate::backend_tests;
use crate::helpers::{Backend, assert_problem, spawn_app, spawn_app_with};

#[derive(Deserialize)]
struct Echo {
    name: String,
    inner: Inner,
}
#[derive(Deserialize)]
struct Inner {
    count: u32,
}

/// Routes that exist only in tests, served behind the real middleware.
fn test_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .route(
            "/api/test/echo",
            axum::routing::post(|JsonBody(e): JsonBody<Echo>| async move {
                Json(serde_json::json!({"name": e.name, "count": e.inner.count}))
            }),
        )
        .route(
            "/api/test/panic",
            axum::routing::get(|| async {
                let secret = "internal-detail-42";
                if secret.len() > 1 {
                    panic!("boom with {secret}");
                }
                "unreachable"
            }),
        )
        .route(
            "/api/test/slow/{ms}",
            axum::routing::get(
                |axum::extract::Path(ms): axum::extract::Path<u64>| async move {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    "finished"
                },
            ),
        )
}

async fn with_test_routes(backend: Backend) -> crate::helpers::TestApp {
    spawn_app_with(backend, |_| {}, Some(test_routes())).await
}

backend_tests!(
    health_and_readiness_answer,
    unknown_route_is_a_404_problem,
    errors_outside_the_api_are_pages_not_problems,
    wrong_method_is_a_405_problem,
    json_bodies_are_checked_with_clear_problems,
    a_body_over_the_limit_is_a_413_problem,
    a_handler_panic_is_an_opaque_500_and_the_server_keeps_serving,
    a_request_over_the_timeout_is_a_503_problem,
    request_ids_are_kept_when_safe_and_made_otherwise,
    every_answer_carries_security_headers,
    cors_allows_only_listed_origins,
    responses_are_compressed_when_asked,
    compressed_problems_decode_to_problems,
    metrics_count_requests_by_route_template,
    openapi_document_is_3_1_and_describes_every_route,
    swagger_ui_is_served_entirely_from_the_binary,
    problem_types_resolve_to_their_description,
    an_in_flight_request_completes_during_shutdown,
    shutdown_is_bounded_by_the_drain_timeout,
    readiness_fails_when_the_database_is_gone,
);

async fn health_and_readiness_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    let resp = app.get("/healthz").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<serde_json::Value>().await.unwrap()["status"],
        "ok"
    );

    let resp = app.get("/readyz").await;
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"]["database"]["status"], "ok");
    let expected = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(body["checks"]["database"]["backend"], expected);
}

async fn unknown_route_is_a_404_problem(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = assert_problem(app.get("/api/v1/nothing-here").await, 404, "not-found").await;
    assert_eq!(body["instance"], "/api/v1/nothing-here");
}

/// Problem details are the API's error format; outside `/api/` (pages, probes, docs) a
/// framework error is an HTML page with the same status and the request id.
async fn errors_outside_the_api_are_pages_not_problems(backend: Backend) {
    let app = spawn_app(backend).await;
    let resp = app.get("/no/such/thing").await;
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8");
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let page = resp.text().await.unwrap();
    assert!(page.contains("<h1>404 Not Found</h1>"), "{page}");
    assert!(page.contains(&id), "the page names the request id: {page}");
    let resp = app.client.delete(app.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 405);
    assert!(resp.headers()["allow"].to_str().unwrap().contains("GET"));
    assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8");
}

async fn wrong_method_is_a_405_problem(backend: Backend) {
    let app = spawn_app(backend).await;
    let resp = app
        .client
        .delete(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    let allow = resp.headers().get("allow").cloned();
    assert_problem(resp, 405, "method-not-allowed").await;
    assert!(allow.is_some_and(|a| a.to_str().unwrap().contains("GET")));
}

async fn json_bodies_are_checked_with_clear_problems(backend: Backend) {
    let app = with_test_routes(backend).await;
    let good = r#"{"name":"ada","inner":{"count":3}}"#;

    let resp = app
        .post_raw("/api/test/echo", Some("application/json"), good)
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<serde_json::Value>().await.unwrap()["count"], 3);

    // Missing and wrong content types.
    assert_problem(
        app.post_raw("/api/test/echo", None, good).await,
        415,
        "unsupported-media-type",
    )
    .await;
    assert_problem(
        app.post_raw("/api/test/echo", Some("text/plain"), good)
            .await,
        415,
        "unsupported-media-type",
    )
    .await;

    // Malformed JSON, an empty body, trailing garbage, invalid UTF-8.
    for bad in [&b"{\"name\": "[..], b"", b"{} x", b"\xff\xfe\xfd"] {
        assert_problem(
            app.post_raw("/api/test/echo", Some("application/json"), bad.to_vec())
                .await,
            400,
            "bad-request",
        )
        .await;
    }

    // A wrong shape names the field.
    let body = assert_problem(
        app.post_raw(
            "/api/test/echo",
            Some("application/json"),
            r#"{"name":"ada","inner":{"count":"three"}}"#,
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "inner.count", "{body}");
    let body = assert_problem(
        app.post_raw(
            "/api/test/echo",
            Some("application/json"),
            r#"{"inner":{"count":1}}"#,
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("name"),
        "{body}"
    );

    // Unicode passes through untouched.
    let resp = app
        .post_raw(
            "/api/test/echo",
            Some("application/json; charset=utf-8"),
            r#"{"name":"Łukasz 🦀 名前","inner":{"count":0}}"#,
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<serde_json::Value>().await.unwrap()["name"],
        "Łukasz 🦀 名前"
    );
}

async fn a_body_over_the_limit_is_a_413_problem(backend: Backend) {
    let app = spawn_app_with(
        backend,
        |s| s.http.body_limit_bytes = 1024,
        Some(test_routes()),
    )
    .await;
    let big = format!(r#"{{"name":"{}","inner":{{"count":1}}}}"#, "x".repeat(4096));
    assert_problem(
        app.post_raw("/api/test/echo", Some("application/json"), big.clone())
            .await,
        413,
        "payload-too-large",
    )
    .await;
    // Without a Content-Length (chunked), the limit still holds while reading.
    let stream = futures::stream::iter(vec![Ok::<_, std::io::Error>(big.into_bytes())]);
    let resp = app
        .client
        .post(app.url("/api/test/echo"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 413, "payload-too-large").await;
}

async fn a_handler_panic_is_an_opaque_500_and_the_server_keeps_serving(backend: Backend) {
    let app = with_test_routes(backend).await;
    let resp = app.get("/api/test/panic").await;
    assert_eq!(resp.status(), 500);
    let text = resp.text().await.unwrap();
    assert!(
        !text.contains("internal-detail-42"),
        "panic details leaked: {text}"
    );
    assert!(!text.contains("boom"), "panic details leaked: {text}");
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["type"], "/problems/internal");
    for _ in 0..3 {
        assert_eq!(app.get("/healthz").await.status(), 200);
    }
}

async fn a_request_over_the_timeout_is_a_503_problem(backend: Backend) {
    let app = spawn_app_with(
        backend,
        |s| s.http.request_timeout_secs = 1,
        Some(test_routes()),
    )
    .await;
    assert_problem(app.get("/api/test/slow/3000").await, 503, "timeout").await;
    assert_eq!(app.get("/api/test/slow/10").await.status(), 200);
}

async fn request_ids_are_kept_when_safe_and_made_otherwise(backend: Backend) {
    let app = spawn_app(backend).await;
    let id_of = |resp: &reqwest::Response| {
        resp.headers()
            .get("x-request-id")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    };
    let resp = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "client-trace-123")
        .send()
        .await
        .unwrap();
    assert_eq!(id_of(&resp), "client-trace-123");

    let made = id_of(&app.get("/healthz").await);
    assert!(uuid::Uuid::parse_str(&made).is_ok(), "{made}");
    assert_ne!(
        made,
        id_of(&app.get("/healthz").await),
        "each request gets its own id"
    );

    let resp = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "x".repeat(500))
        .send()
        .await
        .unwrap();
    assert!(
        uuid::Uuid::parse_str(&id_of(&resp)).is_ok(),
        "an oversized id is replaced"
    );
}

async fn every_answer_carries_security_headers(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in ["/healthz", "/nope", "/docs/", "/api/openapi.json"] {
        let resp = app.get(path).await;
        let h = resp.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("default-src 'self'")
        );
    }
}

async fn cors_allows_only_listed_origins(backend: Backend) {
    let app = spawn_app_with(
        backend,
        |s| s.http.cors_allowed_origins = vec!["https://app.example.com".into()],
        None,
    )
    .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/healthz"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .send()
    };
    let ok = preflight("https://app.example.com").await.unwrap();
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let denied = preflight("https://evil.example.net").await.unwrap();
    assert!(
        denied
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    // With no origins configured there is no cross-origin access at all.
    let closed = spawn_app(backend).await;
    let resp = closed
        .client
        .get(closed.url("/healthz"))
        .header("origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}

async fn responses_are_compressed_when_asked(backend: Backend) {
    let app = spawn_app(backend).await;
    let resp = app
        .client
        .get(app.url("/api/openapi.json"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-encoding"], "gzip");
}

/// Found by contract fuzzing: the problem finaliser rewrote error bodies as plain JSON
/// outside compression, so a client accepting gzip got `Content-Encoding: gzip` on a body
/// that was not gzip, and could not read any problem at all.
async fn compressed_problems_decode_to_problems(backend: Backend) {
    use std::io::Read;
    let app = spawn_app(backend).await;
    let user = app.verified_user("gzip-reader").await;
    let cases = [
        // A handler's problem (with a marker), a framework 405, a 422 from the body.
        (
            reqwest::Method::GET,
            "/api/v1/notes/no-such-note",
            None,
            404,
        ),
        (reqwest::Method::PUT, "/api/v1/notes", None, 405),
        (
            reqwest::Method::POST,
            "/api/v1/topics",
            Some(r#"{"title": 7}"#),
            422,
        ),
    ];
    for (method, path, body, status) in cases {
        let mut req = app
            .client
            .request(method.clone(), app.url(path))
            .header("accept-encoding", "gzip")
            .bearer_auth(&user.access);
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), status, "{method} {path}");
        let gzipped = resp
            .headers()
            .get("content-encoding")
            .is_some_and(|v| v == "gzip");
        let raw = resp.bytes().await.unwrap();
        let text = if gzipped {
            let mut text = String::new();
            flate2::read::GzDecoder::new(&raw[..])
                .read_to_string(&mut text)
                .unwrap_or_else(|e| panic!("{method} {path}: not gzip: {e}"));
            text
        } else {
            String::from_utf8(raw.to_vec()).unwrap()
        };
        let problem: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(problem["status"], status, "{method} {path}: {text}");
        assert!(problem["request_id"].is_string(), "{text}");
    }
}

async fn metrics_count_requests_by_route_template(backend: Backend) {
    let app = spawn_app(backend).await;
    app.get("/problems/not-found").await;
    app.get("/problems/no-such-kind").await;
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/problems/{slug}",status="200"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/problems/{slug}",status="404"}"#),
        "{text}"
    );
    assert!(
        !text.contains("no-such-kind"),
        "raw paths must not become labels"
    );
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains("http_requests_in_flight"), "{text}");
    assert!(text.contains("db_pool_connections{"), "{text}");
    assert!(text.contains("db_pool_max_connections{"), "{text}");
}

async fn openapi_document_is_3_1_and_describes_every_route(backend: Backend) {
    let app = spawn_app(backend).await;
    let resp = app.get("/api/openapi.json").await;
    assert_eq!(resp.status(), 200);
    let doc: serde_json::Value = resp.json().await.unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    for path in ["/healthz", "/readyz", "/metrics", "/problems/{slug}"] {
        let op = &doc["paths"][path]["get"];
        assert!(op.is_object(), "{path} is documented");
        assert!(
            op["summary"].is_string() || op["description"].is_string(),
            "{path}"
        );
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    // Every schema reference resolves (utoipa registers a schema only where a body uses it,
    // so an enum used only as a query parameter can dangle).
    fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(r) = m.get("$ref").and_then(|r| r.as_str()) {
                    out.push(r.to_owned());
                }
                m.values().for_each(|x| refs(x, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for r in all {
        let name = r.trim_start_matches("#/components/schemas/");
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "dangling reference {r}"
        );
    }
    assert_eq!(doc, serde_json::to_value(nexus_http::openapi()).unwrap());
}

async fn swagger_ui_is_served_entirely_from_the_binary(backend: Backend) {
    let app = spawn_app(backend).await;
    let resp = app.get("/docs/").await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    let mut assets = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            let target = part.split('"').next().unwrap();
            assert!(
                !target.starts_with("http:")
                    && !target.starts_with("https:")
                    && !target.starts_with("//"),
                "Swagger UI must not load {target} from the network"
            );
            assets.push(target.trim_start_matches("./").to_owned());
        }
    }
    assert!(assets.len() >= 4, "{assets:?}");
    for asset in &assets {
        let resp = app.get(&format!("/docs/{asset}")).await;
        assert_eq!(resp.status(), 200, "/docs/{asset}");
    }
    let init = app
        .get("/docs/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(init.contains("/api/openapi.json"), "{init}");
}

async fn problem_types_resolve_to_their_description(backend: Backend) {
    let app = spawn_app(backend).await;
    for kind in nexus_core::ErrorKind::ALL {
        let resp = app.get(&format!("/problems/{}", kind.slug())).await;
        assert_eq!(resp.status(), 200);
        assert!(resp.text().await.unwrap().contains(kind.description()));
    }
    assert_problem(app.get("/problems/made-up").await, 404, "not-found").await;
}

async fn an_in_flight_request_completes_during_shutdown(backend: Backend) {
    let mut app = with_test_routes(backend).await;
    let client = app.client.clone();
    let url = app.url("/api/test/slow/1500");
    let in_flight = tokio::spawn(async move { client.get(url).send().await });
    // Give the request time to reach the handler, then ask the server to stop.
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.begin_shutdown();
    let resp = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "finished");
    app.server_task()
        .await
        .unwrap()
        .expect("server stops cleanly");
    // The listener is closed: new connections are refused.
    assert!(reqwest::get(app.url("/healthz")).await.is_err());
}

async fn shutdown_is_bounded_by_the_drain_timeout(backend: Backend) {
    let mut app = spawn_app_with(
        backend,
        |s| {
            s.http.shutdown_drain_secs = 1;
            s.http.request_timeout_secs = 600;
        },
        Some(test_routes()),
    )
    .await;
    let client = app.client.clone();
    let url = app.url("/api/test/slow/600000");
    let _hung = tokio::spawn(async move { client.get(url).send().await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.begin_shutdown();
    let stopped = tokio::time::timeout(Duration::from_secs(20), app.server_task()).await;
    assert!(
        stopped.is_ok(),
        "a hung request must not hold shutdown beyond the drain timeout"
    );
}

async fn readiness_fails_when_the_database_is_gone(backend: Backend) {
    let app = spawn_app(backend).await;
    app.state.db.close().await;
    let resp = app.get("/readyz").await;
    assert_eq!(resp.status(), 503);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["checks"]["database"]["status"], "failing");
    // Liveness does not depend on the database.
    assert_eq!(app.get("/healthz").await.status(), 200);
}
