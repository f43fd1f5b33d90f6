//! Courses over HTTP, on both backends: versions and concurrency, permissions, every
//! rule of a course document, and courses as code (zip import and export, the reference
//! curriculum).

use nexus_service::learning::CourseFiles;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, TestUser, assert_problem, spawn_app, spawn_app_with};

backend_tests!(
    courses_are_versioned_with_etags_and_if_match,
    anyone_reads_courses_and_only_admins_write_them,
    each_invalid_document_is_a_422_naming_the_field,
    bad_input_is_refused_with_a_clear_problem,
    export_then_import_gives_the_same_document,
    zip_imports_are_bounded_and_report_what_they_skipped,
    the_reference_curriculum_imports_whole,
);

/// The small valid course every test starts from: two weeks, one rubric.
fn course(slug: &str) -> Value {
    let mut doc = nexus_service::learning::model::example_course();
    doc["slug"] = json!(slug);
    doc
}

async fn create(app: &TestApp, who: &TestUser, doc: &Value) -> reqwest::Response {
    app.post_json("/api/v1/courses", Some(&who.access), doc.clone())
        .await
}

async fn put(
    app: &TestApp,
    who: &TestUser,
    slug: &str,
    if_match: Option<&str>,
    doc: &Value,
) -> reqwest::Response {
    let mut req = app
        .client
        .put(app.url(&format!("/api/v1/courses/{slug}")))
        .bearer_auth(&who.access)
        .json(doc);
    if let Some(tag) = if_match {
        req = req.header("if-match", tag);
    }
    req.send().await.unwrap()
}

async fn import(
    app: &TestApp,
    who: Option<&TestUser>,
    content_type: &str,
    zip: Vec<u8>,
) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url("/api/v1/courses/import"))
        .header("content-type", content_type)
        .body(zip);
    if let Some(who) = who {
        req = req.bearer_auth(&who.access);
    }
    req.send().await.unwrap()
}

fn etag(resp: &reqwest::Response) -> String {
    resp.headers()["etag"].to_str().unwrap().to_owned()
}

/// The document part of a course answer.
fn document(mut course: Value) -> Value {
    let obj = course.as_object_mut().unwrap();
    obj.remove("version");
    obj.remove("created_at");
    course
}

async fn courses_are_versioned_with_etags_and_if_match(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin("root").await;
    let create_once = || {
        app.client
            .post(app.url("/api/v1/courses"))
            .bearer_auth(&admin.access)
            .header("idempotency-key", "course-1")
            .json(&course("intro"))
            .send()
    };
    let resp = create_once().await.unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["location"], "/api/v1/courses/intro");
    assert_eq!(etag(&resp), "\"v1\"");
    let created: Value = resp.json().await.unwrap();
    assert_eq!(created["version"], 1);
    assert_eq!(document(created.clone()), course("intro"));

    // A retry with the same key replays the answer; nothing is created twice.
    let again = create_once().await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_problem(
        create(&app, &admin, &course("intro")).await,
        409,
        "conflict",
    )
    .await;

    // Reads carry the version and honour If-None-Match.
    let resp = app.get("/api/v1/courses/intro").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(etag(&resp), "\"v1\"");
    let resp = app
        .client
        .get(app.url("/api/v1/courses/intro"))
        .header("if-none-match", "\"v1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 304);

    // Changes name the version they start from.
    let mut v2 = course("intro");
    v2["title"] = json!("Introduction, second edition");
    assert_problem(
        put(&app, &admin, "intro", None, &v2).await,
        428,
        "precondition-required",
    )
    .await;
    assert_problem(
        put(&app, &admin, "intro", Some("\"v7\""), &v2).await,
        412,
        "precondition-failed",
    )
    .await;
    // Only the ETag form names a version (as for notes): anything else is malformed.
    assert_problem(
        put(&app, &admin, "intro", Some("garbage"), &v2).await,
        400,
        "bad-request",
    )
    .await;
    let resp = put(&app, &admin, "intro", Some("\"v1\""), &v2).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(etag(&resp), "\"v2\"");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["version"], 2);
    // The same If-Match again is now stale: the second writer loses, nothing is lost.
    assert_problem(
        put(&app, &admin, "intro", Some("\"v1\""), &v2).await,
        412,
        "precondition-failed",
    )
    .await;
    let mut renamed = v2.clone();
    renamed["slug"] = json!("other");
    let body = assert_problem(
        put(&app, &admin, "intro", Some("\"v2\""), &renamed).await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "slug");
    assert_problem(
        put(&app, &admin, "nowhere", Some("\"v1\""), &course("nowhere")).await,
        404,
        "not-found",
    )
    .await;

    // Two admins changing the same version at once: exactly one makes version 3.
    let mut a = v2.clone();
    a["summary"] = json!("edit a");
    let mut b = v2.clone();
    b["summary"] = json!("edit b");
    let (ra, rb) = futures::join!(
        put(&app, &admin, "intro", Some("\"v2\""), &a),
        put(&app, &admin, "intro", Some("\"v2\""), &b)
    );
    let mut statuses = [ra.status().as_u16(), rb.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 412]);

    // Older versions stay as they were.
    let v1 = app.get_json("/api/v1/courses/intro?version=1").await;
    assert_eq!(v1["title"], course("intro")["title"]);
    let resp = app.get("/api/v1/courses/intro?version=1").await;
    assert_eq!(etag(&resp), "\"v1\"");
    let current = app.get_json("/api/v1/courses/intro").await;
    assert_eq!(current["title"], "Introduction, second edition");
    assert!(["edit a", "edit b"].contains(&current["summary"].as_str().unwrap()));
    assert_problem(
        app.get("/api/v1/courses/intro?version=4").await,
        404,
        "not-found",
    )
    .await;
    assert_problem(
        app.get("/api/v1/courses/intro?version=0").await,
        404,
        "not-found",
    )
    .await;

    let versions = app.get_json("/api/v1/courses/intro/versions").await;
    let numbers: Vec<i64> = versions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [3, 2, 1]);
    assert_eq!(versions["items"][0]["created_by"], "root");
    let first = app.get_json("/api/v1/courses/intro/versions?limit=2").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get_json(&format!(
            "/api/v1/courses/intro/versions?limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(second["items"][0]["version"], 1);
    assert!(second["next_cursor"].is_null());

    // The list pages newest first, with the current version of each.
    assert_eq!(create(&app, &admin, &course("second")).await.status(), 201);
    assert_eq!(create(&app, &admin, &course("third")).await.status(), 201);
    let page = app.get_json("/api/v1/courses?limit=2").await;
    let slugs: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["third", "second"]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = app
        .get_json(&format!("/api/v1/courses?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(rest["items"][0]["slug"], "intro");
    assert_eq!(rest["items"][0]["version"], 3);
    assert_eq!(rest["items"][0]["level"], "beginner");
    assert!(rest["next_cursor"].is_null());
    assert_problem(
        app.get("/api/v1/courses?cursor=bogus").await,
        422,
        "validation-failed",
    )
    .await;
    assert_problem(
        app.get("/api/v1/courses?limit=0").await,
        422,
        "validation-failed",
    )
    .await;
}

async fn anyone_reads_courses_and_only_admins_write_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin("root").await;
    let learner = app.verified_user("ada").await;
    assert_eq!(create(&app, &admin, &course("intro")).await.status(), 201);

    let resp = app.post_json("/api/v1/courses", None, course("mine")).await;
    assert_problem(resp, 401, "unauthenticated").await;
    assert_problem(
        create(&app, &learner, &course("mine")).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        put(&app, &learner, "intro", Some("\"v1\""), &course("intro")).await,
        403,
        "forbidden",
    )
    .await;
    let resp = app
        .client
        .put(app.url("/api/v1/courses/intro"))
        .json(&course("intro"))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 401, "unauthenticated").await;
    let zip = CourseFiles::render(&serde_json::from_value(course("mine")).unwrap())
        .unwrap()
        .to_zip()
        .unwrap();
    assert_problem(
        import(&app, Some(&learner), "application/zip", zip.clone()).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        import(&app, None, "application/zip", zip).await,
        401,
        "unauthenticated",
    )
    .await;

    // Reading is open to everyone, signed in or not.
    for path in [
        "/api/v1/courses",
        "/api/v1/courses/intro",
        "/api/v1/courses/intro/versions",
        "/api/v1/courses/intro/export",
    ] {
        assert_eq!(app.get(path).await.status(), 200, "{path}");
        assert_eq!(
            app.get_auth(path, &learner.access).await.status(),
            200,
            "{path}"
        );
    }
    let list = app.get_json("/api/v1/courses").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

async fn each_invalid_document_is_a_422_naming_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let (admin, author) = crate::hub::setup(&app).await;
    // A published note may be read in a week; a missing one may not.
    let note = crate::hub::create(
        &app,
        &author,
        json!({"title": "Request lifecycle", "kind": "concept", "body_md": "From socket to handler.", "topics": ["web"]}),
    )
    .await;
    let mut with_reading = course("with-reading");
    with_reading["weeks"][0]["readings"] = json!([note["slug"]]);
    assert_eq!(create(&app, &admin, &with_reading).await.status(), 201);

    type Change = fn(&mut Value);
    let cases: Vec<(&str, Change)> = vec![
        ("weeks[1].number", |d| d["weeks"][1]["number"] = json!(3)),
        ("weeks[0].number", |d| d["weeks"][0]["number"] = json!(2)),
        ("duration_weeks", |d| d["duration_weeks"] = json!(3)),
        ("weeks", |d| d["weeks"] = json!([])),
        ("weeks[1].labs[0].slug", |d| {
            d["weeks"][1]["labs"] = d["weeks"][0]["labs"].clone()
        }),
        ("weeks[1].deliverable.slug", |d| {
            d["weeks"][1]["deliverable"]["slug"] = json!("lifecycle-notes")
        }),
        ("weeks[1].objectives[0].code", |d| {
            d["weeks"][1]["objectives"][0]["code"] = json!("W01.1")
        }),
        ("weeks[0].readings[1]", |d| {
            d["weeks"][0]["readings"] = json!(["no-such-note", "no-such-note"])
        }),
        ("rubrics[1].slug", |d| {
            let r = d["rubrics"][0].clone();
            d["rubrics"].as_array_mut().unwrap().push(r)
        }),
        ("rubrics[0].criteria[1].key", |d| {
            d["rubrics"][0]["criteria"][1]["key"] = json!("correctness")
        }),
        ("projects[1].slug", |d| {
            let p = json!({"slug": "p", "title": "P", "deliverables": [
                {"slug": "p1", "title": "P1", "evidence": ["repo"], "rubric": "weekly", "due_week": 2}]});
            let mut q = p.clone();
            q["deliverables"][0]["slug"] = json!("p2");
            d["projects"] = json!([p, q]);
        }),
        ("projects[0].deliverables[0].slug", |d| {
            d["projects"] = json!([{"slug": "p", "title": "P", "deliverables": [
                {"slug": "error-contract", "title": "P1", "rubric": "weekly", "due_week": 2}]}]);
        }),
        ("weeks[0].deliverable.rubric", |d| {
            d["weeks"][0]["deliverable"]["rubric"] = json!("missing")
        }),
        ("weeks[0].readings[0]", |d| {
            d["weeks"][0]["readings"] = json!(["no-such-note"])
        }),
        ("rubrics[0].criteria[0].levels[1]", |d| {
            d["rubrics"][0]["criteria"][0]["levels"][1]["max"] = json!(9)
        }),
        ("rubrics[0].criteria[0].levels[1]", |d| {
            d["rubrics"][0]["criteria"][0]["levels"][1]["min"] = json!(1)
        }),
        ("rubrics[0].criteria[0].levels[0].max", |d| {
            d["rubrics"][0]["criteria"][0]["levels"][0] = json!({"min": 1, "max": 0, "label": "x"})
        }),
        ("rubrics[0].criteria[0].weight", |d| {
            d["rubrics"][0]["criteria"][0]["weight"] = json!(0)
        }),
        ("rubrics[0].criteria[1].weight", |d| {
            d["rubrics"][0]["criteria"][1]["weight"] = json!(-2.5)
        }),
        ("rubrics[0].criteria[0].max", |d| {
            d["rubrics"][0]["criteria"][0]["max"] = json!(0)
        }),
        ("rubrics[0].criteria", |d| {
            d["rubrics"][0]["criteria"] = json!([])
        }),
        ("weeks[0].objectives[0].bloom", |d| {
            d["weeks"][0]["objectives"][0]["bloom"] = json!("memorise")
        }),
        ("weeks[1].deliverable.evidence[1]", |d| {
            d["weeks"][1]["deliverable"]["evidence"][1] = json!("video")
        }),
        ("weeks[1].deliverable.evidence[1]", |d| {
            d["weeks"][1]["deliverable"]["evidence"] = json!(["repo", "repo"])
        }),
        ("phases[0].last_week", |d| {
            d["phases"][0]["last_week"] = json!(5)
        }),
        ("phases[0].first_week", |d| {
            d["phases"][0]["first_week"] = json!(0)
        }),
        (
            "phases[1]",
            |d| d["phases"] = json!([{"title": "A", "first_week": 1, "last_week": 2}, {"title": "B", "first_week": 2, "last_week": 2}]),
        ),
        ("projects[0].deliverables[0].due_week", |d| {
            d["projects"] = json!([{"slug": "p", "title": "P", "deliverables": [
                {"slug": "p1", "title": "P1", "rubric": "weekly", "due_week": 9}]}]);
        }),
        ("weeks[0].deliverable.due_week", |d| {
            d["weeks"][0]["deliverable"]["due_week"] = json!(1)
        }),
        ("projects[0].deliverables[0].due_week", |d| {
            d["projects"] = json!([{"slug": "p", "title": "P", "deliverables": [
                {"slug": "p1", "title": "P1", "rubric": "weekly"}]}]);
        }),
        ("slug", |d| d["slug"] = json!("Not A Slug")),
        ("title", |d| d["title"] = json!("   ")),
        ("title", |d| d["title"] = json!("x".repeat(201))),
        ("title", |d| d["title"] = json!("line\u{0}break")),
        ("weekly_hours", |d| d["weekly_hours"] = json!(0)),
        ("level", |d| d["level"] = json!("expert")),
        ("duration_weeks", |d| d["duration_weeks"] = json!("two")),
        ("duration_weeks", |d| d["duration_weeks"] = json!(-1)),
        ("weeks[0].labs", |d| {
            let lab = d["weeks"][0]["labs"][0].clone();
            d["weeks"][0]["labs"] = json!(vec![lab; 5_000]);
        }),
        ("prerequisites[0]", |d| {
            d["prerequisites"] = json!(["y".repeat(5_000)])
        }),
        ("weeks[0].summary", |d| {
            d["weeks"][0]["summary"] = json!("z".repeat(20_001))
        }),
    ];
    for (field, change) in cases {
        let mut doc = course("broken");
        change(&mut doc);
        let body = assert_problem(create(&app, &admin, &doc).await, 422, "validation-failed").await;
        let fields: Vec<&str> = body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "expected {field} in {fields:?}");
    }
    // Nothing invalid was stored.
    assert_problem(app.get("/api/v1/courses/broken").await, 404, "not-found").await;
    // Many faults at once are all listed.
    let mut doc = course("broken");
    doc["title"] = json!("");
    doc["weekly_hours"] = json!(500);
    doc["weeks"][0]["deliverable"]["rubric"] = json!("missing");
    let body = assert_problem(create(&app, &admin, &doc).await, 422, "validation-failed").await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 3, "{body}");
}

async fn bad_input_is_refused_with_a_clear_problem(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin("root").await;
    let post = |body: Vec<u8>, ct: &'static str| {
        app.client
            .post(app.url("/api/v1/courses"))
            .bearer_auth(&admin.access)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    assert_problem(
        post(Vec::new(), "application/json").await.unwrap(),
        400,
        "bad-request",
    )
    .await;
    assert_problem(
        post(b"{\"slug\":".to_vec(), "application/json")
            .await
            .unwrap(),
        400,
        "bad-request",
    )
    .await;
    assert_problem(
        post(b"[1, 2]".to_vec(), "application/json").await.unwrap(),
        422,
        "validation-failed",
    )
    .await;
    assert_problem(
        post(b"slug: x".to_vec(), "text/yaml").await.unwrap(),
        415,
        "unsupported-media-type",
    )
    .await;
    // A course as a read answers it goes back with PUT as it is (version and created_at
    // are not part of the document and are ignored).
    assert_eq!(create(&app, &admin, &course("extra")).await.status(), 201);
    let mut read = app.get_json("/api/v1/courses/extra").await;
    read["title"] = json!("Edited from the read answer");
    let resp = put(&app, &admin, "extra", Some("\"v1\""), &read).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["version"], 2);
    assert_eq!(body["title"], "Edited from the read answer");

    // Unicode text is kept as written; a slug stays ASCII.
    let mut unicode = course("unicode");
    unicode["title"] = json!("Cours d'été — バックエンド 🚀");
    unicode["weeks"][0]["summary"] = json!("Ünïcödé\n\n- ✓ lists\n- and `code`");
    let resp = create(&app, &admin, &unicode).await;
    assert_eq!(resp.status(), 201);
    let stored = app.get_json("/api/v1/courses/unicode").await;
    assert_eq!(stored["title"], unicode["title"]);
    assert_eq!(
        stored["weeks"][0]["summary"],
        unicode["weeks"][0]["summary"]
    );
    let mut accented = course("x");
    accented["slug"] = json!("été");
    assert_problem(
        create(&app, &admin, &accented).await,
        422,
        "validation-failed",
    )
    .await;
    let long = "a".repeat(5_000);
    assert_problem(
        app.get(&format!("/api/v1/courses/{long}")).await,
        404,
        "not-found",
    )
    .await;
    assert_problem(
        app.get("/api/v1/courses/%F0%9F%9A%80").await,
        404,
        "not-found",
    )
    .await;
    let body = assert_problem(
        app.get("/api/v1/courses/unicode?version=abc").await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "version");
    let body = assert_problem(
        app.get("/api/v1/courses?cursor=not-a-cursor").await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "cursor");

    // Bodies past the limit, on a server with a small one: a body much larger than the
    // socket's buffers would race the server's early 413 (and its close) with a broken
    // pipe on the client's side, so the excess is kept small. Each goes on a connection
    // of its own, since the server closes it.
    let small = spawn_app_with(backend, |s| s.http.body_limit_bytes = 1024, None).await;
    let admin = small.admin("root").await;
    let huge = format!("{{\"slug\": \"{}\"}}", "a".repeat(4096));
    for (path, ct) in [
        ("/api/v1/courses", "application/json"),
        ("/api/v1/courses/import", "application/zip"),
    ] {
        let resp = reqwest::Client::new()
            .post(small.url(path))
            .bearer_auth(&admin.access)
            .header("content-type", ct)
            .body(huge.clone())
            .send()
            .await
            .unwrap();
        assert_problem(resp, 413, "payload-too-large").await;
    }
}

async fn export_then_import_gives_the_same_document(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin("root").await;
    let mut doc = course("round-trip");
    doc["weeks"][0]["summary"] =
        json!("Markdown: *emphasis*, `code`, \"quotes\" and a # hash.\n\nA second paragraph.");
    doc["title"] = json!("Yes: no, null & 1.0 — the tricky YAML");
    doc["projects"] = json!([{"slug": "capstone", "title": "Capstone", "summary": "", "deliverables": [
        {"slug": "build", "title": "Build", "description": "", "evidence": ["repo", "file"], "rubric": "weekly", "due_week": 2}]}]);
    assert_eq!(create(&app, &admin, &doc).await.status(), 201);
    let v1 = document(app.get_json("/api/v1/courses/round-trip").await);

    let resp = app.get("/api/v1/courses/round-trip/export").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/zip");
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"round-trip-v1.zip\""
    );
    let zip = resp.bytes().await.unwrap().to_vec();
    let files = CourseFiles::from_zip(&zip).unwrap();
    let names: Vec<&str> = files.files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "course.yaml",
            "rubrics/01-weekly.yaml",
            "weeks/01-the-request-lifecycle.md",
            "weeks/02-resources-and-errors.md"
        ]
    );
    assert!(files.files["weeks/01-the-request-lifecycle.md"].contains("A second paragraph."));

    let resp = import(&app, Some(&admin), "application/zip", zip).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(etag(&resp), "\"v2\"");
    let report: Value = resp.json().await.unwrap();
    assert_eq!(report["created"], false);
    assert_eq!(report["course"]["version"], 2);
    assert_eq!(document(report["course"].clone()), v1);
    assert_eq!(
        document(app.get_json("/api/v1/courses/round-trip").await),
        v1
    );

    // A new slug makes a new course; the report names the step back in Bloom level.
    let mut regress: nexus_service::learning::CourseDocument =
        serde_json::from_value(course("regress")).unwrap();
    regress.weeks[1].objectives[0].bloom = nexus_service::learning::Bloom::Remember;
    let zip = CourseFiles::render(&regress).unwrap().to_zip().unwrap();
    let resp = import(&app, Some(&admin), "application/zip", zip).await;
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["location"], "/api/v1/courses/regress");
    let report: Value = resp.json().await.unwrap();
    assert_eq!(report["created"], true);
    assert_eq!(report["course"]["version"], 1);
    assert_eq!(
        report["progression"],
        json!([{"week": 2, "code": "W02.1", "bloom": "remember", "previous_highest": "understand"}])
    );
    let old = app.get("/api/v1/courses/round-trip/export?version=1").await;
    assert_eq!(
        old.headers()["content-disposition"],
        "attachment; filename=\"round-trip-v1.zip\""
    );
    assert_problem(
        app.get("/api/v1/courses/round-trip/export?version=9").await,
        404,
        "not-found",
    )
    .await;
}

async fn zip_imports_are_bounded_and_report_what_they_skipped(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin("root").await;
    let good: nexus_service::learning::CourseDocument =
        serde_json::from_value(course("zipped")).unwrap();
    let files = CourseFiles::render(&good).unwrap();

    // A zip of the folder itself, with a stray file: read as the folder, the file listed.
    let mut nested = CourseFiles::default();
    for (path, text) in &files.files {
        nested.files.insert(format!("zipped/{path}"), text.clone());
    }
    nested
        .files
        .insert("zipped/README.md".into(), "notes".into());
    let resp = import(
        &app,
        Some(&admin),
        "application/zip",
        nested.to_zip().unwrap(),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let report: Value = resp.json().await.unwrap();
    assert_eq!(report["ignored_files"], json!(["README.md"]));

    assert_problem(
        import(&app, Some(&admin), "application/json", b"{}".to_vec()).await,
        415,
        "unsupported-media-type",
    )
    .await;
    let body = assert_problem(
        import(&app, Some(&admin), "application/zip", Vec::new()).await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "body");
    let body = assert_problem(
        import(
            &app,
            Some(&admin),
            "application/zip",
            b"PK\x03\x04 not really".to_vec(),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "body");

    // A file past the per-file limit is refused before it is parsed.
    let mut big = files.clone();
    big.files.insert(
        "weeks/03-big.md".into(),
        format!(
            "---\nnumber: 3\ntitle: Big\n---\n{}",
            " ".repeat(600 * 1024)
        ),
    );
    let body = refused(&app, &admin, &big).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("too large"),
        "{body}"
    );

    // A path that climbs out of the folder.
    let mut climbing = files.clone();
    climbing.files.insert("../evil.md".into(), "x".into());
    refused(&app, &admin, &climbing).await;

    // Syntax errors name the file; rule errors name the field, as for JSON.
    let mut broken = files.clone();
    broken
        .files
        .insert("rubrics/01-weekly.yaml".into(), "slug: [unclosed".into());
    let body = refused(&app, &admin, &broken).await;
    assert_eq!(body["errors"][0]["field"], "rubrics/01-weekly.yaml");
    let mut unknown_bloom = files.clone();
    let week = unknown_bloom
        .files
        .get_mut("weeks/01-the-request-lifecycle.md")
        .unwrap();
    *week = week.replace("bloom: understand", "bloom: memorise");
    let body = refused(&app, &admin, &unknown_bloom).await;
    assert_eq!(
        body["errors"][0]["field"],
        "weeks/01-the-request-lifecycle.md"
    );
    let mut gap = files.clone();
    let week = gap
        .files
        .remove("weeks/02-resources-and-errors.md")
        .unwrap();
    gap.files.insert(
        "weeks/03-resources-and-errors.md".into(),
        week.replace("number: 2", "number: 3"),
    );
    let body = refused(&app, &admin, &gap).await;
    assert_eq!(body["errors"][0]["field"], "weeks[1].number");
    // course.yaml is strict: a misspelt key is an error, not a silently dropped setting.
    let mut misspelt = files.clone();
    misspelt
        .files
        .get_mut("course.yaml")
        .unwrap()
        .push_str("prerequisite: [typo]\n");
    let body = refused(&app, &admin, &misspelt).await;
    assert_eq!(body["errors"][0]["field"], "course.yaml");
    let mut missing = files.clone();
    missing.files.remove("course.yaml");
    let body = refused(&app, &admin, &missing).await;
    assert_eq!(body["errors"][0]["field"], "course.yaml");
    // Only the first, valid import made a version.
    let versions = app.get_json("/api/v1/courses/zipped/versions").await;
    assert_eq!(versions["items"].as_array().unwrap().len(), 1);
}

/// Imports `files` as `admin`, expecting a 422; returns the problem.
async fn refused(app: &TestApp, admin: &TestUser, files: &CourseFiles) -> Value {
    let resp = import(app, Some(admin), "application/zip", files.to_zip().unwrap()).await;
    assert_problem(resp, 422, "validation-failed").await
}

/// The course folder shipped in the repository.
pub(crate) fn reference_course_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../courses/scalable-architectures")
}

async fn the_reference_curriculum_imports_whole(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin("root").await;
    let files = CourseFiles::from_dir(&reference_course_dir()).unwrap();
    assert!(files.ignored.is_empty(), "{:?}", files.ignored);
    let resp = import(
        &app,
        Some(&admin),
        "application/zip",
        files.to_zip().unwrap(),
    )
    .await;
    assert_eq!(
        resp.status(),
        201,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    let course = app.get_json("/api/v1/courses/scalable-architectures").await;
    assert_eq!(course["duration_weeks"], 24);
    let weeks = course["weeks"].as_array().unwrap();
    assert_eq!(weeks.len(), 24);
    for (i, week) in weeks.iter().enumerate() {
        assert_eq!(week["number"], i + 1);
        assert!(week["deliverable"]["slug"].is_string(), "week {}", i + 1);
        assert!(!week["objectives"].as_array().unwrap().is_empty());
    }
    assert_eq!(
        weeks[0]["title"],
        "Backend Architecture Fundamentals and Request Lifecycle"
    );
    assert_eq!(
        weeks[23]["title"],
        "Capstone Review, Operations Readiness, and Technical Defense"
    );
    let phases: Vec<(&str, u64, u64)> = course["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["title"].as_str().unwrap(),
                p["first_week"].as_u64().unwrap(),
                p["last_week"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        phases,
        [
            ("Foundation", 1, 6),
            ("Build", 7, 12),
            ("Integration", 13, 18),
            ("Capstone", 19, 24)
        ]
    );
    let projects = course["projects"].as_array().unwrap();
    assert_eq!(projects.len(), 3);
    for p in projects {
        assert_eq!(
            p["deliverables"].as_array().unwrap().len(),
            3,
            "{}",
            p["slug"]
        );
    }
    // Exported and imported again (as plain bytes this time), it is the same course.
    let zip = app
        .get("/api/v1/courses/scalable-architectures/export")
        .await
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let resp = import(&app, Some(&admin), "application/octet-stream", zip).await;
    assert_eq!(resp.status(), 200);
    let report: Value = resp.json().await.unwrap();
    assert_eq!(document(report["course"].clone()), document(course));
}
