//! Collaborator matching over HTTP: six profiles ranked in a known order with the
//! reasons written here; requests (pending, accepted, declined, duplicates), their BOLA
//! walk, blocks both ways, the requests' own rate limit, and bad input naming the field.

use chrono::Utc;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, TestUser, assert_problem, spawn_app, spawn_app_with};
use crate::portfolios::put;

backend_tests!(
    matching_ranks_six_profiles_in_a_known_order,
    requests_are_answered_by_their_partner_only_and_blocks_work_both_ways,
    collaboration_requests_have_a_rate_limit_of_their_own,
    bad_profiles_requests_and_blocks_are_refused_naming_the_field,
);

/// A match as the test compares it: handle, score, and each reason's kind, points and
/// detail.
type Ranked = (String, f64, Vec<(String, f64, String)>);

async fn profile(app: &TestApp, who: &TestUser, body: Value) {
    let resp = put(app, "/api/v1/me/collaboration-profile", who, body).await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
}

fn open_profile(track: &str, timezone: &str, hours: u32, topics: Value) -> Value {
    json!({"track": track, "stack": ["Rust"], "topics": topics, "weekly_hours": hours,
           "timezone": timezone, "looking_for": "Someone to build with.", "open": true})
}

async fn ask(app: &TestApp, who: &TestUser, partner: &str) -> reqwest::Response {
    app.post_json(
        "/api/v1/collaborations",
        Some(&who.access),
        json!({"partner": partner, "project_title": "A dashboard", "message": "Shall we?"}),
    )
    .await
}

async fn asked(app: &TestApp, who: &TestUser, partner: &str) -> String {
    let resp = ask(app, who, partner).await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "pending");
    body["id"].as_str().unwrap().to_owned()
}

/// A course and a cohort `walk` starting today (UTC), with `learners` enrolled.
async fn cohort_with(app: &TestApp, admin: &TestUser, learners: &[&str]) {
    let resp = app
        .post_json(
            "/api/v1/courses",
            Some(&admin.access),
            crate::portfolios::course(),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let resp = app
        .post_json(
            "/api/v1/cohorts",
            Some(&admin.access),
            json!({"slug": "walk", "title": "Walk", "course": "folio",
                   "starts_on": Utc::now().date_naive().to_string(), "timezone": "UTC",
                   "peer_reviews": 0, "enrolment": "invite"}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    for handle in learners {
        let resp = app
            .post_json(
                "/api/v1/cohorts/walk/enrolments",
                Some(&admin.access),
                json!({"handle": handle, "role": "learner"}),
            )
            .await;
        assert_eq!(resp.status(), 201, "{handle}");
    }
}

async fn publish_note(app: &TestApp, who: &TestUser, title: &str, topic: &str) {
    let resp = app
        .post_json(
            "/api/v1/notes",
            Some(&who.access),
            json!({"title": title, "kind": "concept", "body_md": "Text.", "topics": [topic]}),
        )
        .await;
    assert_eq!(resp.status(), 201);
}

/// The fixture: Ada (backend, UTC, 10 h, profile topic `caching`, a published note on
/// `databases`, in cohort `walk`) and six open profiles, plus a closed one, one Ada
/// blocked and one who blocked Ada. Time zones without daylight saving time, so the
/// overlaps do not depend on the date the test runs.
async fn matching_ranks_six_profiles_in_a_known_order(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin("root").await;
    let ada = app.verified_user("ada").await;
    // Created in an order other than the handles', so that the tie shows its rule.
    let mut users = std::collections::HashMap::new();
    for handle in [
        "ben", "bea", "dee", "eli", "fay", "gus", "hal", "ivy", "jon",
    ] {
        users.insert(handle, app.verified_user(handle).await);
    }
    cohort_with(&app, &admin, &["ada", "bea", "ben", "eli", "fay"]).await;
    for slug in ["databases", "caching"] {
        let resp = app
            .post_json(
                "/api/v1/topics",
                Some(&admin.access),
                json!({"slug": slug, "title": slug}),
            )
            .await;
        assert_eq!(resp.status(), 201);
    }
    publish_note(&app, &ada, "Indexes that pay", "databases").await;
    publish_note(&app, &users["dee"], "Offline-first storage", "databases").await;

    // No profile of one's own yet: nothing to match against.
    let resp = app
        .get_auth("/api/v1/collaborators/matches", &ada.access)
        .await;
    assert_problem(resp, 409, "conflict").await;

    profile(
        &app,
        &ada,
        open_profile("backend", "UTC", 10, json!(["caching"])),
    )
    .await;
    let profiles = [
        (
            "ben",
            open_profile("frontend", "UTC", 10, json!(["caching"])),
        ),
        (
            "bea",
            open_profile("frontend", "UTC", 10, json!(["caching"])),
        ),
        (
            "dee",
            open_profile("mobile", "America/Bogota", 12, json!([])),
        ),
        (
            "eli",
            open_profile(
                "fullstack",
                "Asia/Dubai",
                20,
                json!(["caching", "databases", "queues"]),
            ),
        ),
        (
            "fay",
            open_profile("backend", "UTC", 10, json!(["caching", "databases"])),
        ),
        ("gus", open_profile("devops", "Asia/Kolkata", 3, json!([]))),
        (
            "ivy",
            open_profile("frontend", "UTC", 40, json!(["caching"])),
        ),
        (
            "jon",
            open_profile("frontend", "UTC", 40, json!(["caching"])),
        ),
    ];
    for (handle, body) in profiles {
        profile(&app, &users[handle], body).await;
    }
    let mut closed = open_profile("frontend", "UTC", 40, json!(["caching"]));
    closed["open"] = json!(false);
    profile(&app, &users["hal"], closed).await;
    let resp = put(&app, "/api/v1/me/blocks/ivy", &ada, json!({})).await;
    assert_eq!(resp.status(), 204);
    let resp = put(&app, "/api/v1/me/blocks/ada", &users["jon"], json!({})).await;
    assert_eq!(resp.status(), 204);

    let matches = app
        .get_auth_json("/api/v1/collaborators/matches", &ada.access)
        .await;
    let got: Vec<Ranked> = matches
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let reasons = m["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r["kind"].as_str().unwrap().to_owned(),
                        r["points"].as_f64().unwrap(),
                        r["detail"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            (
                m["handle"].as_str().unwrap().to_owned(),
                m["score"].as_f64().unwrap(),
                reasons,
            )
        })
        .collect();
    let reason =
        |kind: &str, points: f64, detail: &str| (kind.to_owned(), points, detail.to_owned());
    let overlap =
        |hours: &str| format!("{hours} h of working hours (09:00-21:00 local) overlap today");
    let frontend_in_walk = vec![
        reason("track", 40.0, "backend ↔ frontend"),
        reason("cohort", 20.0, "same cohort: walk (week 1)"),
        reason("topics", 5.0, "shared topics: caching"),
        reason("timezone", 10.0, &overlap("12")),
        reason("availability", 10.0, "both can give 10 h a week or more"),
    ];
    let expected = vec![
        ("bea".to_owned(), 85.0, frontend_in_walk.clone()),
        ("ben".to_owned(), 85.0, frontend_in_walk),
        (
            "eli".to_owned(),
            66.7,
            vec![
                reason("track", 20.0, "backend ↔ fullstack"),
                reason("cohort", 20.0, "same cohort: walk (week 1)"),
                reason("topics", 10.0, "shared topics: caching, databases"),
                reason("timezone", 6.7, &overlap("8")),
                reason("availability", 10.0, "both can give 10 h a week or more"),
            ],
        ),
        (
            "dee".to_owned(),
            60.8,
            vec![
                reason("track", 40.0, "backend ↔ mobile"),
                reason("topics", 5.0, "shared topics: databases"),
                reason("timezone", 5.8, &overlap("7")),
                reason("availability", 10.0, "both can give 10 h a week or more"),
            ],
        ),
        (
            "fay".to_owned(),
            50.0,
            vec![
                reason("cohort", 20.0, "same cohort: walk (week 1)"),
                reason("topics", 10.0, "shared topics: caching, databases"),
                reason("timezone", 10.0, &overlap("12")),
                reason("availability", 10.0, "both can give 10 h a week or more"),
            ],
        ),
        (
            "gus".to_owned(),
            28.4,
            vec![
                reason("track", 20.0, "backend ↔ devops"),
                reason("timezone", 5.4, &overlap("6.5")),
                reason("availability", 3.0, "both can give 3 h a week or more"),
            ],
        ),
    ];
    assert_eq!(got, expected, "{matches:#}");
    // Each match carries its profile, never the caller's own.
    assert_eq!(matches[0]["track"], "frontend");
    assert_eq!(matches[0]["stack"], json!(["Rust"]));
    assert!(!matches.to_string().contains("\"ada\""));
    // `limit` cuts the ranking.
    let top = app
        .get_auth_json("/api/v1/collaborators/matches?limit=2", &ada.access)
        .await;
    let handles: Vec<&str> = top
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["handle"].as_str().unwrap())
        .collect();
    assert_eq!(handles, ["bea", "ben"]);
    // Blocks work both ways: Ada is in neither Ivy's nor Jon's matches.
    for handle in ["ivy", "jon"] {
        let theirs = app
            .get_auth_json("/api/v1/collaborators/matches", &users[handle].access)
            .await;
        let text = theirs.to_string();
        assert!(!text.contains("\"ada\""), "{handle}: {text}");
        assert!(text.contains("\"bea\""), "{handle}: {text}");
    }
    // A closed profile still gets matches but is in nobody's.
    let hal = app
        .get_auth_json("/api/v1/collaborators/matches", &users["hal"].access)
        .await;
    assert!(hal.to_string().contains("\"ada\""));
    // Unblocking brings Ivy back, at the top (40 hours a week changes nothing past 10).
    let resp = app.delete_auth("/api/v1/me/blocks/ivy", &ada.access).await;
    assert_eq!(resp.status(), 204);
    let matches = app
        .get_auth_json("/api/v1/collaborators/matches?limit=1", &ada.access)
        .await;
    assert_eq!(matches[0]["handle"], "bea");
    let all = app
        .get_auth_json("/api/v1/collaborators/matches", &ada.access)
        .await;
    let ivy = all
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["handle"] == "ivy")
        .expect("ivy is back");
    // Not in the cohort: 40 + 5 + 10 + 10.
    assert_eq!(ivy["score"], 65.0);
}

async fn requests_are_answered_by_their_partner_only_and_blocks_work_both_ways(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.verified_user("ada").await;
    let bea = app.verified_user("bea").await;
    let cyd = app.verified_user("cyd").await;
    let dee = app.verified_user("dee").await;
    let hal = app.verified_user("hal").await;
    for (who, track) in [(&ada, "backend"), (&bea, "frontend"), (&dee, "mobile")] {
        profile(&app, who, open_profile(track, "UTC", 8, json!([]))).await;
    }
    let mut closed = open_profile("frontend", "UTC", 8, json!([]));
    closed["open"] = json!(false);
    profile(&app, &hal, closed).await;

    let id = asked(&app, &ada, "bea").await;
    let path = format!("/api/v1/collaborations/{id}");
    // One pending request between two learners, whoever asks.
    let resp = ask(&app, &ada, "bea").await;
    assert_problem(resp, 409, "conflict").await;
    let resp = ask(&app, &bea, "ada").await;
    assert_problem(resp, 409, "conflict").await;
    // Not open to requests; no profile at all.
    assert_problem(ask(&app, &ada, "hal").await, 409, "conflict").await;
    assert_problem(ask(&app, &ada, "cyd").await, 409, "conflict").await;

    // BOLA: a stranger neither reads nor answers it; anonymous callers are 401.
    for suffix in ["", "/accept", "/decline"] {
        let target = format!("{path}{suffix}");
        let resp = if suffix.is_empty() {
            app.get_auth(&target, &cyd.access).await
        } else {
            app.post_json(&target, Some(&cyd.access), json!({})).await
        };
        assert_problem(resp, 404, "not-found").await;
        let resp = if suffix.is_empty() {
            app.get(&target).await
        } else {
            app.post_json(&target, None, json!({})).await
        };
        assert_problem(resp, 401, "unauthenticated").await;
    }
    let strangers_list = app
        .get_auth_json("/api/v1/me/collaborations", &cyd.access)
        .await;
    assert_eq!(strangers_list["items"], json!([]));
    // The requester reads it but does not answer it.
    assert_eq!(app.get_auth(&path, &ada.access).await.status(), 200);
    let resp = app
        .post_json(&format!("{path}/accept"), Some(&ada.access), json!({}))
        .await;
    assert_problem(resp, 403, "forbidden").await;

    // Lists by side and status.
    let incoming = app
        .get_auth_json(
            "/api/v1/me/collaborations?direction=incoming&status=pending",
            &bea.access,
        )
        .await;
    assert_eq!(incoming["items"][0]["id"], id.as_str());
    assert_eq!(incoming["items"][0]["requester"], "ada");
    assert_eq!(incoming["items"][0]["partner"], "bea");
    let outgoing = app
        .get_auth_json("/api/v1/me/collaborations?direction=outgoing", &bea.access)
        .await;
    assert_eq!(outgoing["items"], json!([]));

    // The partner accepts, once; both portfolios show it.
    let resp = app
        .post_json(&format!("{path}/accept"), Some(&bea.access), json!({}))
        .await;
    assert_eq!(resp.status(), 200);
    let accepted: Value = resp.json().await.unwrap();
    assert_eq!(accepted["status"], "accepted");
    assert!(accepted["responded_at"].is_string());
    for suffix in ["/accept", "/decline"] {
        let resp = app
            .post_json(&format!("{path}{suffix}"), Some(&bea.access), json!({}))
            .await;
        assert_problem(resp, 409, "conflict").await;
    }
    for (who, partner) in [(&ada, "bea"), (&bea, "ada")] {
        let resp = put(
            &app,
            "/api/v1/me/portfolio",
            who,
            json!({"visibility": "public"}),
        )
        .await;
        assert_eq!(resp.status(), 200);
        let handle = if partner == "bea" { "ada" } else { "bea" };
        let public = app.get_json(&format!("/api/v1/portfolios/{handle}")).await;
        assert_eq!(public["collaborations"][0]["partner"], partner, "{public}");
        assert_eq!(public["collaborations"][0]["project_title"], "A dashboard");
    }
    let accepted_list = app
        .get_auth_json("/api/v1/me/collaborations?status=accepted", &ada.access)
        .await;
    assert_eq!(accepted_list["items"].as_array().unwrap().len(), 1);

    // A declined request, then a new one may follow.
    let second = asked(&app, &ada, "dee").await;
    let resp = app
        .post_json(
            &format!("/api/v1/collaborations/{second}/decline"),
            Some(&dee.access),
            json!({}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let declined: Value = resp.json().await.unwrap();
    assert_eq!(declined["status"], "declined");
    let third = asked(&app, &ada, "dee").await;

    // Dee blocks Ada: the pending request is cancelled, no request goes either way.
    let resp = put(&app, "/api/v1/me/blocks/ada", &dee, json!({})).await;
    assert_eq!(resp.status(), 204);
    let resp = put(&app, "/api/v1/me/blocks/ada", &dee, json!({})).await;
    assert_eq!(resp.status(), 204, "blocking again changes nothing");
    let cancelled = app
        .get_auth_json(&format!("/api/v1/collaborations/{third}"), &ada.access)
        .await;
    assert_eq!(cancelled["status"], "cancelled");
    let problem = assert_problem(ask(&app, &ada, "dee").await, 403, "forbidden").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("blocked"),
        "{problem}"
    );
    assert_problem(ask(&app, &dee, "ada").await, 403, "forbidden").await;
    // Only Dee can lift Dee's block.
    let resp = app.delete_auth("/api/v1/me/blocks/dee", &ada.access).await;
    assert_problem(resp, 404, "not-found").await;
    let resp = app.delete_auth("/api/v1/me/blocks/ada", &dee.access).await;
    assert_eq!(resp.status(), 204);
    asked(&app, &ada, "dee").await;

    // A block after acceptance takes the collaboration off both portfolios.
    let resp = put(&app, "/api/v1/me/blocks/ada", &bea, json!({})).await;
    assert_eq!(resp.status(), 204);
    for handle in ["ada", "bea"] {
        let public = app.get_json(&format!("/api/v1/portfolios/{handle}")).await;
        assert_eq!(public["collaborations"], json!([]), "{handle}");
    }
}

async fn collaboration_requests_have_a_rate_limit_of_their_own(backend: Backend) {
    let app = spawn_app_with(
        backend,
        |s| {
            s.rate_limit.collaboration.limit = 2;
            s.rate_limit.collaboration.period_secs = 3600;
        },
        None,
    )
    .await;
    let ada = app.verified_user("ada").await;
    let mut partners = Vec::new();
    for handle in ["bea", "ben", "bo-b"] {
        let who = app.verified_user(handle).await;
        profile(&app, &who, open_profile("frontend", "UTC", 8, json!([]))).await;
        partners.push(handle);
    }
    for partner in &partners[..2] {
        let resp = ask(&app, &ada, partner).await;
        assert_eq!(resp.status(), 201);
        assert_eq!(
            resp.headers()["ratelimit-policy"].to_str().unwrap(),
            "\"collaboration\";q=2;w=3600"
        );
    }
    let resp = ask(&app, &ada, partners[2]).await;
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=1800).contains(&retry), "{retry}");
    assert_problem(resp, 429, "rate-limited").await;
    // Other writes still go: the limit is the requests' own.
    let resp = put(
        &app,
        "/api/v1/me/collaboration-profile",
        &ada,
        open_profile("backend", "UTC", 8, json!([])),
    )
    .await;
    assert_eq!(resp.status(), 200);
}

async fn bad_profiles_requests_and_blocks_are_refused_naming_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.verified_user("ada").await;
    let bea = app.verified_user("bea").await;
    profile(&app, &bea, open_profile("frontend", "UTC", 8, json!([]))).await;
    let errors = async |resp: reqwest::Response| -> Vec<String> {
        let problem = assert_problem(resp, 422, "validation-failed").await;
        problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect()
    };
    let path = "/api/v1/me/collaboration-profile";
    assert_problem(app.get_auth(path, &ada.access).await, 404, "not-found").await;
    let good = open_profile("backend", "Europe/Berlin", 8, json!(["caching"]));
    let with = |key: &str, value: Value| {
        let mut body = good.clone();
        body[key] = value;
        body
    };
    let too_many: Vec<String> = (0..21).map(|i| format!("tool-{i}")).collect();
    let cases = [
        (with("track", json!("wizard")), vec!["track"]),
        (with("track", json!(1)), vec!["track"]),
        (with("stack", json!(too_many)), vec!["stack"]),
        (
            with("stack", json!(["Rust", " ", "rust", "x".repeat(41)])),
            vec!["stack[1]", "stack[2]", "stack[3]"],
        ),
        (with("stack", json!("Rust")), vec!["stack"]),
        (
            with("topics", json!(["Not A Slug", "caching", "caching"])),
            vec!["topics[0]", "topics[2]"],
        ),
        (with("topics", json!(too_many)), vec!["topics"]),
        (with("weekly_hours", json!(0)), vec!["weekly_hours"]),
        (with("weekly_hours", json!(81)), vec!["weekly_hours"]),
        (with("weekly_hours", json!(-1)), vec!["weekly_hours"]),
        (with("weekly_hours", json!("8")), vec!["weekly_hours"]),
        (
            with("timezone", json!("Mars/Olympus_Mons")),
            vec!["timezone"],
        ),
        (
            with("timezone", json!("A".repeat(10_000))),
            vec!["timezone"],
        ),
        (
            with("looking_for", json!("l".repeat(1001))),
            vec!["looking_for"],
        ),
        (with("looking_for", json!("bell\u{7}")), vec!["looking_for"]),
        (with("open", json!("yes")), vec!["open"]),
    ];
    for (body, fields) in cases {
        let resp = put(&app, path, &ada, body.clone()).await;
        assert_eq!(errors(resp).await, fields, "{body}");
    }
    // A missing or unknown field is reported on the object, naming the field.
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("timezone");
    for body in [missing, with("extra", json!(1))] {
        let resp = put(&app, path, &ada, body.clone()).await;
        let problem = assert_problem(resp, 422, "validation-failed").await;
        let text = problem["errors"].to_string();
        assert!(
            text.contains("timezone") || text.contains("extra"),
            "{body}: {problem}"
        );
    }
    // Unicode and trimming are kept as written.
    let resp = put(
        &app,
        path,
        &ada,
        with(
            "looking_for",
            json!("  Un front-end pour mon API — café ✓\nMerci  "),
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let view: Value = resp.json().await.unwrap();
    assert_eq!(
        view["looking_for"],
        "Un front-end pour mon API — café ✓\nMerci"
    );
    assert_eq!(view["open"], true);
    assert_eq!(view["handle"], "ada");

    // Requests.
    let req = |partner: Value, title: Value, message: Value| json!({"partner": partner, "project_title": title, "message": message});
    let cases = [
        (
            req(json!("Not A Handle"), json!("p"), json!("")),
            vec!["partner"],
        ),
        (
            req(json!("nobody-here"), json!("p"), json!("")),
            vec!["partner"],
        ),
        (req(json!(" bea"), json!("p"), json!("")), vec!["partner"]),
        (req(json!("ada"), json!("p"), json!("")), vec!["partner"]),
        (
            req(json!("bea"), json!(" "), json!("m".repeat(2001))),
            vec!["project_title", "message"],
        ),
        (
            req(json!("bea"), json!("t".repeat(201)), json!("")),
            vec!["project_title"],
        ),
        (req(json!(5), json!("p"), json!("")), vec!["partner"]),
    ];
    for (body, fields) in cases {
        let resp = app
            .post_json("/api/v1/collaborations", Some(&ada.access), body.clone())
            .await;
        assert_eq!(errors(resp).await, fields, "{body}");
    }
    for body in [
        json!({"partner": "bea"}),
        json!({"partner": "bea", "project_title": "p", "extra": 1}),
    ] {
        let resp = app
            .post_json("/api/v1/collaborations", Some(&ada.access), body.clone())
            .await;
        let problem = assert_problem(resp, 422, "validation-failed").await;
        let text = problem["errors"].to_string();
        assert!(
            text.contains("project_title") || text.contains("extra"),
            "{body}: {problem}"
        );
    }
    let resp = app
        .post_json(
            "/api/v1/collaborations",
            Some(&ada.access),
            json!({"partner": "bea", "project_title": "Vélo ✓ — 自転車", "message": ""}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.unwrap();
    assert_eq!(created["project_title"], "Vélo ✓ — 自転車");
    assert!(
        resp_location_ok(&app, &ada, created["id"].as_str().unwrap()).await,
        "the request reads back"
    );

    // Blocks name an existing other user.
    let resp = put(&app, "/api/v1/me/blocks/ada", &ada, json!({})).await;
    assert_eq!(errors(resp).await, ["handle"]);
    for handle in ["nobody-here", "Not_A_Handle", "x"] {
        let resp = put(
            &app,
            &format!("/api/v1/me/blocks/{handle}"),
            &ada,
            json!({}),
        )
        .await;
        assert_problem(resp, 404, "not-found").await;
    }
    let resp = app.delete_auth("/api/v1/me/blocks/bea", &ada.access).await;
    assert_problem(resp, 404, "not-found").await;

    // Query parameters.
    for (query, field) in [
        ("/api/v1/collaborators/matches?limit=0", "limit"),
        ("/api/v1/collaborators/matches?limit=101", "limit"),
        ("/api/v1/collaborators/matches?limit=many", "limit"),
        ("/api/v1/me/collaborations?direction=sideways", "direction"),
        ("/api/v1/me/collaborations?status=maybe", "status"),
        ("/api/v1/me/collaborations?cursor=nope", "cursor"),
        ("/api/v1/me/collaborations?limit=0", "limit"),
    ] {
        let resp = app.get_auth(query, &ada.access).await;
        assert_eq!(errors(resp).await, [field], "{query}");
    }
    let resp = app
        .get_auth("/api/v1/collaborations/not-a-uuid", &ada.access)
        .await;
    assert_eq!(resp.status(), 400);
}

async fn resp_location_ok(app: &TestApp, who: &TestUser, id: &str) -> bool {
    app.get_auth(&format!("/api/v1/collaborations/{id}"), &who.access)
        .await
        .status()
        == 200
}
