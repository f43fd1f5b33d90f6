//! Submissions and reviews over HTTP: the acceptance walk of a small cohort (hand-ins,
//! revisions, a late one, a 5 MiB file, peer assignment, mentor and peer reviews with
//! weighted totals, ratings and reviewer quality), the BOLA walk over every submission
//! route, and bad input.
//!
//! The walk runs on SQLite with local files and on PostgreSQL with S3 (when
//! `NEXUS_TEST_S3_URL` is given; required under CI).

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::{
    Backend, S3Server, TestApp, TestUser, assert_problem, spawn_app, spawn_app_with,
};

/// The fixture course: three weeks, one capstone project with two deliverables, and a
/// three-criterion rubric with weights 3, 2 and 1 (the last on a 1-5 scale).
fn fixture_course() -> Value {
    let rubric = json!({"slug": "core", "title": "Core rubric", "criteria": [
        {"key": "design", "title": "Design", "description": "", "weight": 3.0, "min": 0, "max": 4, "levels": []},
        {"key": "tests", "title": "Tests", "description": "", "weight": 2.0, "min": 0, "max": 4, "levels": []},
        {"key": "docs", "title": "Documentation", "description": "", "weight": 1.0, "min": 1, "max": 5, "levels": []}
    ]});
    let week = |n: u32, deliverable: Value| {
        json!({"number": n, "title": format!("Week {n}"), "summary": "", "objectives": [],
               "labs": [], "readings": [], "deliverable": deliverable})
    };
    json!({
        "slug": "fixture", "title": "Fixture course", "summary": "Three weeks.",
        "level": "intermediate", "duration_weeks": 3, "weekly_hours": 5,
        "prerequisites": [], "outcomes": [],
        "phases": [{"title": "All", "first_week": 1, "last_week": 3}],
        "weeks": [
            week(1, json!({"slug": "w1-notes", "title": "Week 1 notes", "description": "",
                           "evidence": ["note"], "rubric": "core"})),
            week(2, Value::Null),
            week(3, Value::Null),
        ],
        "projects": [{"slug": "capstone", "title": "Capstone", "summary": "", "deliverables": [
            {"slug": "design-doc", "title": "Design document", "description": "",
             "evidence": ["link", "file"], "rubric": "core", "due_week": 2},
            {"slug": "final-demo", "title": "Final demo", "description": "",
             "evidence": ["repo"], "rubric": "core", "due_week": 3}
        ]}],
        "rubrics": [rubric],
    })
}

/// A PDF-looking file of `len` bytes.
fn pdf(len: usize) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    while bytes.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

async fn upload(app: &TestApp, who: &TestUser, name: &str, bytes: Vec<u8>) -> String {
    let resp = app
        .client
        .post(app.url("/api/v1/uploads"))
        .bearer_auth(&who.access)
        .header("content-type", "application/pdf")
        .header(
            "content-disposition",
            format!("attachment; filename=\"{name}\""),
        )
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

async fn submit(
    app: &TestApp,
    who: &TestUser,
    deliverable: &str,
    body: Value,
) -> reqwest::Response {
    app.post_json(
        &format!("/api/v1/cohorts/walk/deliverables/{deliverable}/submissions"),
        Some(&who.access),
        body,
    )
    .await
}

async fn submitted(app: &TestApp, who: &TestUser, deliverable: &str, body: Value) -> Value {
    let resp = submit(app, who, deliverable, body).await;
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

fn scores(design: f64, tests: f64, docs: f64) -> Value {
    json!([
        {"criterion": "design", "score": design},
        {"criterion": "tests", "score": tests, "comment": "Edge cases covered."},
        {"criterion": "docs", "score": docs},
    ])
}

async fn review(app: &TestApp, who: &TestUser, submission: &str, body: Value) -> reqwest::Response {
    app.post_json(
        &format!("/api/v1/submissions/{submission}/reviews"),
        Some(&who.access),
        body,
    )
    .await
}

async fn reviewed(app: &TestApp, who: &TestUser, submission: &str, body: Value) -> Value {
    let resp = review(app, who, submission, body).await;
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

/// Everyone of the walk.
struct Cast {
    admin: TestUser,
    mia: TestUser,
    ada: TestUser,
    bob: TestUser,
    cy: TestUser,
    dan: TestUser,
}

/// The fixture course and the cohort `walk` (starting today, UTC, two peer reviews per
/// submission): mentor mia, learners ada, bob, cy and dan.
async fn cohort(app: &TestApp) -> Cast {
    let admin = app.admin("root").await;
    let cast = Cast {
        mia: app.verified_user("mia").await,
        ada: app.verified_user("ada").await,
        bob: app.verified_user("bob").await,
        cy: app.verified_user("cyd").await,
        dan: app.verified_user("dan").await,
        admin,
    };
    let resp = app
        .post_json(
            "/api/v1/courses",
            Some(&cast.admin.access),
            fixture_course(),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let resp = app
        .post_json(
            "/api/v1/cohorts",
            Some(&cast.admin.access),
            json!({"slug": "walk", "title": "Walk", "course": "fixture",
                   "starts_on": Utc::now().date_naive().to_string(), "timezone": "UTC",
                   "peer_reviews": 2, "enrolment": "invite"}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    for (handle, role) in [
        ("mia", "mentor"),
        ("ada", "learner"),
        ("bob", "learner"),
        ("cyd", "learner"),
        ("dan", "learner"),
    ] {
        let resp = app
            .post_json(
                "/api/v1/cohorts/walk/enrolments",
                Some(&cast.admin.access),
                json!({"handle": handle, "role": role}),
            )
            .await;
        assert_eq!(resp.status(), 201, "{handle}");
    }
    cast
}

async fn open_assignments(app: &TestApp, who: &TestUser) -> usize {
    let page = app
        .get_auth_json("/api/v1/me/review-assignments?status=open", &who.access)
        .await;
    page["items"].as_array().unwrap().len()
}

mod acceptance {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_local() {
        super::the_fixture_cohort_walk_gives_the_numbers_written_here(
            spawn_app(Backend::Sqlite).await,
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_s3() {
        let backend = Backend::postgres_or_skip();
        let s3 = S3Server::from_env_or_skip();
        if let (Some(backend), Some(s3)) = (backend, s3) {
            let app = spawn_app_with(backend, |s| s3.configure(s), None).await;
            super::the_fixture_cohort_walk_gives_the_numbers_written_here(app).await;
        }
    }
}

async fn the_fixture_cohort_walk_gives_the_numbers_written_here(app: TestApp) {
    let Cast {
        admin,
        mia,
        ada,
        bob,
        cy,
        dan,
    } = cohort(&app).await;

    // ada hands in a link only: the file the deliverable asks for is missing.
    let ada_sub = submitted(
        &app,
        &ada,
        "design-doc",
        json!({"summary": "Draft design.", "links": [{"url": "https://example.com/ada/design"}]}),
    )
    .await;
    assert_eq!(ada_sub["revision"], 1);
    assert_eq!(ada_sub["status"], "submitted");
    assert_eq!(ada_sub["late"], false);
    assert_eq!(ada_sub["evidence_missing"], json!(["file"]));
    assert_eq!(ada_sub["peer_reviewers"], 0, "nobody else has handed in");
    let ada_id = ada_sub["id"].as_str().unwrap().to_owned();

    // bob hands in a 5 MiB file and a link: complete; he and ada review each other.
    let big = pdf(5 * 1024 * 1024);
    let file = upload(&app, &bob, "design.pdf", big.clone()).await;
    let bob_sub = submitted(
        &app,
        &bob,
        "design-doc",
        json!({"summary": "Design with diagrams.", "links": [{"url": "https://example.com/bob", "label": "Slides"}],
               "uploads": [file]}),
    )
    .await;
    assert_eq!(bob_sub["evidence_missing"], json!([]));
    assert_eq!(bob_sub["current"]["uploads"][0]["size"], 5 * 1024 * 1024);
    assert_eq!(bob_sub["peer_reviewers"], 1);
    let bob_id = bob_sub["id"].as_str().unwrap().to_owned();

    // The deadline passes (an admin moves it an hour back); cy hands in late.
    let past = (Utc::now() - Duration::hours(1)).to_rfc3339();
    let resp = app
        .client
        .put(app.url("/api/v1/cohorts/walk/deadlines/design-doc"))
        .bearer_auth(&admin.access)
        .json(&json!({"due_at": past}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let cy_sub = submitted(
        &app,
        &cy,
        "design-doc",
        json!({"summary": "Late, but thorough.", "links": [{"url": "https://example.com/cy"}]}),
    )
    .await;
    assert_eq!(cy_sub["late"], true);
    assert_eq!(cy_sub["evidence_missing"], json!(["file"]));
    let cy_id = cy_sub["id"].as_str().unwrap().to_owned();

    // Every submission has two reviewers; every learner who handed in reviews two.
    for (who, id) in [(&ada, &ada_id), (&bob, &bob_id), (&cy, &cy_id)] {
        let view = app
            .get_auth_json(&format!("/api/v1/submissions/{id}"), &who.access)
            .await;
        assert_eq!(view["peer_reviewers"], 2, "{id}");
        assert_eq!(open_assignments(&app, who).await, 2);
    }
    assert_eq!(
        open_assignments(&app, &dan).await,
        0,
        "dan has not handed in"
    );

    // ada hands in a second revision with a file: complete now, still on time for her.
    let file = upload(&app, &ada, "design-v2.pdf", pdf(20_000)).await;
    let ada_sub = submitted(
        &app,
        &ada,
        "design-doc",
        json!({"summary": "Revised design.", "links": [{"url": "https://example.com/ada/design"}],
               "uploads": [file]}),
    )
    .await;
    assert_eq!(ada_sub["id"], ada_id.as_str());
    assert_eq!(ada_sub["revision"], 2);
    assert_eq!(ada_sub["status"], "resubmitted");
    assert_eq!(ada_sub["late"], false, "her first hand-in was on time");
    assert_eq!(
        ada_sub["current"]["late"], true,
        "this revision came after the deadline"
    );
    assert_eq!(ada_sub["evidence_missing"], json!([]));
    let revisions = app
        .get_auth_json(
            &format!("/api/v1/submissions/{ada_id}/revisions"),
            &ada.access,
        )
        .await;
    let numbers: Vec<i64> = revisions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["revision"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [2, 1]);

    // Reviews, with totals computed by hand: (3·design/4 + 2·tests/4 + 1·(docs-1)/4) / 6.
    let r = reviewed(
        &app,
        &mia,
        &ada_id,
        json!({"scores": scores(3.0, 2.0, 5.0), "feedback": "Good."}),
    )
    .await;
    assert_eq!(r["total"], 70.83);
    assert_eq!(r["role"], "mentor");
    assert_eq!(r["revision"], 2);
    let bob_on_ada = reviewed(
        &app,
        &bob,
        &ada_id,
        json!({"scores": scores(4.0, 4.0, 5.0)}),
    )
    .await;
    assert_eq!(bob_on_ada["total"], 100.0);
    let cy_on_ada = reviewed(&app, &cy, &ada_id, json!({"scores": scores(2.0, 2.0, 3.0)})).await;
    assert_eq!(cy_on_ada["total"], 50.0);
    let r = reviewed(
        &app,
        &mia,
        &bob_id,
        json!({"scores": scores(1.0, 1.0, 1.0), "request_revision": true}),
    )
    .await;
    assert_eq!(r["total"], 20.83);
    let ada_on_cy = reviewed(&app, &ada, &cy_id, json!({"scores": scores(4.0, 3.0, 4.0)})).await;
    assert_eq!(ada_on_cy["total"], 87.5);
    let r = reviewed(&app, &mia, &cy_id, json!({"scores": scores(4.0, 4.0, 4.0)})).await;
    assert_eq!(r["total"], 95.83);

    // Statuses: a mentor's review decides; a peer's alone makes it in_review.
    let status = async |id: &str| {
        app.get_auth_json(&format!("/api/v1/submissions/{id}"), &mia.access)
            .await["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(status(&ada_id).await, "reviewed");
    assert_eq!(status(&bob_id).await, "revision_requested");
    assert_eq!(status(&cy_id).await, "reviewed");
    assert_eq!(
        open_assignments(&app, &bob).await,
        1,
        "bob reviewed ada, not cy yet"
    );
    let done = app
        .get_auth_json("/api/v1/me/review-assignments?status=done", &bob.access)
        .await;
    assert_eq!(done["items"].as_array().unwrap().len(), 1);
    let cy_on_bob = reviewed(&app, &cy, &bob_id, json!({"scores": scores(4.0, 4.0, 5.0)})).await;
    assert_eq!(cy_on_bob["total"], 100.0);
    assert_eq!(
        status(&bob_id).await,
        "revision_requested",
        "a peer does not undo a mentor"
    );

    // One review per reviewer per revision; a new revision can be reviewed again.
    let resp = review(
        &app,
        &mia,
        &ada_id,
        json!({"scores": scores(3.0, 3.0, 3.0)}),
    )
    .await;
    assert_problem(resp, 409, "conflict").await;

    // What each sees: the author reads every review, peers' without their handles.
    let mine = app
        .get_auth_json(&format!("/api/v1/submissions/{ada_id}"), &ada.access)
        .await;
    let reviews = mine["reviews"].as_array().unwrap();
    assert_eq!(reviews.len(), 3);
    assert!(
        reviews
            .iter()
            .any(|r| r["role"] == "mentor" && r["reviewer"] == "mia")
    );
    assert!(
        reviews
            .iter()
            .filter(|r| r["role"] == "peer")
            .all(|r| r["reviewer"].is_null())
    );
    // A peer reads their own review only; the mentor reads every handle.
    let as_bob = app
        .get_auth_json(&format!("/api/v1/submissions/{ada_id}"), &bob.access)
        .await;
    assert_eq!(as_bob["reviews"].as_array().unwrap().len(), 1);
    let as_mia = app
        .get_auth_json(&format!("/api/v1/submissions/{ada_id}"), &mia.access)
        .await;
    assert!(
        as_mia["reviews"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["reviewer"].is_string())
    );

    // Ratings of peer reviews, by the author only, and reviewer quality for mentors.
    let rate = async |who: &TestUser, review: &Value, helpful: bool| {
        app.post_json(
            &format!("/api/v1/reviews/{}/rating", review["id"].as_str().unwrap()),
            Some(&who.access),
            json!({"helpful": helpful}),
        )
        .await
    };
    assert_eq!(rate(&ada, &bob_on_ada, true).await.status(), 200);
    assert_eq!(rate(&ada, &cy_on_ada, false).await.status(), 200);
    assert_problem(rate(&bob, &bob_on_ada, true).await, 403, "forbidden").await;
    let resp = app
        .post_json(
            &format!(
                "/api/v1/reviews/{}/rating",
                bob_on_ada["id"].as_str().unwrap()
            ),
            Some(&ada.access),
            json!({"helpful": "yes"}),
        )
        .await;
    assert_problem(resp, 422, "validation-failed").await;
    assert_problem(rate(&dan, &bob_on_ada, true).await, 404, "not-found").await;
    let quality = app
        .get_auth_json("/api/v1/cohorts/walk/reviewers", &mia.access)
        .await;
    let of = |handle: &str| {
        quality
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["reviewer"] == handle)
            .unwrap_or_else(|| panic!("{handle} in {quality}"))
            .clone()
    };
    // bob: 100 against the mentor's 70.83; cy: 50 against 70.83 and 100 against 20.83.
    assert_eq!(of("bob")["mean_abs_diff"], 29.17);
    assert_eq!(of("bob")["helpful_rate"], 1.0);
    assert_eq!(of("cyd")["mean_abs_diff"], 50.0);
    assert_eq!(of("cyd")["reviews"], 2);
    assert_eq!(of("cyd")["helpful_rate"], 0.0);
    assert_eq!(of("ada")["mean_abs_diff"], 8.33);
    assert!(of("ada")["helpful_rate"].is_null());
    assert_problem(
        app.get_auth("/api/v1/cohorts/walk/reviewers", &ada.access)
            .await,
        403,
        "forbidden",
    )
    .await;

    // Mentors' lists.
    let list = |q: &'static str| {
        let mia = &mia;
        let app = &app;
        async move {
            app.get_auth_json(&format!("/api/v1/cohorts/walk/submissions{q}"), &mia.access)
                .await["items"]
                .as_array()
                .unwrap()
                .len()
        }
    };
    assert_eq!(list("?deliverable=design-doc").await, 3);
    assert_eq!(list("?status=reviewed").await, 2);
    assert_eq!(list("?deliverable=final-demo").await, 0);
    let mine = app
        .get_auth_json("/api/v1/me/submissions", &ada.access)
        .await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);

    // The cited file is readable by those who may see the submission, and by nobody else.
    let file = bob_sub["current"]["uploads"][0]["id"].as_str().unwrap();
    let path = format!("/api/v1/uploads/{file}");
    let resp = app.get_auth(&path, &mia.access).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.bytes().await.unwrap().len(), big.len());
    assert_eq!(
        app.get_auth(&path, &cy.access).await.status(),
        200,
        "cy reviews bob"
    );
    assert_problem(app.get_auth(&path, &dan.access).await, 404, "not-found").await;
    // A cited file cannot be deleted from under its revision.
    let resp = app.delete_auth(&path, &bob.access).await;
    assert_problem(resp, 409, "conflict").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submissions_bola_walk_sqlite() {
    bola_walk(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submissions_bola_walk_postgres() {
    if let Some(backend) = Backend::postgres_or_skip() {
        bola_walk(backend).await;
    }
}

/// Every object route of the learning platform, walked by those who must not reach the
/// object: another learner of the same cohort, a learner of another cohort and a mentor
/// of another cohort get 404 (403 where the object is public: a cohort's lists), and so
/// do anonymous callers.
async fn bola_walk(backend: Backend) {
    let app = spawn_app(backend).await;
    let Cast {
        admin,
        mia,
        ada,
        bob,
        dan,
        ..
    } = cohort(&app).await;
    // Another cohort of the same course, with its own mentor and learner.
    let resp = app
        .post_json(
            "/api/v1/cohorts",
            Some(&admin.access),
            json!({"slug": "other", "title": "Other", "course": "fixture",
                   "starts_on": "2027-01-04", "timezone": "UTC",
                   "peer_reviews": 1, "enrolment": "open"}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let olga = app.verified_user("olga").await;
    let otto = app.verified_user("otto").await;
    app.post_json(
        "/api/v1/cohorts/other/enrolments",
        Some(&admin.access),
        json!({"handle": "olga", "role": "mentor"}),
    )
    .await;
    app.post_json("/api/v1/cohorts/other/join", Some(&otto.access), json!({}))
        .await;

    let file = upload(&app, &ada, "notes.pdf", pdf(1000)).await;
    let sub = submitted(
        &app,
        &ada,
        "w1-notes",
        json!({"summary": "Notes.", "uploads": [file]}),
    )
    .await;
    let id = sub["id"].as_str().unwrap().to_owned();
    // bob hands in too, so that ada's submission has a peer (bob) who may see it.
    submitted(&app, &bob, "w1-notes", json!({"summary": "Mine."})).await;
    let peer_review = reviewed(&app, &bob, &id, json!({"scores": scores(1.0, 1.0, 1.0)})).await;
    let review_id = peer_review["id"].as_str().unwrap().to_owned();

    let gets = [
        format!("/api/v1/submissions/{id}"),
        format!("/api/v1/submissions/{id}/revisions"),
        format!("/api/v1/uploads/{file}"),
    ];
    for outsider in [&dan, &otto, &olga] {
        for path in &gets {
            assert_problem(app.get_auth(path, &outsider.access).await, 404, "not-found").await;
        }
        let resp = review(
            &app,
            outsider,
            &id,
            json!({"scores": scores(1.0, 1.0, 1.0)}),
        )
        .await;
        assert_problem(resp, 404, "not-found").await;
        let resp = app
            .post_json(
                &format!("/api/v1/reviews/{review_id}/rating"),
                Some(&outsider.access),
                json!({"helpful": true}),
            )
            .await;
        assert_problem(resp, 404, "not-found").await;
        assert_problem(
            app.delete_auth(&format!("/api/v1/uploads/{file}"), &outsider.access)
                .await,
            404,
            "not-found",
        )
        .await;
        // The cohort is public; its lists are not.
        for list in ["submissions", "enrolments", "reviewers"] {
            let resp = app
                .get_auth(&format!("/api/v1/cohorts/walk/{list}"), &outsider.access)
                .await;
            assert_problem(resp, 403, "forbidden").await;
        }
    }
    // Nor can someone hand in to a cohort they are not a learner of.
    for outsider in [&otto, &olga] {
        let resp = submit(&app, outsider, "w1-notes", json!({"summary": "x"})).await;
        assert_problem(resp, 403, "forbidden").await;
    }
    // Those who may: the learner, the cohort's mentor, the assigned peer, an admin.
    for insider in [&ada, &mia, &bob, &admin] {
        assert_eq!(app.get_auth(&gets[0], &insider.access).await.status(), 200);
    }
    // To anonymous callers the objects are not there.
    for path in &gets {
        assert_problem(app.get(path).await, 404, "not-found").await;
    }
    // A mentor of another cohort is no mentor here.
    let resp = review(&app, &olga, &id, json!({"scores": scores(1.0, 1.0, 1.0)})).await;
    assert_problem(resp, 404, "not-found").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_hand_ins_and_reviews_are_refused_naming_the_field_sqlite() {
    bad_input(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_hand_ins_and_reviews_are_refused_naming_the_field_postgres() {
    if let Some(backend) = Backend::postgres_or_skip() {
        bad_input(backend).await;
    }
}

async fn bad_input(backend: Backend) {
    let app = spawn_app(backend).await;
    let Cast {
        admin,
        mia,
        ada,
        bob,
        ..
    } = cohort(&app).await;
    let resp = app
        .post_json(
            "/api/v1/topics",
            Some(&admin.access),
            json!({"slug": "drafts", "title": "Drafts"}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let fields = async |resp: reqwest::Response| -> Vec<String> {
        let problem = assert_problem(resp, 422, "validation-failed").await;
        problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect()
    };
    // A note of someone else's that is a draft, a link that is not http(s), an upload of
    // someone else's, and an empty summary.
    let draft = app
        .post_json(
            "/api/v1/notes",
            Some(&bob.access),
            json!({"title": "Bob's draft", "body_md": "Not yet.", "kind": "concept",
                   "topics": ["drafts"], "status": "draft"}),
        )
        .await;
    assert_eq!(draft.status(), 201);
    let draft: Value = draft.json().await.unwrap();
    let bobs_file = upload(&app, &bob, "b.pdf", pdf(100)).await;
    let resp = submit(
        &app,
        &ada,
        "w1-notes",
        json!({"summary": " ", "links": [{"url": "javascript:alert(1)"}, {"url": "not a url"}],
               "notes": [draft["slug"]], "uploads": [bobs_file]}),
    )
    .await;
    assert_eq!(
        fields(resp).await,
        [
            "summary",
            "links[0].url",
            "links[1].url",
            "notes[0]",
            "uploads[0]"
        ]
    );
    let resp = submit(
        &app,
        &ada,
        "w1-notes",
        json!({"summary": "x", "notes": ["Not A Slug"]}),
    )
    .await;
    assert_eq!(fields(resp).await, ["notes[0]"]);
    let many: Vec<Value> = (0..21)
        .map(|i| json!({"url": format!("https://e.com/{i}")}))
        .collect();
    let resp = submit(
        &app,
        &ada,
        "w1-notes",
        json!({"summary": "x", "links": many}),
    )
    .await;
    assert_eq!(fields(resp).await, ["links"]);
    let resp = submit(
        &app,
        &ada,
        "w1-notes",
        json!({"summary": "x", "uploads": ["nope"]}),
    )
    .await;
    assert_problem(resp, 422, "validation-failed").await;
    let resp = submit(&app, &ada, "w1-notes", json!({"summary": 5})).await;
    assert_problem(resp, 422, "validation-failed").await;
    let resp = submit(&app, &ada, "w1-notes", json!({"summary": "x", "extra": 1})).await;
    assert_problem(resp, 422, "validation-failed").await;
    // A deliverable of another course, and an unknown cohort.
    let resp = submit(&app, &ada, "lifecycle-notes", json!({"summary": "x"})).await;
    assert_problem(resp, 404, "not-found").await;
    let resp = app
        .post_json(
            "/api/v1/cohorts/nope/deliverables/w1-notes/submissions",
            Some(&ada.access),
            json!({"summary": "x"}),
        )
        .await;
    assert_problem(resp, 404, "not-found").await;
    // A mentor is not a learner: they do not hand in.
    let resp = submit(&app, &mia, "w1-notes", json!({"summary": "x"})).await;
    assert_problem(resp, 403, "forbidden").await;

    let sub = submitted(
        &app,
        &ada,
        "w1-notes",
        json!({"summary": "Unicode ✓ — naïve café"}),
    )
    .await;
    let id = sub["id"].as_str().unwrap();
    assert_eq!(sub["current"]["summary"], "Unicode ✓ — naïve café");
    // Scores out of range, unknown, twice, missing; a peer asking for a revision.
    let resp = review(&app, &mia, id, json!({"scores": scores(5.0, -1.0, 0.0)})).await;
    assert_eq!(
        fields(resp).await,
        ["scores[0].score", "scores[1].score", "scores[2].score"]
    );
    let resp = review(
        &app,
        &mia,
        id,
        json!({"scores": [{"criterion": "design", "score": 1}, {"criterion": "style", "score": 1}]}),
    )
    .await;
    assert_eq!(
        fields(resp).await,
        ["scores[1].criterion", "scores", "scores"]
    );
    let resp = review(&app, &mia, id, json!({"scores": []})).await;
    assert_eq!(fields(resp).await, ["scores"]);
    let resp = review(&app, &mia, id, json!({"scores": "high"})).await;
    assert_problem(resp, 422, "validation-failed").await;
    let resp = review(&app, &ada, id, json!({"scores": scores(1.0, 1.0, 1.0)})).await;
    assert_problem(resp, 403, "forbidden").await;
    submitted(&app, &bob, "w1-notes", json!({"summary": "Mine."})).await;
    let resp = review(
        &app,
        &bob,
        id,
        json!({"scores": scores(1.0, 1.0, 1.0), "request_revision": true}),
    )
    .await;
    assert_eq!(fields(resp).await, ["request_revision"]);
    let resp = app
        .get_auth("/api/v1/submissions/not-a-uuid", &ada.access)
        .await;
    assert_problem(resp, 400, "bad-request").await;
    let resp = app
        .get_auth("/api/v1/cohorts/walk/submissions?status=lost", &mia.access)
        .await;
    assert_problem(resp, 422, "validation-failed").await;
    for path in [
        "/api/v1/me/review-assignments?status=lost",
        "/api/v1/me/submissions?limit=0",
        "/api/v1/me/cohorts?cursor=nope",
    ] {
        assert_problem(
            app.get_auth(path, &ada.access).await,
            422,
            "validation-failed",
        )
        .await;
    }
}
