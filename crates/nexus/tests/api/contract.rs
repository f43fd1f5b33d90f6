//! The API answers what its OpenAPI document says, for the classes of input the contract
//! fuzzer (.ci/contract) found it did not: each test names the rule and checks both the
//! document and the answer.

use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, TestUser, assert_problem, spawn_app};

backend_tests!(
    a_cursor_is_422_unless_it_has_the_declared_shape_and_any_such_cursor_is_a_page,
    if_match_has_one_form_and_an_invalid_edit_is_422_whatever_it_names,
    query_parameters_are_held_to_their_declared_types_and_bounds,
    integers_may_carry_a_zero_fraction_in_a_body,
    free_text_is_bounded_and_checked_as_sent,
    tags_and_statuses_are_what_the_document_lists,
    an_anonymous_call_that_needs_credentials_is_401_whatever_its_idempotency_key,
    an_idempotency_key_outside_its_declared_form_is_400,
);

fn field_errors(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn assert_invalid(resp: reqwest::Response, field: &str) {
    let problem = assert_problem(resp, 422, "validation-failed").await;
    assert_eq!(field_errors(&problem), [field], "{problem}");
}

/// The schema of a parameter of an operation in the served document.
async fn parameter_schema(app: &TestApp, path: &str, method: &str, name: &str) -> Value {
    let doc = app.get_json("/api/openapi.json").await;
    doc["paths"][path][method]["parameters"]
        .as_array()
        .and_then(|params| params.iter().find(|p| p["name"] == name))
        .map(|p| p["schema"].clone())
        .unwrap_or_else(|| panic!("{method} {path} declares no {name}"))
}

/// An admin, the topic `rust` and one published note by the admin.
async fn setup(app: &TestApp) -> TestUser {
    let admin = app.admin("root").await;
    let resp = app
        .post_json(
            "/api/v1/topics",
            Some(&admin.access),
            json!({"slug": "rust", "title": "Rust"}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let resp = app
        .post_json(
            "/api/v1/notes",
            Some(&admin.access),
            json!({"title": "Ownership", "kind": "concept", "body_md": "Moves.", "topics": ["rust"]}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    admin
}

async fn a_cursor_is_422_unless_it_has_the_declared_shape_and_any_such_cursor_is_a_page(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let admin = setup(&app).await;
    assert_eq!(
        parameter_schema(&app, "/api/v1/notes", "get", "cursor").await["pattern"],
        nexus_service::page::TIME_CURSOR_PATTERN
    );
    assert_eq!(
        parameter_schema(&app, "/api/v1/me/bookmarks", "get", "cursor").await["pattern"],
        nexus_service::page::ID_CURSOR_PATTERN
    );
    let zeros = "0".repeat(32);
    for (path, good, bad) in [
        (
            "/api/v1/notes",
            format!("t2.99999999999.999999999.{zeros}"),
            format!("v2.{zeros}"),
        ),
        (
            "/api/v1/notes?sort=updated",
            format!("t2.0.0.{}", "f".repeat(32)),
            format!("t2.123456789012.0.{zeros}"),
        ),
        (
            "/api/v1/me/bookmarks",
            format!("v2.{}", "a".repeat(32)),
            format!("v2.{}", "A".repeat(32)),
        ),
        (
            "/api/v1/admin/users",
            format!("v2.{zeros}"),
            "djE6MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw".to_owned(),
        ),
    ] {
        let sep = if path.contains('?') { '&' } else { '?' };
        let resp = app
            .get_auth(&format!("{path}{sep}cursor={good}"), &admin.access)
            .await;
        assert_eq!(resp.status(), 200, "{path} {good}");
        let page: Value = resp.json().await.unwrap();
        assert!(page["items"].is_array(), "{page}");
        let resp = app
            .get_auth(&format!("{path}{sep}cursor={bad}"), &admin.access)
            .await;
        assert_invalid(resp, "cursor").await;
    }
    // Both orders of GET /notes hand out cursors of the one declared shape.
    let other = app
        .post_json(
            "/api/v1/notes",
            Some(&admin.access),
            json!({"title": "Borrowing", "kind": "concept", "body_md": "Refs.", "topics": ["rust"]}),
        )
        .await;
    assert_eq!(other.status(), 201);
    for sort in ["newest", "updated"] {
        let page = app
            .get_auth_json(&format!("/api/v1/notes?sort={sort}&limit=1"), &admin.access)
            .await;
        let cursor = page["next_cursor"].as_str().expect("a next page");
        assert!(cursor.starts_with("t2."), "{cursor}");
        let next = app
            .get_auth_json(
                &format!("/api/v1/notes?sort={sort}&limit=1&cursor={cursor}"),
                &admin.access,
            )
            .await;
        assert_eq!(next["items"].as_array().map(Vec::len), Some(1), "{next}");
    }
}

async fn if_match_has_one_form_and_an_invalid_edit_is_422_whatever_it_names(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = setup(&app).await;
    assert_eq!(
        parameter_schema(&app, "/api/v1/notes/{slug}", "patch", "If-Match").await["pattern"],
        r#"^"v[0-9]{1,9}"$"#
    );
    let patch = |if_match: Option<&'static str>, body: Value| {
        let mut req = app
            .client
            .patch(app.url("/api/v1/notes/ownership"))
            .bearer_auth(&admin.access)
            .json(&body);
        if let Some(v) = if_match {
            req = req.header("if-match", v);
        }
        req.send()
    };
    for malformed in [
        "whatever",
        "*",
        "W/\"v1\"",
        "\"v1\", \"v2\"",
        "v1",
        "\"v1234567890\"",
    ] {
        let resp = patch(Some(malformed), json!({"title": "x"})).await.unwrap();
        assert_problem(resp, 400, "bad-request").await;
    }
    // An invalid change is 422 with a stale version, and without any.
    for if_match in [Some("\"v7\""), None] {
        let resp = patch(if_match, json!({"title": " "})).await.unwrap();
        assert_invalid(resp, "title").await;
    }
    let resp = patch(None, json!({"title": "x"})).await.unwrap();
    assert_problem(resp, 428, "precondition-required").await;
    let resp = patch(Some("\"v7\""), json!({"title": "x"})).await.unwrap();
    assert_problem(resp, 412, "precondition-failed").await;
    // What a change means for the note as it is (a challenge needs its three fields) is
    // judged once the version named is known to be current.
    let resp = patch(Some("\"v7\""), json!({"kind": "challenge"}))
        .await
        .unwrap();
    assert_problem(resp, 412, "precondition-failed").await;
    let resp = patch(Some("\"v1\""), json!({"kind": "challenge"}))
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let resp = patch(Some("\"v1\""), json!({"title": "Ownership again"}))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["etag"], "\"v2\"");
}

async fn query_parameters_are_held_to_their_declared_types_and_bounds(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = setup(&app).await;
    assert_eq!(
        parameter_schema(&app, "/api/v1/notes", "get", "topic").await["maxLength"],
        80
    );
    let state = parameter_schema(&app, "/api/v1/admin/jobs", "get", "state").await;
    assert_eq!(state["enum"], json!(nexus_service::jobs::STATES), "{state}");
    let kind = parameter_schema(&app, "/api/v1/admin/jobs", "get", "kind").await;
    let kinds: Vec<&str> = app.state.services.registry.job_names().collect();
    assert_eq!(kind["enum"], json!(kinds), "{kind}");
    let long = |n: usize| "a".repeat(n);
    for (path, field) in [
        (format!("/api/v1/notes?topic={}", long(81)), "topic"),
        (format!("/api/v1/notes?author={}", long(31)), "author"),
        (format!("/api/v1/notes?tag={}", long(41)), "tag"),
        (format!("/api/v1/search?q={}", long(501)), "q"),
        (format!("/api/v1/search?q=x&topic={}", long(81)), "topic"),
        (format!("/api/v1/admin/users?handle={}", long(31)), "handle"),
        ("/api/v1/notes?limit=ten".to_owned(), "limit"),
        ("/api/v1/notes?kind=poem".to_owned(), "kind"),
        (
            "/api/v1/notes/ownership/diff?from=1&to=two".to_owned(),
            "to",
        ),
        ("/api/v1/admin/jobs?state=sleeping".to_owned(), "state"),
        ("/api/v1/admin/jobs?kind=no.such.kind".to_owned(), "kind"),
    ] {
        let resp = app.get_auth(&path, &admin.access).await;
        assert_invalid(resp, field).await;
    }
    for path in [
        format!("/api/v1/notes?topic={}", long(80)),
        format!("/api/v1/search?q={}", long(500)),
        format!("/api/v1/admin/users?handle={}", long(30)),
    ] {
        assert_eq!(
            app.get_auth(&path, &admin.access).await.status(),
            200,
            "{path}"
        );
    }
}

async fn integers_may_carry_a_zero_fraction_in_a_body(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = setup(&app).await;
    let resp = app
        .post_json(
            "/api/v1/me/tokens",
            Some(&admin.access),
            json!({"name": "script", "scope": "read", "expires_in_days": 30.0}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let resp = app
        .post_json(
            "/api/v1/me/tokens",
            Some(&admin.access),
            json!({"name": "script", "scope": "read", "expires_in_days": 30.5}),
        )
        .await;
    assert_invalid(resp, "expires_in_days").await;
}

async fn free_text_is_bounded_and_checked_as_sent(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = setup(&app).await;
    let doc = app.get_json("/api/openapi.json").await;
    let title = &doc["components"]["schemas"]["UpdateTopic"]["properties"]["title"];
    assert!(title["pattern"].is_string(), "{title}");
    // 120 characters of title and a blank after them: 121 as sent.
    let resp = app
        .client
        .patch(app.url("/api/v1/topics/rust"))
        .bearer_auth(&admin.access)
        .json(&json!({"title": format!("{} ", "t".repeat(120))}))
        .send()
        .await
        .unwrap();
    assert_invalid(resp, "title").await;
    let comment = |body: &'static str| {
        app.post_json(
            "/api/v1/notes/ownership/comments",
            Some(&admin.access),
            json!({"body_md": body}),
        )
    };
    // A carriage return is a control character even where trimming would remove it; an
    // em space alone is blank.
    assert_invalid(comment("fine\r").await, "body_md").await;
    assert_invalid(comment("\u{2003}").await, "body_md").await;
    let resp = comment("  fine\n\tindeed  ").await;
    assert_eq!(resp.status(), 201);
    let comment: Value = resp.json().await.unwrap();
    assert_eq!(comment["body_md"], "fine\n\tindeed");
}

async fn tags_and_statuses_are_what_the_document_lists(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = setup(&app).await;
    let doc = app.get_json("/api/openapi.json").await;
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["StatusInput"]["enum"],
        json!(["draft", "published"])
    );
    assert_eq!(schemas["TagInput"]["maxLength"], 40);
    let note = |tags: Value, status: &str| {
        json!({"title": "Tagged", "kind": "concept", "body_md": "x", "topics": ["rust"],
               "tags": tags, "status": status})
    };
    let forty = "t".repeat(40);
    let resp = app
        .post_json(
            "/api/v1/notes",
            Some(&admin.access),
            note(json!([format!("{forty} ")]), "draft"),
        )
        .await;
    assert_invalid(resp, "tags[0]").await;
    let resp = app
        .post_json(
            "/api/v1/notes",
            Some(&admin.access),
            note(json!(["Rust"]), "archived"),
        )
        .await;
    assert_invalid(resp, "status").await;
    let resp = app
        .post_json(
            "/api/v1/notes",
            Some(&admin.access),
            note(json!([" Rust ", forty]), "draft"),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.unwrap();
    assert_eq!(created["tags"], json!(["rust", "t".repeat(40)]));
    // A new challenge without its three fields breaks the rule the document states
    // across the fields of `CreateNote`.
    assert!(schemas["CreateNote"]["allOf"].is_array());
    let resp = app
        .post_json(
            "/api/v1/notes",
            Some(&admin.access),
            json!({"title": "Hard", "kind": "challenge", "body_md": "x", "topics": ["rust"]}),
        )
        .await;
    assert_eq!(resp.status(), 422);
}

async fn an_anonymous_call_that_needs_credentials_is_401_whatever_its_idempotency_key(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let _admin = setup(&app).await;
    let send = |path: &'static str, body: Value| {
        app.client
            .post(app.url(path))
            .header("idempotency-key", "shared-key")
            .json(&body)
            .send()
    };
    // The address's key is taken by a public operation...
    let resp = send(
        "/api/v1/auth/login",
        json!({"email": "nobody@example.com", "password": "not the password"}),
    )
    .await
    .unwrap();
    assert_problem(resp, 401, "unauthenticated").await;
    // ...and an anonymous call to an operation that needs credentials neither compares
    // nor claims it: 401, never 422 for a key used with another body.
    for _ in 0..2 {
        let resp = send("/api/v1/topics", json!({"title": "Anonymous"}))
            .await
            .unwrap();
        let problem = assert_problem(resp, 401, "unauthenticated").await;
        assert!(problem.get("errors").is_none(), "{problem}");
    }
    let resp = send(
        "/api/v1/auth/login",
        json!({"email": "other@example.com", "password": "not the password"}),
    )
    .await
    .unwrap();
    assert_invalid(resp, "Idempotency-Key").await;
}

async fn an_idempotency_key_outside_its_declared_form_is_400(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = setup(&app).await;
    assert_eq!(
        parameter_schema(&app, "/api/v1/topics", "post", "Idempotency-Key").await["pattern"],
        nexus_http::safety::IDEMPOTENCY_KEY_PATTERN
    );
    let send = |key: String, slug: &'static str| {
        app.client
            .post(app.url("/api/v1/topics"))
            .bearer_auth(&admin.access)
            .header("idempotency-key", key)
            .json(&json!({"slug": slug, "title": "Keyed"}))
            .send()
    };
    for bad in ["in\"side", "\"open", "\"\"", "two words"] {
        let resp = send(bad.to_owned(), "keyed").await.unwrap();
        assert_problem(resp, 400, "bad-request").await;
    }
    let resp = send("k".repeat(256), "keyed").await.unwrap();
    assert_problem(resp, 400, "bad-request").await;
    let quoted = format!("\"{}\"", "k".repeat(255));
    assert_eq!(send(quoted, "keyed").await.unwrap().status(), 201);
}
