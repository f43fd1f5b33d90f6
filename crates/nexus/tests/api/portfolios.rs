//! Portfolios over HTTP: only the learner's own mentor-reviewed submissions may be cited
//! (422 naming the entry otherwise); the public view shows public entries of a public
//! portfolio with their score, artifacts and skills; a shown entry's files are readable
//! by anyone, and stop being so when the entry or the portfolio goes private or a later
//! revision is reviewed; bad input is refused naming the field.

use chrono::Utc;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, TestUser, assert_problem, spawn_app};

backend_tests!(
    a_portfolio_shows_reviewed_evidence_only_and_hides_it_again,
    bad_portfolios_are_refused_naming_the_field,
);

/// Two weeks with objectives and a weekly deliverable each, one capstone deliverable due
/// at the end of week 2, and a one-criterion rubric on 0-4 (a score of 3 is 75).
pub fn course() -> Value {
    let rubric = json!({"slug": "core", "title": "Core", "criteria": [
        {"key": "quality", "title": "Quality", "description": "", "weight": 1.0, "min": 0, "max": 4, "levels": []}
    ]});
    let week = |n: u32, objectives: Value, deliverable: Value| {
        json!({"number": n, "title": format!("Week {n}"), "summary": "", "objectives": objectives,
               "labs": [], "readings": [], "deliverable": deliverable})
    };
    json!({
        "slug": "folio", "title": "Portfolio course", "summary": "", "level": "beginner",
        "duration_weeks": 2, "weekly_hours": 5, "prerequisites": [], "outcomes": [], "phases": [],
        "weeks": [
            week(1, json!([
                {"code": "W01.1", "bloom": "apply", "text": "Cache a read path."},
                {"code": "W01.2", "bloom": "analyze", "text": "Measure the hit rate."}
            ]), json!({"slug": "w1-cache", "title": "A read-through cache", "description": "",
                       "evidence": ["file"], "rubric": "core"})),
            week(2, json!([{"code": "W02.1", "bloom": "evaluate", "text": "Choose a queue."}]),
                 json!({"slug": "w2-queue", "title": "A job queue", "description": "",
                        "evidence": [], "rubric": "core"})),
        ],
        "projects": [{"slug": "capstone", "title": "Capstone", "summary": "", "deliverables": [
            {"slug": "capstone-design", "title": "Capstone design", "description": "",
             "evidence": [], "rubric": "core", "due_week": 2}
        ]}],
        "rubrics": [rubric],
    })
}

/// The course above and cohort `folio-cohort` (today, UTC, no peer reviews): mentor
/// `mia`, learners `ada` and `bob`.
async fn cohort(app: &TestApp) -> (TestUser, TestUser, TestUser, TestUser) {
    let admin = app.admin("root").await;
    let mia = app.verified_user("mia").await;
    let ada = app.verified_user("ada").await;
    let bob = app.verified_user("bob").await;
    let resp = app
        .post_json("/api/v1/courses", Some(&admin.access), course())
        .await;
    assert_eq!(resp.status(), 201);
    let resp = app
        .post_json(
            "/api/v1/cohorts",
            Some(&admin.access),
            json!({"slug": "folio-cohort", "title": "Folio", "course": "folio",
                   "starts_on": Utc::now().date_naive().to_string(), "timezone": "UTC",
                   "peer_reviews": 0, "enrolment": "invite"}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    for (handle, role) in [("mia", "mentor"), ("ada", "learner"), ("bob", "learner")] {
        let resp = app
            .post_json(
                "/api/v1/cohorts/folio-cohort/enrolments",
                Some(&admin.access),
                json!({"handle": handle, "role": role}),
            )
            .await;
        assert_eq!(resp.status(), 201, "{handle}");
    }
    (admin, mia, ada, bob)
}

async fn upload(app: &TestApp, who: &TestUser, name: &str) -> String {
    let resp = app
        .client
        .post(app.url("/api/v1/uploads"))
        .bearer_auth(&who.access)
        .header("content-type", "text/plain")
        .header(
            "content-disposition",
            format!("attachment; filename=\"{name}\""),
        )
        .body(format!("The evidence in {name}.\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

async fn hand_in(app: &TestApp, who: &TestUser, deliverable: &str, body: Value) -> String {
    let resp = app
        .post_json(
            &format!("/api/v1/cohorts/folio-cohort/deliverables/{deliverable}/submissions"),
            Some(&who.access),
            body,
        )
        .await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

async fn mentor_review(app: &TestApp, mentor: &TestUser, submission: &str, score: f64) {
    let resp = app
        .post_json(
            &format!("/api/v1/submissions/{submission}/reviews"),
            Some(&mentor.access),
            json!({"scores": [{"criterion": "quality", "score": score}], "feedback": "Good."}),
        )
        .await;
    assert_eq!(resp.status(), 201);
}

pub async fn put(app: &TestApp, path: &str, who: &TestUser, body: Value) -> reqwest::Response {
    app.client
        .put(app.url(path))
        .bearer_auth(&who.access)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn put_portfolio(app: &TestApp, who: &TestUser, body: Value) -> Value {
    let resp = put(app, "/api/v1/me/portfolio", who, body).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// The status of an upload to an anonymous caller and to a signed-in stranger.
async fn file_status(app: &TestApp, stranger: &TestUser, id: &str) -> (u16, u16) {
    let path = format!("/api/v1/uploads/{id}");
    let anonymous = app.get(&path).await.status().as_u16();
    let signed_in = app
        .get_auth(&path, &stranger.access)
        .await
        .status()
        .as_u16();
    (anonymous, signed_in)
}

fn fields(problem: &Value) -> Vec<(String, String)> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn a_portfolio_shows_reviewed_evidence_only_and_hides_it_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let (admin, mia, ada, bob) = cohort(&app).await;
    let cyd = app.verified_user("cyd").await;
    // Ada hands in week 1 with a file and a link (a mentor reviews it, 75) and week 2
    // with another file (nobody reviews it); Bob hands in week 1 (reviewed, 50).
    let file_a = upload(&app, &ada, "cache.txt").await;
    let reviewed = hand_in(
        &app,
        &ada,
        "w1-cache",
        json!({"summary": "A read-through cache.", "uploads": [file_a],
               "links": [{"url": "https://github.com/ada/cache", "label": "Repository"}]}),
    )
    .await;
    let file_b = upload(&app, &ada, "queue.txt").await;
    let unreviewed = hand_in(
        &app,
        &ada,
        "w2-queue",
        json!({"summary": "A queue.", "uploads": [file_b]}),
    )
    .await;
    let file_c = upload(&app, &bob, "bob.txt").await;
    let bobs = hand_in(
        &app,
        &bob,
        "w1-cache",
        json!({"summary": "Mine.", "uploads": [file_c]}),
    )
    .await;
    mentor_review(&app, &mia, &reviewed, 3.0).await;
    mentor_review(&app, &mia, &bobs, 2.0).await;
    // A published note of Ada's and a draft of hers.
    let resp = app
        .post_json(
            "/api/v1/topics",
            Some(&admin.access),
            json!({"slug": "caching", "title": "Caching"}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    for (title, status) in [("Cache keys", "published"), ("Half a thought", "draft")] {
        let resp = app
            .post_json(
                "/api/v1/notes",
                Some(&ada.access),
                json!({"title": title, "kind": "concept", "body_md": "Text.",
                       "topics": ["caching"], "status": status}),
            )
            .await;
        assert_eq!(resp.status(), 201);
    }

    // Unreviewed, foreign and unknown submissions are refused, each entry named.
    let resp = put(
        &app,
        "/api/v1/me/portfolio",
        &ada,
        json!({"visibility": "public", "entries": [
            {"submission": unreviewed, "narrative": "x"},
            {"submission": bobs, "narrative": "x"},
            {"submission": Uuid::now_v7(), "narrative": "x"},
        ]}),
    )
    .await;
    let problem = assert_problem(resp, 422, "validation-failed").await;
    assert_eq!(
        fields(&problem),
        [
            (
                "entries[0].submission".to_owned(),
                "has no mentor review yet".to_owned()
            ),
            (
                "entries[1].submission".to_owned(),
                "is not a submission of yours".to_owned()
            ),
            (
                "entries[2].submission".to_owned(),
                "is not a submission of yours".to_owned()
            ),
        ]
    );
    // Nothing was written, so there is still no portfolio.
    assert_problem(app.get("/api/v1/portfolios/ada").await, 404, "not-found").await;
    assert_problem(
        app.get_auth("/api/v1/me/portfolio", &ada.access).await,
        404,
        "not-found",
    )
    .await;
    // Before any portfolio, every file is its owner's alone.
    for file in [&file_a, &file_b, &file_c] {
        assert_eq!(file_status(&app, &cyd, file).await, (404, 404));
    }

    let mine = put_portfolio(
        &app,
        &ada,
        json!({"visibility": "public", "headline": "Back end, naïvely ✓", "bio": "Line one.\nLine two.",
               "entries": [{"submission": reviewed, "narrative": "Keys first."}]}),
    )
    .await;
    assert_eq!(mine["headline"], "Back end, naïvely ✓");
    assert_eq!(mine["entries"][0]["visibility"], "public");

    let public = app.get_json("/api/v1/portfolios/ada").await;
    assert_eq!(public["handle"], "ada");
    assert_eq!(public["visibility"], "public");
    assert_eq!(public["bio"], "Line one.\nLine two.");
    let entries = public["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{public}");
    let entry = &entries[0];
    assert_eq!(entry["submission"], reviewed.as_str());
    assert_eq!(entry["cohort"], "folio-cohort");
    assert_eq!(entry["course"], "folio");
    assert_eq!(entry["course_title"], "Portfolio course");
    assert_eq!(entry["deliverable"], "w1-cache");
    assert_eq!(entry["deliverable_title"], "A read-through cache");
    assert_eq!(entry["week"], 1);
    assert_eq!(entry["revision"], 1);
    assert_eq!(entry["score"], 75.0);
    assert_eq!(entry["narrative"], "Keys first.");
    assert_eq!(entry["artifacts"]["files"][0]["id"], file_a.as_str());
    assert_eq!(entry["artifacts"]["files"][0]["filename"], "cache.txt");
    assert_eq!(
        entry["artifacts"]["links"],
        json!([{"url": "https://github.com/ada/cache", "label": "Repository"}])
    );
    assert_eq!(
        public["skills"],
        json!([
            {"course": "folio", "code": "W01.1", "text": "Cache a read path.", "bloom": "apply"},
            {"course": "folio", "code": "W01.2", "text": "Measure the hit rate.", "bloom": "analyze"},
        ])
    );
    let notes: Vec<&str> = public["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap())
        .collect();
    assert_eq!(notes, ["Cache keys"]);
    assert_eq!(public["collaborations"], json!([]));
    // The unreviewed submission appears nowhere, and neither does Bob's.
    let text = public.to_string();
    assert!(
        !text.contains(&unreviewed) && !text.contains(&bobs),
        "{text}"
    );

    // The shown entry's file is anyone's to read; the others stay 404 to strangers.
    assert_eq!(file_status(&app, &cyd, &file_a).await, (200, 200));
    let body = app
        .get(&format!("/api/v1/uploads/{file_a}"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(body, "The evidence in cache.txt.\n");
    assert_eq!(file_status(&app, &cyd, &file_b).await, (404, 404));
    assert_eq!(file_status(&app, &cyd, &file_c).await, (404, 404));
    // Readable is not deletable.
    let resp = app
        .delete_auth(&format!("/api/v1/uploads/{file_a}"), &cyd.access)
        .await;
    assert_problem(resp, 403, "forbidden").await;

    // A second revision, with another file, is not shown until a mentor reviews it;
    // then it is, and the first revision's file is no longer public.
    let file_d = upload(&app, &ada, "cache-v2.txt").await;
    hand_in(
        &app,
        &ada,
        "w1-cache",
        json!({"summary": "Better.", "uploads": [file_d]}),
    )
    .await;
    assert_eq!(file_status(&app, &cyd, &file_d).await, (404, 404));
    assert_eq!(
        app.get_json("/api/v1/portfolios/ada").await["entries"][0]["revision"],
        1
    );
    mentor_review(&app, &mia, &reviewed, 4.0).await;
    let public = app.get_json("/api/v1/portfolios/ada").await;
    assert_eq!(public["entries"][0]["revision"], 2);
    assert_eq!(public["entries"][0]["score"], 100.0);
    assert_eq!(public["entries"][0]["artifacts"]["links"], json!([]));
    assert_eq!(file_status(&app, &cyd, &file_d).await, (200, 200));
    assert_eq!(file_status(&app, &cyd, &file_a).await, (404, 404));

    // A private entry: kept for its owner, gone from the public view with its skills and
    // its file.
    put_portfolio(
        &app,
        &ada,
        json!({"visibility": "public", "entries": [
            {"submission": reviewed, "narrative": "Keys first.", "visibility": "private"}]}),
    )
    .await;
    let public = app.get_json("/api/v1/portfolios/ada").await;
    assert_eq!(public["entries"], json!([]));
    assert_eq!(public["skills"], json!([]));
    assert_eq!(file_status(&app, &cyd, &file_d).await, (404, 404));
    let mine = app.get_auth_json("/api/v1/me/portfolio", &ada.access).await;
    assert_eq!(mine["entries"][0]["visibility"], "private");
    assert_eq!(mine["entries"][0]["score"], 100.0);

    // Public again, then the whole portfolio private: 404, and the file 404 again; its
    // owner still reads both.
    put_portfolio(
        &app,
        &ada,
        json!({"visibility": "public", "entries": [{"submission": reviewed}]}),
    )
    .await;
    assert_eq!(file_status(&app, &cyd, &file_d).await, (200, 200));
    put_portfolio(
        &app,
        &ada,
        json!({"visibility": "private", "entries": [{"submission": reviewed}]}),
    )
    .await;
    assert_problem(app.get("/api/v1/portfolios/ada").await, 404, "not-found").await;
    assert_problem(
        app.get_auth("/api/v1/portfolios/ada", &cyd.access).await,
        404,
        "not-found",
    )
    .await;
    assert_eq!(file_status(&app, &cyd, &file_d).await, (404, 404));
    assert_eq!(
        app.get_auth(&format!("/api/v1/uploads/{file_d}"), &ada.access)
            .await
            .status(),
        200
    );
    let mine = app.get_auth_json("/api/v1/me/portfolio", &ada.access).await;
    assert_eq!(mine["visibility"], "private");
    assert_eq!(mine["entries"].as_array().unwrap().len(), 1);
    // Leaving an entry out hides it as well.
    put_portfolio(&app, &ada, json!({"visibility": "public", "entries": []})).await;
    assert_eq!(file_status(&app, &cyd, &file_d).await, (404, 404));

    // An entry scored under 70 shows, with no skills.
    put_portfolio(
        &app,
        &bob,
        json!({"visibility": "public", "entries": [{"submission": bobs}]}),
    )
    .await;
    let public = app.get_json("/api/v1/portfolios/bob").await;
    assert_eq!(public["entries"][0]["score"], 50.0);
    assert_eq!(public["skills"], json!([]));
    // Someone's submission is not another's evidence, and ids cannot be probed: Ada
    // citing Bob's reviewed submission reads like an unknown id.
    let resp = put(
        &app,
        "/api/v1/me/portfolio",
        &ada,
        json!({"visibility": "public", "entries": [{"submission": bobs}]}),
    )
    .await;
    let problem = assert_problem(resp, 422, "validation-failed").await;
    assert_eq!(
        fields(&problem),
        [(
            "entries[0].submission".to_owned(),
            "is not a submission of yours".to_owned()
        )]
    );
}

async fn bad_portfolios_are_refused_naming_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, mia, ada, _) = cohort(&app).await;
    let sub = hand_in(&app, &ada, "capstone-design", json!({"summary": "Design."})).await;
    mentor_review(&app, &mia, &sub, 3.0).await;
    let field_of = async |body: Value| -> Vec<String> {
        let resp = put(&app, "/api/v1/me/portfolio", &ada, body).await;
        let problem = assert_problem(resp, 422, "validation-failed").await;
        fields(&problem).into_iter().map(|(f, _)| f).collect()
    };
    let too_many: Vec<Value> = (0..21)
        .map(|_| json!({"submission": Uuid::now_v7()}))
        .collect();
    assert_eq!(
        field_of(json!({"visibility": "public", "entries": too_many})).await,
        ["entries"]
    );
    assert_eq!(
        field_of(json!({"visibility": "public", "headline": "h".repeat(201),
                        "bio": "b".repeat(4001)}))
        .await,
        ["headline", "bio"]
    );
    assert_eq!(
        field_of(json!({"visibility": "public", "headline": "one\ntwo"})).await,
        ["headline"]
    );
    assert_eq!(
        field_of(json!({"visibility": "public", "entries": [
            {"submission": sub}, {"submission": sub, "narrative": "n".repeat(4001)}]}))
        .await,
        ["entries[1].narrative", "entries[1].submission"]
    );
    for (body, field) in [
        (json!({"visibility": "secret"}), "visibility"),
        (json!({"headline": "no visibility"}), "body"),
        (json!({"visibility": "public", "extra": 1}), "body"),
        (
            json!({"visibility": "public", "entries": [{"submission": "nope"}]}),
            "entries[0].submission",
        ),
        (
            json!({"visibility": "public", "entries": [{"submission": sub, "visibility": 1}]}),
            "entries[0].visibility",
        ),
        (
            json!({"visibility": "public", "entries": [{"submission": sub, "extra": true}]}),
            "entries[0]",
        ),
        (
            json!({"visibility": "public", "entries": {"submission": sub}}),
            "entries",
        ),
        (json!({"visibility": "public", "headline": 5}), "headline"),
    ] {
        let resp = put(&app, "/api/v1/me/portfolio", &ada, body.clone()).await;
        let problem = assert_problem(resp, 422, "validation-failed").await;
        let named = fields(&problem);
        // A missing or unknown field is reported on the object that lacks or has it.
        assert!(
            named
                .iter()
                .any(|(f, _)| f.starts_with(field) || (field == "body" && f == "extra")),
            "{body}: {problem}"
        );
    }
    // A capstone deliverable takes the objectives of the week it is due at the end of.
    let view = put_portfolio(
        &app,
        &ada,
        json!({"visibility": "public", "entries": [{"submission": sub, "narrative": "  trimmed  "}]}),
    )
    .await;
    assert_eq!(view["entries"][0]["narrative"], "trimmed");
    assert_eq!(view["entries"][0]["week"], 2);
    assert_eq!(view["entries"][0]["deliverable_title"], "Capstone design");
    assert_eq!(
        view["skills"],
        json!([{"course": "folio", "code": "W02.1", "text": "Choose a queue.", "bloom": "evaluate"}])
    );
    // Handles that cannot exist, and no credentials for one's own portfolio.
    for handle in ["Not_A_Handle", "x", &"a".repeat(5000), "%E2%9C%93"] {
        let resp = app.get(&format!("/api/v1/portfolios/{handle}")).await;
        assert_problem(resp, 404, "not-found").await;
    }
    assert_problem(
        app.get("/api/v1/me/portfolio").await,
        401,
        "unauthenticated",
    )
    .await;
    let resp = app
        .client
        .put(app.url("/api/v1/me/portfolio"))
        .json(&json!({"visibility": "public"}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 401, "unauthenticated").await;
    let resp = app
        .client
        .put(app.url("/api/v1/me/portfolio"))
        .bearer_auth(&ada.access)
        .body("{\"visibility\":")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400, "bad-request").await;
}
