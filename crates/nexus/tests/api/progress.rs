//! Progress over HTTP on a manual clock: a fixture cohort whose week scores, provisional
//! flags, criteria, evidence completeness, trends, at-risk reasons, ledger counts and CSV
//! bytes are worked out by hand below; retrospectives and the ledger's own rules; the
//! BOLA walk over every new route; bad input.

use chrono::{DateTime, TimeZone, Utc};
use nexus_service::clock::Clock;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, TestUser, assert_problem, spawn_app_on};

fn at(m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, m, d, h, 0, 0).unwrap()
}

/// Four weeks, each with a deliverable asking for a link, and a project deliverable
/// (`design-doc`, due with week 2). The rubric weighs design 3, tests 2 (both 0-4) and
/// docs 1 (1-5).
fn course() -> Value {
    let week = |n: u32, slug: &str| {
        json!({"number": n, "title": format!("Week {n}"), "summary": "",
               "objectives": [{"code": format!("W{n}.1"), "bloom": "apply", "text": "Build it."}],
               "labs": [], "readings": [],
               "deliverable": {"slug": slug, "title": format!("Deliverable {n}"),
                               "description": "", "evidence": ["link"], "rubric": "core"}})
    };
    json!({
        "slug": "progress-course", "title": "Progress course", "summary": "Four weeks.",
        "level": "intermediate", "duration_weeks": 4, "weekly_hours": 5,
        "prerequisites": [], "outcomes": [],
        "phases": [{"title": "All", "first_week": 1, "last_week": 4}],
        "weeks": [week(1, "w1-cache"), week(2, "w2-queue"), week(3, "w3-scale"), week(4, "w4-ops")],
        "projects": [{"slug": "capstone", "title": "Capstone", "summary": "", "deliverables": [
            {"slug": "design-doc", "title": "Design document", "description": "",
             "evidence": ["link"], "rubric": "core", "due_week": 2}
        ]}],
        "rubrics": [{"slug": "core", "title": "Core", "criteria": [
            {"key": "design", "title": "Design", "description": "", "weight": 3.0, "min": 0, "max": 4, "levels": []},
            {"key": "tests", "title": "Tests", "description": "", "weight": 2.0, "min": 0, "max": 4, "levels": []},
            {"key": "docs", "title": "Docs", "description": "", "weight": 1.0, "min": 1, "max": 5, "levels": []}
        ]}],
    })
}

struct Cast {
    admin: TestUser,
    mia: TestUser,
    ada: TestUser,
    bob: TestUser,
    cyd: TestUser,
    eve: TestUser,
}

/// The cohort `spring` of [`course`], starting Monday 1 March 2027 in UTC (week n ends
/// on day 7n at 23:59 UTC), one peer review per hand-in: mentor mia; learners ada, bob
/// and cyd; eve is signed in and in no cohort.
async fn cohort(app: &TestApp, clock: &Clock) -> Cast {
    clock.set(at(3, 1, 9));
    let cast = Cast {
        admin: app.admin("root").await,
        mia: app.verified_user("mia").await,
        ada: app.verified_user("ada").await,
        bob: app.verified_user("bob").await,
        cyd: app.verified_user("cyd").await,
        eve: app.verified_user("eve").await,
    };
    let ok = |r: reqwest::Response, want: u16| async move {
        let status = r.status().as_u16();
        assert_eq!(status, want, "{}", r.text().await.unwrap());
    };
    ok(
        app.post_json("/api/v1/courses", Some(&cast.admin.access), course())
            .await,
        201,
    )
    .await;
    ok(
        app.post_json(
            "/api/v1/cohorts",
            Some(&cast.admin.access),
            json!({"slug": "spring", "title": "Spring", "course": "progress-course",
                   "starts_on": "2027-03-01", "timezone": "UTC", "peer_reviews": 1,
                   "enrolment": "invite"}),
        )
        .await,
        201,
    )
    .await;
    for (handle, role) in [
        ("mia", "mentor"),
        ("ada", "learner"),
        ("bob", "learner"),
        ("cyd", "learner"),
    ] {
        ok(
            app.post_json(
                "/api/v1/cohorts/spring/enrolments",
                Some(&cast.admin.access),
                json!({"handle": handle, "role": role}),
            )
            .await,
            201,
        )
        .await;
    }
    cast
}

async fn hand_in(app: &TestApp, who: &TestUser, deliverable: &str, link: bool) -> String {
    let links = if link {
        json!([{"url": "https://example.com/work", "label": "Work"}])
    } else {
        json!([])
    };
    let resp = app
        .post_json(
            &format!("/api/v1/cohorts/spring/deliverables/{deliverable}/submissions"),
            Some(&who.access),
            json!({"summary": format!("{deliverable} done."), "links": links}),
        )
        .await;
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    let body: Value = resp.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

async fn review(
    app: &TestApp,
    who: &TestUser,
    submission: &str,
    design: u32,
    tests: u32,
    docs: u32,
) {
    let resp = app
        .post_json(
            &format!("/api/v1/submissions/{submission}/reviews"),
            Some(&who.access),
            json!({"scores": [
                {"criterion": "design", "score": design},
                {"criterion": "tests", "score": tests},
                {"criterion": "docs", "score": docs}
            ], "feedback": "Reviewed."}),
        )
        .await;
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
}

async fn retrospective(app: &TestApp, who: &TestUser, week: u32) -> reqwest::Response {
    app.client
        .put(app.url(&format!(
            "/api/v1/cohorts/spring/weeks/{week}/retrospective"
        )))
        .bearer_auth(&who.access)
        .json(
            &json!({"retain": "Measure first.", "improve": "Smaller steps.", "scale": "Shard it."}),
        )
        .send()
        .await
        .unwrap()
}

async fn log(app: &TestApp, who: &TestUser, body: Value) -> Value {
    let resp = app
        .post_json("/api/v1/me/ledger", Some(&who.access), body)
        .await;
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    resp.json().await.unwrap()
}

/// The fixture's history, from 1 to 23 March 2027 (the clock ends on Tuesday of week 4).
async fn history(app: &TestApp, clock: &Clock, c: &Cast) {
    // Week 1. bob logs a high-severity risk that stays open; ada a defect she closes in
    // week 2.
    clock.set(at(3, 1, 10));
    log(
        app,
        &c.bob,
        json!({"kind": "risk", "title": "No load test yet", "severity": "high",
                            "week": 1, "cohort": "spring"}),
    )
    .await;
    let defect = log(
        app,
        &c.ada,
        json!({"kind": "defect", "title": "Stale reads", "severity": "medium",
                                         "week": 1, "cohort": "spring"}),
    )
    .await;
    clock.set(at(3, 3, 12));
    let ada_w1 = hand_in(app, &c.ada, "w1-cache", true).await;
    let bob_w1 = hand_in(app, &c.bob, "w1-cache", true).await;
    review(app, &c.mia, &ada_w1, 4, 3, 5).await; // (3 + 1.5 + 1) / 6 = 91.67
    review(app, &c.mia, &bob_w1, 2, 2, 3).await; // (1.5 + 1 + 0.5) / 6 = 50

    // Week 2. ada hands in week 2 without its link; only bob (her peer) reviews it.
    clock.set(at(3, 8, 10));
    let resp = app
        .patch_json(
            &format!("/api/v1/me/ledger/{}", defect["id"].as_str().unwrap()),
            Some(&c.ada.access),
            json!({"status": "closed"}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    clock.set(at(3, 9, 12));
    let ada_w2 = hand_in(app, &c.ada, "w2-queue", false).await;
    let bob_w2 = hand_in(app, &c.bob, "w2-queue", true).await;
    let ada_doc = hand_in(app, &c.ada, "design-doc", true).await;
    hand_in(app, &c.bob, "design-doc", true).await;
    review(app, &c.bob, &ada_w2, 3, 3, 4).await; // a peer: 75, provisional
    review(app, &c.mia, &bob_w2, 1, 1, 2).await; // 25
    review(app, &c.mia, &ada_doc, 4, 4, 5).await;
    clock.set(at(3, 14, 12));
    assert_eq!(retrospective(app, &c.ada, 2).await.status(), 201);

    // Week 3. ada's first revision scores 50, her second 95.83, her third is not
    // reviewed: the week's score is the second's. bob does not hand in.
    clock.set(at(3, 16, 12));
    let ada_w3 = hand_in(app, &c.ada, "w3-scale", true).await;
    review(app, &c.mia, &ada_w3, 2, 2, 3).await;
    hand_in(app, &c.ada, "w3-scale", true).await;
    review(app, &c.mia, &ada_w3, 4, 4, 4).await; // (3 + 2 + 0.75) / 6 = 95.83
    hand_in(app, &c.ada, "w3-scale", true).await;
    clock.set(at(3, 17, 12));
    log(
        app,
        &c.ada,
        json!({"kind": "risk", "title": "Single database", "severity": "high",
                            "week": 3, "cohort": "spring"}),
    )
    .await;
    clock.set(at(3, 20, 12));
    assert_eq!(retrospective(app, &c.ada, 3).await.status(), 201);
    // Rewriting is a 200, and the week still counts once.
    assert_eq!(retrospective(app, &c.ada, 3).await.status(), 200);

    clock.set(at(3, 23, 12));
}

fn week(p: &Value, n: usize) -> &Value {
    &p["weeks"][n - 1]
}

fn reasons(p: &Value) -> Vec<&str> {
    p["at_risk"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_progress_fixture_gives_the_numbers_worked_out_by_hand_sqlite() {
    progress_fixture(Backend::Sqlite).await;
}

#[tokio::test]
async fn the_progress_fixture_gives_the_numbers_worked_out_by_hand_postgres() {
    if let Some(backend) = Backend::postgres_or_skip() {
        progress_fixture(backend).await;
    }
}

async fn progress_fixture(backend: Backend) {
    let clock = Clock::manual(at(3, 1, 9));
    let app = spawn_app_on(backend, clock.clone()).await;
    let c = cohort(&app, &clock).await;
    history(&app, &clock, &c).await;

    // ada: on track.
    let ada = app
        .get_auth_json("/api/v1/cohorts/spring/progress/ada", &c.ada.access)
        .await;
    assert_eq!(ada["learner"], "ada");
    assert_eq!(ada["as_of"], "2027-03-23T12:00:00Z");
    assert_eq!(ada["weeks"].as_array().unwrap().len(), 4);
    let w1 = week(&ada, 1);
    assert_eq!(w1["score"], 91.67);
    assert_eq!(w1["provisional"], false);
    assert_eq!(
        w1["criteria"],
        json!({"design": 100.0, "tests": 75.0, "docs": 100.0})
    );
    assert_eq!(w1["due"], "2027-03-07T23:59:00Z");
    assert_eq!(
        (
            &w1["submitted"],
            &w1["reviewed"],
            &w1["evidence_complete"],
            &w1["retrospective"]
        ),
        (&json!(true), &json!(true), &json!(true), &json!(false))
    );
    let w2 = week(&ada, 2);
    assert_eq!(w2["score"], 75.0);
    assert_eq!(w2["provisional"], true);
    assert_eq!(
        w2["criteria"],
        json!({"design": 75.0, "tests": 75.0, "docs": 75.0})
    );
    assert_eq!(
        (
            &w2["submitted"],
            &w2["reviewed"],
            &w2["evidence_complete"],
            &w2["retrospective"]
        ),
        (&json!(true), &json!(false), &json!(false), &json!(true))
    );
    let w3 = week(&ada, 3);
    assert_eq!(w3["score"], 95.83);
    assert_eq!(w3["provisional"], false);
    assert_eq!(
        w3["criteria"],
        json!({"design": 100.0, "tests": 100.0, "docs": 75.0})
    );
    assert_eq!(w3["retrospective"], true);
    let w4 = week(&ada, 4);
    assert_eq!(w4["score"], Value::Null);
    assert_eq!(w4["submitted"], false);
    assert_eq!(w4["due"], "2027-03-28T23:59:00Z");
    // Due: w1, w2, design-doc, w3; complete with a mentor review: all but w2.
    assert_eq!(ada["evidence_completeness"], 0.75);
    // Weeks 1-3 at 91.67, 75, 95.83: slope (95.83 - 91.67) / 2.
    assert_eq!(ada["trend"], 2.08);
    assert_eq!(ada["at_risk"], json!([]));
    assert_eq!(ada["ledger"]["open"], 1);
    assert_eq!(
        ada["ledger"]["open_by_week"],
        json!([
            {"week": 1, "open": 1, "high": 0},
            {"week": 2, "open": 0, "high": 0},
            {"week": 3, "open": 1, "high": 1},
            {"week": 4, "open": 1, "high": 1}
        ])
    );

    // bob: every reason but one kind.
    let bob = app
        .get_auth_json("/api/v1/cohorts/spring/progress/bob", &c.mia.access)
        .await;
    assert_eq!(week(&bob, 1)["score"], 50.0);
    assert_eq!(week(&bob, 2)["score"], 25.0);
    assert_eq!(
        week(&bob, 2)["criteria"],
        json!({"design": 25.0, "tests": 25.0, "docs": 25.0})
    );
    assert_eq!(week(&bob, 3)["submitted"], false);
    assert_eq!(bob["evidence_completeness"], 0.5);
    assert_eq!(bob["trend"], -25.0);
    assert_eq!(
        bob["at_risk"],
        json!([
            {"reason": "missed_deadline",
             "detail": "`w3-scale` was due 2027-03-21T23:59:00+00:00 and has not been handed in"},
            {"reason": "low_scores", "detail": "weeks 1 and 2 scored 50 and 25"},
            {"reason": "falling_trend",
             "detail": "week scores change by -25 points a week over weeks 1-2"},
            {"reason": "stale_high_risk",
             "detail": "high-severity item `No load test yet` has been open for 22 days"},
            {"reason": "no_retrospective", "detail": "no retrospective for weeks 2 and 3"}
        ])
    );
    assert_eq!(
        bob["ledger"]["open_by_week"],
        json!([
            {"week": 1, "open": 1, "high": 1},
            {"week": 2, "open": 1, "high": 1},
            {"week": 3, "open": 1, "high": 1},
            {"week": 4, "open": 1, "high": 1}
        ])
    );

    // cyd handed in nothing.
    let cyd = app
        .get_auth_json("/api/v1/cohorts/spring/progress/cyd", &c.admin.access)
        .await;
    assert_eq!(cyd["evidence_completeness"], 0.0);
    assert_eq!(cyd["trend"], Value::Null);
    assert_eq!(
        reasons(&cyd),
        [
            "missed_deadline",
            "missed_deadline",
            "missed_deadline",
            "missed_deadline",
            "no_retrospective"
        ]
    );

    // The cohort's table, most at risk first (bob and cyd tie on five reasons).
    let table = app
        .get_auth_json("/api/v1/cohorts/spring/progress", &c.mia.access)
        .await;
    let order: Vec<&str> = table["learners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["learner"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["bob", "cyd", "ada"]);
    let ada_row = &table["learners"][2];
    assert_eq!(
        (&ada_row["due"], &ada_row["submitted"], &ada_row["scored"]),
        (&json!(4), &json!(4), &json!(3))
    );
    assert_eq!(ada_row["latest_score"], 95.83);
    assert_eq!(ada_row["mean_score"], 87.5);
    let by_handle = app
        .get_auth_json("/api/v1/cohorts/spring/progress?sort=handle", &c.mia.access)
        .await;
    assert_eq!(by_handle["learners"][0]["learner"], "ada");

    // The same table as CSV, byte for byte; cyd's display name would run as a formula.
    let resp = app
        .patch_json(
            "/api/v1/me",
            Some(&c.cyd.access),
            json!({"display_name": "=HYPERLINK(\"http://x\")"}),
        )
        .await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let resp = app
        .client
        .get(app.url("/api/v1/cohorts/spring/progress"))
        .bearer_auth(&c.mia.access)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "text/csv; charset=utf-8; header=present"
    );
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"spring-progress.csv\""
    );
    assert_eq!(
        resp.text().await.unwrap(),
        "learner,display_name,due,submitted,scored,latest_score,mean_score,\
         evidence_completeness,trend,open_ledger_items,at_risk\r\n\
         bob,bob,4,3,2,25,37.5,0.5,-25,1,\
         missed_deadline; low_scores; falling_trend; stale_high_risk; no_retrospective\r\n\
         cyd,\"'=HYPERLINK(\"\"http://x\"\")\",4,0,0,,,0,,0,\
         missed_deadline; missed_deadline; missed_deadline; missed_deadline; no_retrospective\r\n\
         ada,ada,4,4,3,95.83,87.5,0.75,2.08,1,\r\n"
    );

    // A retrospective: the learner's own, and the mentor's read of it.
    let own = app
        .get_auth_json(
            "/api/v1/cohorts/spring/weeks/2/retrospective",
            &c.ada.access,
        )
        .await;
    assert_eq!(own["retain"], "Measure first.");
    let read = app
        .get_auth_json(
            "/api/v1/cohorts/spring/weeks/2/retrospective?learner=ada",
            &c.mia.access,
        )
        .await;
    assert_eq!(read["learner"], "ada");
    assert_eq!(read["scale"], "Shard it.");
}

#[tokio::test]
async fn progress_routes_refuse_whoever_may_not_see_them_sqlite() {
    bola_walk(Backend::Sqlite).await;
}

#[tokio::test]
async fn progress_routes_refuse_whoever_may_not_see_them_postgres() {
    if let Some(backend) = Backend::postgres_or_skip() {
        bola_walk(backend).await;
    }
}

async fn bola_walk(backend: Backend) {
    let clock = Clock::manual(at(3, 1, 9));
    let app = spawn_app_on(backend, clock.clone()).await;
    let c = cohort(&app, &clock).await;
    clock.set(at(3, 9, 12));
    assert_eq!(retrospective(&app, &c.ada, 1).await.status(), 201);
    let item = log(
        &app,
        &c.ada,
        json!({"kind": "debt", "title": "Copy-pasted handler",
                                        "severity": "low", "week": 1, "cohort": "spring"}),
    )
    .await;
    let item = format!("/api/v1/me/ledger/{}", item["id"].as_str().unwrap());

    // Another learner and an outsider see neither ada's progress nor her retrospective.
    for who in [&c.bob, &c.eve] {
        assert_problem(
            app.get_auth("/api/v1/cohorts/spring/progress/ada", &who.access)
                .await,
            404,
            "not-found",
        )
        .await;
        assert_problem(
            app.get_auth(
                "/api/v1/cohorts/spring/weeks/1/retrospective?learner=ada",
                &who.access,
            )
            .await,
            404,
            "not-found",
        )
        .await;
        assert_problem(
            app.get_auth("/api/v1/cohorts/spring/progress", &who.access)
                .await,
            403,
            "forbidden",
        )
        .await;
        // Nor ada's ledger item, to read, change or remove.
        assert_problem(app.get_auth(&item, &who.access).await, 404, "not-found").await;
        assert_problem(
            app.patch_json(&item, Some(&who.access), json!({"status": "closed"}))
                .await,
            404,
            "not-found",
        )
        .await;
        assert_problem(app.delete_auth(&item, &who.access).await, 404, "not-found").await;
    }
    // A mentor's handle is no learner's progress; an unknown handle neither.
    for handle in ["mia", "nobody", "x"] {
        assert_problem(
            app.get_auth(
                &format!("/api/v1/cohorts/spring/progress/{handle}"),
                &c.admin.access,
            )
            .await,
            404,
            "not-found",
        )
        .await;
    }
    // Anonymous callers are asked to sign in.
    for path in [
        "/api/v1/cohorts/spring/progress",
        "/api/v1/cohorts/spring/progress/ada",
        "/api/v1/cohorts/spring/weeks/1/retrospective",
        "/api/v1/me/ledger",
    ] {
        assert_problem(app.get(path).await, 401, "unauthenticated").await;
    }
    // Only the cohort's active learners write retrospectives.
    for who in [&c.mia, &c.eve] {
        assert_problem(retrospective(&app, who, 1).await, 403, "forbidden").await;
    }
    // ada's item is still there, unchanged.
    let still = app.get_auth_json(&item, &c.ada.access).await;
    assert_eq!(still["status"], "open");
    assert_eq!(app.delete_auth(&item, &c.ada.access).await.status(), 204);
    assert_problem(app.get_auth(&item, &c.ada.access).await, 404, "not-found").await;
}

#[tokio::test]
async fn bad_retrospectives_and_ledger_items_are_refused_naming_the_field_sqlite() {
    bad_input(Backend::Sqlite).await;
}

#[tokio::test]
async fn bad_retrospectives_and_ledger_items_are_refused_naming_the_field_postgres() {
    if let Some(backend) = Backend::postgres_or_skip() {
        bad_input(backend).await;
    }
}

async fn field_error(resp: reqwest::Response, field: &str) {
    let body = assert_problem(resp, 422, "validation-failed").await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&field), "{field} not in {body}");
}

async fn bad_input(backend: Backend) {
    let clock = Clock::manual(at(3, 1, 9));
    let app = spawn_app_on(backend, clock.clone()).await;
    let c = cohort(&app, &clock).await;
    let put = |week: &str, body: Value| {
        let req = app
            .client
            .put(app.url(&format!(
                "/api/v1/cohorts/spring/weeks/{week}/retrospective"
            )))
            .bearer_auth(&c.ada.access)
            .json(&body);
        async move { req.send().await.unwrap() }
    };
    // Week 2 has not begun on 1 March.
    assert_problem(
        put("2", json!({"retain": "a", "improve": "b", "scale": "c"})).await,
        409,
        "conflict",
    )
    .await;
    clock.set(at(3, 9, 12));
    for week in ["0", "5", "99999999999"] {
        let resp = put(week, json!({"retain": "a", "improve": "b", "scale": "c"})).await;
        assert!(
            [400, 404].contains(&resp.status().as_u16()),
            "week {week}: {}",
            resp.status()
        );
    }
    field_error(
        put("1", json!({"retain": " ", "improve": "", "scale": ""})).await,
        "retain",
    )
    .await;
    field_error(
        put(
            "1",
            json!({"retain": "x".repeat(4001), "improve": "", "scale": ""}),
        )
        .await,
        "retain",
    )
    .await;
    field_error(
        put(
            "1",
            json!({"retain": "ok", "improve": "a\u{0}b", "scale": ""}),
        )
        .await,
        "improve",
    )
    .await;
    let resp = put(
        "1",
        json!({"retain": "ok", "improve": "", "scale": "", "extra": 1}),
    )
    .await;
    assert_eq!(resp.status(), 422);
    let resp = put("1", json!({"retain": 5, "improve": "", "scale": ""})).await;
    assert_eq!(resp.status(), 422);
    // Unicode is text like any other.
    let resp = put(
        "1",
        json!({"retain": "Ünïcødé ✓ 测试", "improve": "", "scale": ""}),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["retain"], "Ünïcødé ✓ 测试");

    let post = |body: Value| app.post_json("/api/v1/me/ledger", Some(&c.ada.access), body);
    let good =
        json!({"kind": "risk", "title": "t", "severity": "low", "week": 1, "cohort": "spring"});
    let with = |key: &str, value: Value| {
        let mut b = good.clone();
        b[key] = value;
        b
    };
    field_error(post(with("title", json!(""))).await, "title").await;
    field_error(post(with("title", json!("t".repeat(201)))).await, "title").await;
    field_error(
        post(with("detail", json!("d".repeat(4001)))).await,
        "detail",
    )
    .await;
    // The course has four weeks; a personal item may name up to 104.
    field_error(post(with("week", json!(5))).await, "week").await;
    field_error(post(with("week", json!(0))).await, "week").await;
    let personal =
        post(json!({"kind": "risk", "title": "t", "severity": "low", "week": 104})).await;
    assert_eq!(personal.status(), 201);
    let personal: Value = personal.json().await.unwrap();
    assert_eq!(personal["cohort"], Value::Null);
    // A cohort that does not exist, or one the caller is no learner of.
    field_error(
        post(with("cohort", json!("no-such-cohort"))).await,
        "cohort",
    )
    .await;
    for bad in [
        with("kind", json!("bug")),
        with("severity", json!("critical")),
        with("week", json!(-1)),
        with("week", json!("one")),
        json!({"title": "t"}),
        json!([]),
    ] {
        let resp = post(bad.clone()).await;
        assert_eq!(resp.status(), 422, "{bad}");
    }
    let mentor_item = app
        .post_json("/api/v1/me/ledger", Some(&c.mia.access), good.clone())
        .await;
    field_error(mentor_item, "cohort").await;

    // Updates follow the same rules; the cohort cannot be changed.
    let item = log(&app, &c.ada, good.clone()).await;
    let path = format!("/api/v1/me/ledger/{}", item["id"].as_str().unwrap());
    field_error(
        app.patch_json(&path, Some(&c.ada.access), json!({"week": 9}))
            .await,
        "week",
    )
    .await;
    field_error(
        app.patch_json(&path, Some(&c.ada.access), json!({"title": "  "}))
            .await,
        "title",
    )
    .await;
    let resp = app
        .patch_json(&path, Some(&c.ada.access), json!({"cohort": "other"}))
        .await;
    assert_eq!(resp.status(), 422);
    // Closing stamps closed_at; opening again clears it.
    let closed: Value = app
        .patch_json(&path, Some(&c.ada.access), json!({"status": "closed"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(closed["closed_at"], "2027-03-09T12:00:00Z");
    let open: Value = app
        .patch_json(
            &path,
            Some(&c.ada.access),
            json!({"status": "open", "severity": "high"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(open["closed_at"], Value::Null);
    assert_eq!(open["severity"], "high");
    // Filters and a malformed cursor or id.
    let list = app
        .get_auth_json("/api/v1/me/ledger?severity=high&status=open", &c.ada.access)
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let list = app
        .get_auth_json("/api/v1/me/ledger?cohort=no-such-cohort", &c.ada.access)
        .await;
    assert_eq!(list["items"], json!([]));
    for q in [
        "?cursor=garbage",
        "?limit=0",
        "?week=x",
        "?week=0",
        "?week=105",
        "?week=2147483648",
        "?kind=bug",
    ] {
        let resp = app
            .get_auth(&format!("/api/v1/me/ledger{q}"), &c.ada.access)
            .await;
        assert!(
            [400, 422].contains(&resp.status().as_u16()),
            "{q}: {}",
            resp.status()
        );
    }
    let resp = app
        .get_auth("/api/v1/me/ledger/not-a-uuid", &c.ada.access)
        .await;
    assert!([400, 404].contains(&resp.status().as_u16()));
}
