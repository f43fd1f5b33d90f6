//! Cohorts over HTTP, on both backends: a cohort keeps its course version, its calendar
//! follows its time zone across daylight-saving changes and takes overrides, members
//! are enrolled, join and withdraw, and a mentor's rights hold in their cohort only.

use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, TestUser, assert_problem, spawn_app};

backend_tests!(
    a_cohort_keeps_its_course_version_and_computes_its_calendar,
    deadlines_can_be_moved_and_put_back_by_admins_only,
    members_are_enrolled_join_and_withdraw,
    a_mentor_sees_the_members_of_their_cohort_only,
    bad_cohorts_are_refused_naming_the_field,
);

/// The example course (two weeks, deliverables `lifecycle-notes` and `error-contract`),
/// made by `admin`.
pub async fn course(app: &TestApp, admin: &TestUser, slug: &str) -> Value {
    let mut doc = nexus_service::learning::model::example_course();
    doc["slug"] = json!(slug);
    let resp = app
        .post_json("/api/v1/courses", Some(&admin.access), doc.clone())
        .await;
    assert_eq!(resp.status(), 201);
    doc
}

pub fn cohort_input(slug: &str, course: &str) -> Value {
    json!({
        "slug": slug,
        "title": "Spring cohort",
        "course": course,
        "starts_on": "2027-03-15",
        "timezone": "Europe/Berlin",
        "peer_reviews": 2,
        "enrolment": "open",
    })
}

pub async fn cohort(app: &TestApp, admin: &TestUser, input: Value) -> Value {
    let resp = app
        .post_json("/api/v1/cohorts", Some(&admin.access), input)
        .await;
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

fn due(schedule: &Value, deliverable: &str) -> (String, String, bool) {
    let item = schedule["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["deliverable"] == deliverable)
        .unwrap_or_else(|| panic!("{deliverable} on the calendar"));
    (
        item["due_at"].as_str().unwrap().to_owned(),
        item["due_local"].as_str().unwrap().to_owned(),
        item["overridden"].as_bool().unwrap(),
    )
}

async fn a_cohort_keeps_its_course_version_and_computes_its_calendar(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin("root").await;
    let mut doc = course(&app, &admin, "backend-101").await;
    let made = cohort(&app, &admin, cohort_input("spring", "backend-101")).await;
    assert_eq!(made["course"], "backend-101");
    assert_eq!(made["course_version"], 1);
    assert_eq!(made["starts_on"], "2027-03-15");

    // Week 1 ends on Sunday 21 March at 23:59 CET; week 2 on 28 March, the day Berlin
    // moves to summer time, at 23:59 CEST: an hour less in UTC.
    let schedule = app.get_json("/api/v1/cohorts/spring/schedule").await;
    assert_eq!(schedule["timezone"], "Europe/Berlin");
    assert_eq!(
        due(&schedule, "lifecycle-notes"),
        (
            "2027-03-21T22:59:00Z".into(),
            "2027-03-21T23:59:00+01:00".into(),
            false
        )
    );
    assert_eq!(
        due(&schedule, "error-contract"),
        (
            "2027-03-28T21:59:00Z".into(),
            "2027-03-28T23:59:00+02:00".into(),
            false
        )
    );

    // The course moves on to version 2 without the second week's deliverable; the
    // running cohort still has it, and a new cohort runs version 2.
    let etag = app.get("/api/v1/courses/backend-101").await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    doc["weeks"][1]["deliverable"] = Value::Null;
    let resp = app
        .client
        .put(app.url("/api/v1/courses/backend-101"))
        .bearer_auth(&admin.access)
        .header("if-match", etag)
        .json(&doc)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let schedule = app.get_json("/api/v1/cohorts/spring/schedule").await;
    assert_eq!(schedule["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.get_json("/api/v1/cohorts/spring").await["course_version"],
        1
    );
    let later = cohort(&app, &admin, cohort_input("autumn", "backend-101")).await;
    assert_eq!(later["course_version"], 2);
    let schedule = app.get_json("/api/v1/cohorts/autumn/schedule").await;
    assert_eq!(schedule["items"].as_array().unwrap().len(), 1);
    // An older version can still be chosen.
    let mut input = cohort_input("rerun", "backend-101");
    input["course_version"] = json!(1);
    assert_eq!(cohort(&app, &admin, input).await["course_version"], 1);

    // Lists: newest first, by course, paged.
    let list = app.get_json("/api/v1/cohorts?limit=2").await;
    let slugs: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["rerun", "autumn"]);
    let cursor = list["next_cursor"].as_str().unwrap();
    let rest = app
        .get_json(&format!("/api/v1/cohorts?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(rest["items"][0]["slug"], "spring");
    assert!(rest["next_cursor"].is_null());
    let none = app.get_json("/api/v1/cohorts?course=no-such-course").await;
    assert_eq!(none["items"], json!([]));
    let by_course = app.get_json("/api/v1/cohorts?course=backend-101").await;
    assert_eq!(by_course["items"].as_array().unwrap().len(), 3);
    assert_problem(app.get("/api/v1/cohorts/nope").await, 404, "not-found").await;
}

async fn deadlines_can_be_moved_and_put_back_by_admins_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin("root").await;
    let learner = app.verified_user("lea").await;
    course(&app, &admin, "backend-101").await;
    cohort(&app, &admin, cohort_input("spring", "backend-101")).await;
    let path = "/api/v1/cohorts/spring/deadlines/lifecycle-notes";

    let body = json!({"due_at": "2027-03-24T22:59:00Z"});
    let put = async |who: Option<&TestUser>, path: &str, body: &Value| {
        let mut req = app.client.put(app.url(path)).json(body);
        if let Some(who) = who {
            req = req.bearer_auth(&who.access);
        }
        req.send().await
    };
    assert_problem(
        put(None, path, &body).await.unwrap(),
        401,
        "unauthenticated",
    )
    .await;
    assert_problem(
        put(Some(&learner), path, &body).await.unwrap(),
        403,
        "forbidden",
    )
    .await;
    let resp = put(Some(&admin), path, &body).await.unwrap();
    assert_eq!(resp.status(), 200);
    let item: Value = resp.json().await.unwrap();
    assert_eq!(item["due_at"], "2027-03-24T22:59:00Z");
    assert_eq!(item["due_local"], "2027-03-24T23:59:00+01:00");
    assert_eq!(item["overridden"], true);
    let schedule = app.get_json("/api/v1/cohorts/spring/schedule").await;
    assert!(due(&schedule, "lifecycle-notes").2);

    // A deliverable of another course is not on this calendar.
    let other = "/api/v1/cohorts/spring/deadlines/not-in-this-course";
    assert_problem(
        put(Some(&admin), other, &body).await.unwrap(),
        404,
        "not-found",
    )
    .await;
    let bad = json!({"due_at": "next tuesday"});
    assert_problem(
        put(Some(&admin), path, &bad).await.unwrap(),
        422,
        "validation-failed",
    )
    .await;

    let resp = app.delete_auth(path, &admin.access).await;
    assert_eq!(resp.status(), 200);
    let item: Value = resp.json().await.unwrap();
    assert_eq!(item["due_at"], "2027-03-21T22:59:00Z");
    assert_eq!(item["overridden"], false);
    assert_problem(
        app.delete_auth(path, &learner.access).await,
        403,
        "forbidden",
    )
    .await;
}

async fn members_are_enrolled_join_and_withdraw(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin("root").await;
    let ada = app.verified_user("ada").await;
    let bob = app.verified_user("bob").await;
    let mia = app.verified_user("mia").await;
    course(&app, &admin, "backend-101").await;
    cohort(&app, &admin, cohort_input("spring", "backend-101")).await;
    let mut closed = cohort_input("closed", "backend-101");
    closed["enrolment"] = json!("invite");
    cohort(&app, &admin, closed).await;

    let enrol = async |who: &TestUser, cohort: &str, body: Value| {
        app.post_json(
            &format!("/api/v1/cohorts/{cohort}/enrolments"),
            Some(&who.access),
            body,
        )
        .await
    };
    let resp = enrol(&admin, "spring", json!({"handle": "mia", "role": "mentor"})).await;
    assert_eq!(resp.status(), 201);
    let mentor: Value = resp.json().await.unwrap();
    assert_eq!(mentor["role"], "mentor");
    assert_eq!(mentor["status"], "active");
    // Again with the same role: nothing changes. With the other role: a conflict.
    let resp = enrol(&admin, "spring", json!({"handle": "mia", "role": "mentor"})).await;
    assert_eq!(resp.status(), 200);
    let resp = enrol(
        &admin,
        "spring",
        json!({"handle": "mia", "role": "learner"}),
    )
    .await;
    assert_problem(resp, 409, "conflict").await;
    // Only admins enrol; unknown handles are named.
    let resp = enrol(&ada, "spring", json!({"handle": "ada", "role": "mentor"})).await;
    assert_problem(resp, 403, "forbidden").await;
    let resp = enrol(
        &admin,
        "spring",
        json!({"handle": "nobody", "role": "learner"}),
    )
    .await;
    let problem = assert_problem(resp, 422, "validation-failed").await;
    assert_eq!(problem["errors"][0]["field"], "handle");
    let resp = enrol(&admin, "spring", json!({"handle": "ada", "role": "owner"})).await;
    assert_problem(resp, 422, "validation-failed").await;

    // Joining: open cohorts only, once.
    let join = async |who: &TestUser, cohort: &str| {
        app.post_json(
            &format!("/api/v1/cohorts/{cohort}/join"),
            Some(&who.access),
            json!({}),
        )
        .await
    };
    let resp = join(&ada, "spring").await;
    assert_eq!(resp.status(), 201);
    let joined: Value = resp.json().await.unwrap();
    assert_eq!(joined["role"], "learner");
    assert_eq!(joined["handle"], "ada");
    assert_problem(join(&ada, "spring").await, 409, "conflict").await;
    assert_problem(join(&bob, "closed").await, 403, "forbidden").await;
    assert_problem(join(&bob, "no-such-cohort").await, 404, "not-found").await;
    let resp = app
        .post_json("/api/v1/cohorts/spring/join", None, json!({}))
        .await;
    assert_problem(resp, 401, "unauthenticated").await;
    assert_eq!(join(&bob, "spring").await.status(), 201);

    // Withdrawal: yourself, or an admin; not another learner.
    let resp = app
        .delete_auth("/api/v1/cohorts/spring/enrolments/ada", &bob.access)
        .await;
    assert_problem(resp, 404, "not-found").await;
    let resp = app
        .delete_auth("/api/v1/cohorts/spring/enrolments/ada", &ada.access)
        .await;
    assert_eq!(resp.status(), 204);
    let resp = app
        .delete_auth("/api/v1/cohorts/spring/enrolments/ada", &ada.access)
        .await;
    assert_problem(resp, 404, "not-found").await;
    let resp = app
        .delete_auth("/api/v1/cohorts/spring/enrolments/bob", &admin.access)
        .await;
    assert_eq!(resp.status(), 204);

    let members = app
        .get_auth_json("/api/v1/cohorts/spring/enrolments", &mia.access)
        .await;
    let states: Vec<(String, String, String)> = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["handle"].as_str().unwrap().to_owned(),
                m["role"].as_str().unwrap().to_owned(),
                m["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut states = states;
    states.sort();
    assert_eq!(
        states,
        [
            ("ada".into(), "learner".into(), "withdrawn".into()),
            ("bob".into(), "learner".into(), "withdrawn".into()),
            ("mia".into(), "mentor".into(), "active".into()),
        ]
    );
    let active = app
        .get_auth_json(
            "/api/v1/cohorts/spring/enrolments?status=active&role=mentor",
            &admin.access,
        )
        .await;
    assert_eq!(active["items"].as_array().unwrap().len(), 1);
    // A withdrawn learner comes back by joining again.
    assert_eq!(join(&ada, "spring").await.status(), 201);

    // Each sees their own cohorts, with their role and state.
    let mine = app.get_auth_json("/api/v1/me/cohorts", &ada.access).await;
    let items = mine["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["cohort"]["slug"], "spring");
    assert_eq!(items[0]["role"], "learner");
    assert_eq!(items[0]["status"], "active");
    let bobs = app.get_auth_json("/api/v1/me/cohorts", &bob.access).await;
    assert_eq!(bobs["items"][0]["status"], "withdrawn");
    let mias = app.get_auth_json("/api/v1/me/cohorts", &mia.access).await;
    assert_eq!(mias["items"][0]["role"], "mentor");
    let none = app.get_auth_json("/api/v1/me/cohorts", &admin.access).await;
    assert_eq!(none["items"], json!([]));
    assert_problem(app.get("/api/v1/me/cohorts").await, 401, "unauthenticated").await;
}

async fn a_mentor_sees_the_members_of_their_cohort_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin("root").await;
    let mia = app.verified_user("mia").await;
    let ada = app.verified_user("ada").await;
    course(&app, &admin, "backend-101").await;
    cohort(&app, &admin, cohort_input("spring", "backend-101")).await;
    cohort(&app, &admin, cohort_input("autumn", "backend-101")).await;
    let resp = app
        .post_json(
            "/api/v1/cohorts/spring/enrolments",
            Some(&admin.access),
            json!({"handle": "mia", "role": "mentor"}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    app.post_json("/api/v1/cohorts/spring/join", Some(&ada.access), json!({}))
        .await;

    let path = "/api/v1/cohorts/spring/enrolments";
    assert_eq!(app.get_auth(path, &mia.access).await.status(), 200);
    assert_problem(app.get_auth(path, &ada.access).await, 403, "forbidden").await;
    assert_problem(app.get(path).await, 401, "unauthenticated").await;
    let other = "/api/v1/cohorts/autumn/enrolments";
    assert_problem(app.get_auth(other, &mia.access).await, 403, "forbidden").await;
    let resp = app.get_auth(&format!("{path}?limit=0"), &mia.access).await;
    assert_problem(resp, 422, "validation-failed").await;
    let resp = app
        .get_auth(&format!("{path}?role=owner"), &mia.access)
        .await;
    assert_problem(resp, 422, "validation-failed").await;
}

async fn bad_cohorts_are_refused_naming_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin("root").await;
    let learner = app.verified_user("lea").await;
    course(&app, &admin, "backend-101").await;
    let post = async |who: &TestUser, body: Value| {
        app.post_json("/api/v1/cohorts", Some(&who.access), body)
            .await
    };
    let fields = async |body: Value| -> Vec<String> {
        let problem = assert_problem(post(&admin, body).await, 422, "validation-failed").await;
        problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect()
    };
    let with = |field: &str, value: Value| {
        let mut input = cohort_input("spring", "backend-101");
        input[field] = value;
        input
    };
    assert_eq!(
        fields(with("timezone", json!("Europe/Atlantis"))).await,
        ["timezone"]
    );
    assert_eq!(fields(with("timezone", json!(""))).await, ["timezone"]);
    assert_eq!(
        fields(with("peer_reviews", json!(6))).await,
        ["peer_reviews"]
    );
    assert_eq!(
        fields(with("peer_reviews", json!(-1))).await,
        ["peer_reviews"]
    );
    assert_eq!(
        fields(with("course", json!("no-such-course"))).await,
        ["course"]
    );
    assert_eq!(fields(with("course", json!("Ünïcode ✓"))).await, ["course"]);
    assert_eq!(
        fields(with("course_version", json!(7))).await,
        ["course_version"]
    );
    assert_eq!(
        fields(with("course_version", json!(0))).await,
        ["course_version"]
    );
    assert_eq!(fields(with("slug", json!("Not A Slug"))).await, ["slug"]);
    assert_eq!(fields(with("title", json!(" "))).await, ["title"]);
    assert_eq!(
        fields(with("title", json!("x".repeat(201)))).await,
        ["title"]
    );
    assert_eq!(
        fields(with("starts_on", json!("2027-02-30"))).await,
        ["starts_on"]
    );
    assert_eq!(
        fields(with("starts_on", json!(20270301))).await,
        ["starts_on"]
    );
    assert_eq!(
        fields(with("enrolment", json!("closed"))).await,
        ["enrolment"]
    );
    let mut extra = cohort_input("spring", "backend-101");
    extra["owner"] = json!("me");
    assert_problem(post(&admin, extra).await, 422, "validation-failed").await;
    // Several faults at once are all named.
    let mut many = with("timezone", json!("Mars/Olympus"));
    many["peer_reviews"] = json!(9);
    many["slug"] = json!("-x-");
    let mut got = fields(many).await;
    got.sort();
    assert_eq!(got, ["peer_reviews", "slug", "timezone"]);

    // Unicode titles are fine; the slug is taken once.
    let ok = with("title", json!("Printemps — cohorte ✓"));
    assert_eq!(post(&admin, ok.clone()).await.status(), 201);
    assert_problem(post(&admin, ok).await, 409, "conflict").await;
    // Admins only.
    let resp = post(&learner, cohort_input("other", "backend-101")).await;
    assert_problem(resp, 403, "forbidden").await;
    let resp = app
        .post_json(
            "/api/v1/cohorts",
            None,
            cohort_input("other", "backend-101"),
        )
        .await;
    assert_problem(resp, 401, "unauthenticated").await;
}
