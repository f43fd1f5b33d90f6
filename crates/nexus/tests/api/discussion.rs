//! Comments, edit proposals, reports, follows, bookmarks and the feed over HTTP, on both
//! backends.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, PASSWORD, TestApp, TestUser, assert_problem, spawn_app};
use crate::hub::create as create_note;

backend_tests!(
    comments_form_threads_one_level_deep,
    comments_are_edited_by_their_author_and_deleted_in_place,
    comment_inputs_are_validated,
    drafts_take_no_comments_proposals_or_reports,
    accepted_proposals_credit_the_proposer_and_stale_ones_conflict,
    proposals_are_seen_and_decided_by_the_right_people,
    concurrent_accepts_on_one_base_merge_exactly_one,
    reports_are_listed_and_resolved_by_mentors_only,
    follows_and_the_feed_paginate_without_duplicates,
    bookmarks_are_idempotent_and_paginate_newest_first,
);

/// The hub's set-up (an admin, three topics, author `ada`) plus a published note `raft`.
async fn setup(app: &TestApp) -> (TestUser, TestUser) {
    let (admin, ada) = crate::hub::setup(app).await;
    create_note(
        app,
        &ada,
        json!({"title": "Raft", "kind": "concept", "body_md": "Consensus by a leader.", "topics": ["databases"]}),
    )
    .await;
    (admin, ada)
}

/// A mentor, created by an operator as admins are, then signed in.
async fn mentor(app: &TestApp, handle: &str) -> String {
    let email = format!("{handle}@example.com");
    app.state
        .services
        .identity()
        .operator()
        .create_user(
            &email,
            handle,
            None,
            PASSWORD.to_owned(),
            nexus_core::identity::Role::Mentor,
        )
        .await
        .unwrap();
    let pair: Value = app.login(&email, PASSWORD).await.json().await.unwrap();
    pair["access_token"].as_str().unwrap().to_owned()
}

async fn json_of(resp: reqwest::Response, status: u16) -> Value {
    let actual = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    assert_eq!(actual, status, "{text}");
    serde_json::from_str(&text).unwrap()
}

async fn put_auth(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.client
        .put(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

pub(crate) async fn comment(
    app: &TestApp,
    who: &TestUser,
    slug: &str,
    body: Value,
) -> reqwest::Response {
    app.post_json(
        &format!("/api/v1/notes/{slug}/comments"),
        Some(&who.access),
        body,
    )
    .await
}

fn field_names(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

/// Follows `next_cursor` to the end and returns every item.
async fn all_pages(app: &TestApp, token: &str, path: &str) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{sep}cursor={c}"),
            None => path.to_owned(),
        };
        let page = json_of(app.get_auth(&url, token).await, 200).await;
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    (items, pages)
}

async fn comments_form_threads_one_level_deep(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada) = setup(&app).await;
    let grace = app.verified_user("grace").await;
    create_note(
        &app,
        &ada,
        json!({"title": "Paxos", "kind": "concept", "body_md": "The original.", "topics": ["databases"]}),
    )
    .await;

    let first = json_of(
        comment(
            &app,
            &grace,
            "raft",
            json!({"body_md": "Does **this** hold? <script>alert(1)</script>"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(first["author"]["handle"], "grace");
    assert_eq!(first["parent_id"], Value::Null);
    assert_eq!(first["deleted"], false);
    let html = first["body_html"].as_str().unwrap();
    assert!(html.contains("<strong>this</strong>"), "{html}");
    assert!(!html.contains("<script"), "{html}");
    let first_id = first["id"].as_str().unwrap().to_owned();

    let reply = json_of(
        comment(
            &app,
            &ada,
            "raft",
            json!({"body_md": "Yes, with a majority.", "parent_id": first_id}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(reply["parent_id"], first_id.as_str());
    let reply_id = reply["id"].as_str().unwrap().to_owned();

    // A reply to a reply is refused; so is a parent on another note or none at all.
    let resp = comment(
        &app,
        &grace,
        "raft",
        json!({"body_md": "Deeper", "parent_id": reply_id}),
    )
    .await;
    let body = assert_problem(resp, 422, "validation-failed").await;
    assert_eq!(field_names(&body), ["parent_id"]);
    let resp = comment(
        &app,
        &grace,
        "paxos",
        json!({"body_md": "Elsewhere", "parent_id": first_id}),
    )
    .await;
    assert_problem(resp, 422, "validation-failed").await;
    let resp = comment(
        &app,
        &grace,
        "raft",
        json!({"body_md": "Nowhere", "parent_id": uuid::Uuid::now_v7()}),
    )
    .await;
    assert_problem(resp, 422, "validation-failed").await;

    // More threads, then page through them: threads oldest first, replies nested.
    for i in 0..4 {
        json_of(
            comment(
                &app,
                &grace,
                "raft",
                json!({"body_md": format!("Thread {i}")}),
            )
            .await,
            201,
        )
        .await;
    }
    let page = json_of(app.get("/api/v1/notes/raft/comments?limit=2").await, 200).await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], first_id.as_str());
    assert_eq!(items[0]["replies"].as_array().unwrap().len(), 1);
    assert_eq!(items[0]["replies"][0]["id"], reply_id.as_str());
    assert_eq!(items[0]["replies"][0]["replies"], json!([]));
    assert_eq!(items[1]["body_md"], "Thread 0");
    let (all, pages) = all_pages(&app, &grace.access, "/api/v1/notes/raft/comments?limit=2").await;
    assert_eq!(pages, 3);
    let bodies: Vec<&str> = all.iter().map(|c| c["body_md"].as_str().unwrap()).collect();
    assert_eq!(
        bodies[1..],
        ["Thread 0", "Thread 1", "Thread 2", "Thread 3"]
    );
    let paxos = json_of(app.get("/api/v1/notes/paxos/comments").await, 200).await;
    assert_eq!(paxos["items"], json!([]));
    assert_problem(
        app.get("/api/v1/notes/nope/comments").await,
        404,
        "not-found",
    )
    .await;
}

async fn comments_are_edited_by_their_author_and_deleted_in_place(backend: Backend) {
    let app = spawn_app(backend).await;
    let (admin, ada) = setup(&app).await;
    let grace = app.verified_user("grace").await;
    let mine = json_of(
        comment(&app, &grace, "raft", json!({"body_md": "First tought"})).await,
        201,
    )
    .await;
    let id = mine["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/comments/{id}");
    json_of(
        comment(
            &app,
            &ada,
            "raft",
            json!({"body_md": "An answer", "parent_id": id}),
        )
        .await,
        201,
    )
    .await;

    // Someone else may neither edit nor delete it; the note's author included.
    let resp = app
        .patch_json(&path, Some(&ada.access), json!({"body_md": "Hijacked"}))
        .await;
    assert_problem(resp, 403, "forbidden").await;
    assert_problem(app.delete_auth(&path, &ada.access).await, 403, "forbidden").await;

    let edited = json_of(
        app.patch_json(
            &path,
            Some(&grace.access),
            json!({"body_md": "First *thought*"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(edited["body_md"], "First *thought*");
    assert!(
        edited["body_html"]
            .as_str()
            .unwrap()
            .contains("<em>thought</em>")
    );
    assert_eq!(edited["edited"], true);

    // An admin deletes it; the thread keeps its shape.
    assert_eq!(app.delete_auth(&path, &admin.access).await.status(), 204);
    assert_eq!(app.delete_auth(&path, &grace.access).await.status(), 204);
    let page = json_of(app.get("/api/v1/notes/raft/comments").await, 200).await;
    let thread = &page["items"][0];
    assert_eq!(thread["id"], id.as_str());
    assert_eq!(thread["deleted"], true);
    assert_eq!(thread["body_md"], "");
    assert_eq!(thread["body_html"], "");
    assert_eq!(thread["author"], Value::Null);
    assert_eq!(thread["replies"][0]["body_md"], "An answer");
    let resp = app
        .patch_json(&path, Some(&grace.access), json!({"body_md": "Back"}))
        .await;
    assert_problem(resp, 409, "conflict").await;

    // Unknown, malformed and anonymous.
    let missing = format!("/api/v1/comments/{}", uuid::Uuid::now_v7());
    assert_problem(
        app.delete_auth(&missing, &grace.access).await,
        404,
        "not-found",
    )
    .await;
    assert_problem(
        app.delete_auth("/api/v1/comments/not-a-uuid", &grace.access)
            .await,
        400,
        "bad-request",
    )
    .await;
    assert_problem(
        app.patch_json(&path, None, json!({"body_md": "x"})).await,
        401,
        "unauthenticated",
    )
    .await;
}

async fn comment_inputs_are_validated(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, _) = setup(&app).await;
    let grace = app.verified_user("grace").await;
    for bad in [
        json!({"body_md": ""}),
        json!({"body_md": "   \n "}),
        json!({"body_md": "x".repeat(5001)}),
        json!({"body_md": "é".repeat(5001)}),
        json!({"body_md": "bell \u{7}"}),
        json!({"body_md": 42}),
        json!({"body_md": "ok", "parent_id": "not-a-uuid"}),
        json!({"body_md": "ok", "pinned": true}),
        json!({}),
        json!(["body_md"]),
    ] {
        let resp = comment(&app, &grace, "raft", bad.clone()).await;
        assert_eq!(resp.status(), 422, "{bad}");
        assert_problem(resp, 422, "validation-failed").await;
    }
    // 5000 characters of multibyte text is within the limit: characters, not bytes.
    let long = json_of(
        comment(&app, &grace, "raft", json!({"body_md": "名".repeat(5000)})).await,
        201,
    )
    .await;
    assert_eq!(long["body_md"].as_str().unwrap().chars().count(), 5000);
    let emoji = json_of(
        comment(&app, &grace, "raft", json!({"body_md": "🦀 Ünïcödé ✓"})).await,
        201,
    )
    .await;
    assert_eq!(emoji["body_md"], "🦀 Ünïcödé ✓");
    let path = format!("/api/v1/comments/{}", emoji["id"].as_str().unwrap());
    for bad in [
        json!({"body_md": ""}),
        json!({"body_md": "x".repeat(5001)}),
        json!({"body_md": null}),
        json!({"body_md": "ok", "parent_id": null}),
    ] {
        let resp = app
            .patch_json(&path, Some(&grace.access), bad.clone())
            .await;
        assert_eq!(resp.status(), 422, "{bad}");
    }
    let resp = app
        .client
        .post(app.url("/api/v1/notes/raft/comments"))
        .bearer_auth(&grace.access)
        .header("content-type", "application/json")
        .body("{\"body_md\": ")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400, "bad-request").await;

    // Unverified accounts read but do not write; anonymous callers neither write.
    assert_eq!(
        app.register("new@example.com", "newbie").await.status(),
        202
    );
    let login: Value = app
        .login("new@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap();
    let resp = app
        .post_json(
            "/api/v1/notes/raft/comments",
            Some(token),
            json!({"body_md": "hi"}),
        )
        .await;
    assert_problem(resp, 403, "forbidden").await;
    let resp = app
        .post_json(
            "/api/v1/notes/raft/comments",
            None,
            json!({"body_md": "hi"}),
        )
        .await;
    assert_problem(resp, 401, "unauthenticated").await;
    for bad in ["limit=0", "limit=101", "cursor=nope"] {
        let resp = app.get(&format!("/api/v1/notes/raft/comments?{bad}")).await;
        assert_problem(resp, 422, "validation-failed").await;
    }
}

async fn drafts_take_no_comments_proposals_or_reports(backend: Backend) {
    let app = spawn_app(backend).await;
    let (admin, ada) = setup(&app).await;
    let grace = app.verified_user("grace").await;
    create_note(
        &app,
        &ada,
        json!({"title": "Secret", "kind": "concept", "body_md": "Not yet.", "topics": ["rust"], "status": "draft"}),
    )
    .await;
    // Its author, who may see the draft, is told why; to anyone else (admins too: a
    // draft is its author's alone) it does not exist.
    for (who, status, kind) in [
        (&grace, 404, "not-found"),
        (&admin, 404, "not-found"),
        (&ada, 409, "conflict"),
    ] {
        let resp = comment(&app, who, "secret", json!({"body_md": "hi"})).await;
        assert_problem(resp, status, kind).await;
        let resp = app
            .post_json(
                "/api/v1/notes/secret/reports",
                Some(&who.access),
                json!({"reason": "wrong"}),
            )
            .await;
        assert_problem(resp, status, kind).await;
    }
    let resp = app
        .post_json(
            "/api/v1/notes/secret/proposals",
            Some(&ada.access),
            json!({"base_version": 1, "body_md": "Better", "message": "m"}),
        )
        .await;
    assert_problem(resp, 409, "conflict").await;
    let resp = app
        .post_json(
            "/api/v1/notes/secret/proposals",
            Some(&grace.access),
            json!({"base_version": 1, "body_md": "Better", "message": "m"}),
        )
        .await;
    assert_problem(resp, 404, "not-found").await;
    assert_problem(
        app.get("/api/v1/notes/secret/comments").await,
        404,
        "not-found",
    )
    .await;
    assert_problem(
        app.get_auth("/api/v1/notes/secret/proposals", &grace.access)
            .await,
        404,
        "not-found",
    )
    .await;
    assert_problem(
        put_auth(&app, "/api/v1/me/bookmarks/secret", &grace.access).await,
        404,
        "not-found",
    )
    .await;
    // The author sees the (empty) discussion of their own draft.
    let own = json_of(
        app.get_auth("/api/v1/notes/secret/comments", &ada.access)
            .await,
        200,
    )
    .await;
    assert_eq!(own["items"], json!([]));
}

pub(crate) async fn propose(
    app: &TestApp,
    who: &TestUser,
    slug: &str,
    body: Value,
) -> reqwest::Response {
    app.post_json(
        &format!("/api/v1/notes/{slug}/proposals"),
        Some(&who.access),
        body,
    )
    .await
}

async fn decide(
    app: &TestApp,
    token: &str,
    id: &str,
    action: &str,
    body: Value,
) -> reqwest::Response {
    app.post_json(
        &format!("/api/v1/proposals/{id}/{action}"),
        Some(token),
        body,
    )
    .await
}

async fn accepted_proposals_credit_the_proposer_and_stale_ones_conflict(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada) = setup(&app).await;
    let grace = app.verified_user("grace").await;
    let bob = app.verified_user("bob").await;
    create_note(
        &app,
        &ada,
        json!({"title": "Paxos", "kind": "concept", "body_md": "The original.", "topics": ["databases"]}),
    )
    .await;

    let from_grace = json_of(
        propose(
            &app,
            &grace,
            "raft",
            json!({"base_version": 1, "body_md": "Consensus by an elected leader; compare [[paxos]] and quorums.",
                   "message": "Say how the leader comes to be"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(from_grace["status"], "open");
    assert_eq!(
        from_grace["title"], "Raft",
        "an absent title keeps the current one"
    );
    assert_eq!(from_grace["proposer"]["handle"], "grace");
    let from_bob = json_of(
        propose(
            &app,
            &bob,
            "raft",
            json!({"base_version": 1, "title": "Raft consensus", "message": "Clearer title"}),
        )
        .await,
        201,
    )
    .await;

    // The author accepts grace's: a new revision credited to her, with links and search
    // following the new body.
    let grace_id = from_grace["id"].as_str().unwrap();
    let accepted = json_of(
        decide(&app, &ada.access, grace_id, "accept", json!({})).await,
        200,
    )
    .await;
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(accepted["decided_by"], "ada");
    assert_eq!(accepted["revision"], 2);
    let note = json_of(app.get("/api/v1/notes/raft").await, 200).await;
    assert_eq!(note["version"], 2);
    assert!(note["body_md"].as_str().unwrap().contains("elected leader"));
    assert_eq!(note["author"]["handle"], "ada", "the note stays ada's");
    let revisions = json_of(app.get("/api/v1/notes/raft/revisions").await, 200).await;
    assert_eq!(revisions[0]["number"], 2);
    assert_eq!(revisions[0]["editor"], "grace");
    assert!(
        revisions[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("Say how the leader comes to be"),
        "{revisions}"
    );
    let back = json_of(app.get("/api/v1/notes/paxos/backlinks").await, 200).await;
    assert_eq!(back[0]["slug"], "raft");
    let hits = json_of(app.get("/api/v1/search?q=quorums").await, 200).await;
    assert_eq!(hits["items"][0]["slug"], "raft");

    // Bob's was made against version 1; the note is at 2 now: 409 naming the version, and
    // the proposal stays open.
    let bob_id = from_bob["id"].as_str().unwrap();
    let stale = assert_problem(
        decide(&app, &ada.access, bob_id, "accept", json!({})).await,
        409,
        "conflict",
    )
    .await;
    assert!(
        stale["detail"].as_str().unwrap().contains("version 2"),
        "{stale}"
    );
    let list = json_of(
        app.get_auth("/api/v1/notes/raft/proposals", &ada.access)
            .await,
        200,
    )
    .await;
    let bob_now = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == bob_id)
        .unwrap();
    assert_eq!(bob_now["status"], "open");
    let note = json_of(app.get("/api/v1/notes/raft").await, 200).await;
    assert_eq!(
        note["title"], "Raft",
        "nothing of the stale proposal was applied"
    );

    // Proposing against an old version is refused at once, naming the current one.
    let resp = propose(
        &app,
        &bob,
        "raft",
        json!({"base_version": 1, "title": "Raft again", "message": "m"}),
    )
    .await;
    let body = assert_problem(resp, 409, "conflict").await;
    assert!(
        body["detail"].as_str().unwrap().contains("version 2"),
        "{body}"
    );
    // A fresh one on the current version merges.
    let fresh = json_of(
        propose(
            &app,
            &bob,
            "raft",
            json!({"base_version": 2, "title": "Raft consensus", "message": "Clearer title"}),
        )
        .await,
        201,
    )
    .await;
    let fresh = json_of(
        decide(
            &app,
            &ada.access,
            fresh["id"].as_str().unwrap(),
            "accept",
            json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(fresh["revision"], 3);
    let revisions = json_of(app.get("/api/v1/notes/raft/revisions").await, 200).await;
    assert_eq!(revisions[0]["editor"], "bob");
    // Accepting twice is a conflict, not a second revision.
    assert_problem(
        decide(&app, &ada.access, grace_id, "accept", json!({})).await,
        409,
        "conflict",
    )
    .await;
}

async fn proposals_are_seen_and_decided_by_the_right_people(backend: Backend) {
    let app = spawn_app(backend).await;
    let (admin, ada) = setup(&app).await;
    let grace = app.verified_user("grace").await;
    let bob = app.verified_user("bob").await;
    let mentor = mentor(&app, "mira").await;

    // Own note: edit, do not propose.
    let resp = propose(
        &app,
        &ada,
        "raft",
        json!({"base_version": 1, "body_md": "Mine", "message": "m"}),
    )
    .await;
    assert_problem(resp, 403, "forbidden").await;

    // Input edges.
    for (bad, field) in [
        (json!({"base_version": 1, "message": "nothing"}), "body_md"),
        (
            json!({"base_version": 1, "title": "", "message": "m"}),
            "title",
        ),
        (
            json!({"base_version": 1, "title": "x".repeat(201), "message": "m"}),
            "title",
        ),
        (
            json!({"base_version": 1, "body_md": "x", "message": ""}),
            "message",
        ),
        (
            json!({"base_version": 0, "body_md": "x", "message": "m"}),
            "base_version",
        ),
        (
            json!({"base_version": "1", "body_md": "x", "message": "m"}),
            "base_version",
        ),
        (
            json!({"base_version": 1, "body_md": "x", "message": "m", "status": "accepted"}),
            "body",
        ),
        (
            json!({"base_version": 1, "body_md": "Consensus by a leader.", "message": "m"}),
            "body_md",
        ),
    ] {
        let body = assert_problem(
            propose(&app, &grace, "raft", bad.clone()).await,
            422,
            "validation-failed",
        )
        .await;
        let fields = field_names(&body);
        assert!(
            fields.iter().any(|f| f.contains(field)) || field == "body",
            "{bad}: {fields:?}"
        );
    }

    let grace_p = json_of(
        propose(
            &app,
            &grace,
            "raft",
            json!({"base_version": 1, "body_md": "Leader-based consensus. Ünïcödé ✓", "message": "Grace's idea"}),
        )
        .await,
        201,
    )
    .await;
    let bob_p = json_of(
        propose(
            &app,
            &bob,
            "raft",
            json!({"base_version": 1, "title": "Raft (consensus)", "message": "Bob's idea"}),
        )
        .await,
        201,
    )
    .await;
    let grace_id = grace_p["id"].as_str().unwrap();
    let bob_id = bob_p["id"].as_str().unwrap();

    // Who sees what: the author, mentors and admins see all; a proposer their own.
    let handles = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["proposer"]["handle"].as_str().unwrap().to_owned())
            .collect()
    };
    for token in [&ada.access, &mentor, &admin.access] {
        let page = json_of(
            app.get_auth("/api/v1/notes/raft/proposals", token).await,
            200,
        )
        .await;
        assert_eq!(handles(&page), ["bob", "grace"], "newest first");
    }
    let page = json_of(
        app.get_auth("/api/v1/notes/raft/proposals", &grace.access)
            .await,
        200,
    )
    .await;
    assert_eq!(handles(&page), ["grace"]);
    let page = json_of(
        app.get_auth("/api/v1/notes/raft/proposals?limit=1", &ada.access)
            .await,
        200,
    )
    .await;
    assert!(page["next_cursor"].is_string());
    assert_problem(
        app.get("/api/v1/notes/raft/proposals").await,
        401,
        "unauthenticated",
    )
    .await;

    // Another learner cannot even see grace's proposal; grace cannot decide her own.
    assert_problem(
        decide(&app, &bob.access, grace_id, "accept", json!({})).await,
        404,
        "not-found",
    )
    .await;
    assert_problem(
        decide(&app, &grace.access, grace_id, "accept", json!({})).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        decide(
            &app,
            &grace.access,
            grace_id,
            "reject",
            json!({"reason": "changed my mind"}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;

    // A mentor rejects bob's with a reason; it cannot then be accepted or rejected again.
    for bad in [
        json!({}),
        json!({"reason": ""}),
        json!({"reason": "x".repeat(1001)}),
        json!({"reason": 5}),
    ] {
        assert_problem(
            decide(&app, &mentor, bob_id, "reject", bad).await,
            422,
            "validation-failed",
        )
        .await;
    }
    let rejected = json_of(
        decide(
            &app,
            &mentor,
            bob_id,
            "reject",
            json!({"reason": "The title was fine."}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["reason"], "The title was fine.");
    assert_eq!(rejected["decided_by"], "mira");
    assert_problem(
        decide(&app, &ada.access, bob_id, "accept", json!({})).await,
        409,
        "conflict",
    )
    .await;
    assert_problem(
        decide(&app, &mentor, bob_id, "reject", json!({"reason": "again"})).await,
        409,
        "conflict",
    )
    .await;

    // A mentor may accept on someone else's note; the revision is still grace's.
    let accepted = json_of(
        decide(&app, &mentor, grace_id, "accept", json!({})).await,
        200,
    )
    .await;
    assert_eq!(accepted["status"], "accepted");
    let revisions = json_of(app.get("/api/v1/notes/raft/revisions").await, 200).await;
    assert_eq!(revisions[0]["editor"], "grace");
    let note = json_of(app.get("/api/v1/notes/raft").await, 200).await;
    assert_eq!(note["body_md"], "Leader-based consensus. Ünïcödé ✓");

    let missing = uuid::Uuid::now_v7().to_string();
    assert_problem(
        decide(&app, &admin.access, &missing, "accept", json!({})).await,
        404,
        "not-found",
    )
    .await;
}

async fn concurrent_accepts_on_one_base_merge_exactly_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let (admin, ada) = setup(&app).await;
    let grace = app.verified_user("grace").await;
    let bob = app.verified_user("bob").await;
    let mut ids = Vec::new();
    for (who, body) in [(&grace, "Grace's version"), (&bob, "Bob's version")] {
        let p = json_of(
            propose(
                &app,
                who,
                "raft",
                json!({"base_version": 1, "body_md": body, "message": "m"}),
            )
            .await,
            201,
        )
        .await;
        ids.push(p["id"].as_str().unwrap().to_owned());
    }
    // Two reviewers accept different proposals on the same base at once, and the same
    // proposal is accepted twice at once: one merge each time, the others 409.
    let (a, b, c) = tokio::join!(
        decide(&app, &ada.access, &ids[0], "accept", json!({})),
        decide(&app, &admin.access, &ids[1], "accept", json!({})),
        decide(&app, &admin.access, &ids[0], "accept", json!({})),
    );
    let mut statuses = [
        a.status().as_u16(),
        b.status().as_u16(),
        c.status().as_u16(),
    ];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409, 409]);
    let note = json_of(app.get("/api/v1/notes/raft").await, 200).await;
    assert_eq!(note["version"], 2);
    let revisions = json_of(app.get("/api/v1/notes/raft/revisions").await, 200).await;
    assert_eq!(
        revisions.as_array().unwrap().len(),
        2,
        "the losers left no revision"
    );
    let list = json_of(
        app.get_auth("/api/v1/notes/raft/proposals", &ada.access)
            .await,
        200,
    )
    .await;
    let open = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "open")
        .count();
    assert_eq!(open, 1, "the proposal that lost stays open");
}

async fn reports_are_listed_and_resolved_by_mentors_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let (admin, ada) = setup(&app).await;
    let grace = app.verified_user("grace").await;
    let mentor = mentor(&app, "mira").await;

    let mut ids = Vec::new();
    for i in 0..5 {
        let report = json_of(
            app.post_json(
                "/api/v1/notes/raft/reports",
                Some(&grace.access),
                json!({"reason": format!("Claim {i} is wrong ✗")}),
            )
            .await,
            201,
        )
        .await;
        assert_eq!(report["status"], "open");
        assert_eq!(report["note"]["slug"], "raft");
        assert_eq!(report["reporter"], "grace");
        ids.push(report["id"].as_str().unwrap().to_owned());
    }
    for bad in [
        json!({"reason": ""}),
        json!({"reason": "x".repeat(2001)}),
        json!({"reason": ["list"]}),
        json!({"reason": "ok", "severity": "high"}),
        json!({}),
    ] {
        let resp = app
            .post_json("/api/v1/notes/raft/reports", Some(&grace.access), bad)
            .await;
        assert_problem(resp, 422, "validation-failed").await;
    }
    assert_problem(
        app.post_json("/api/v1/notes/raft/reports", None, json!({"reason": "x"}))
            .await,
        401,
        "unauthenticated",
    )
    .await;

    // Learners, the note's author included, may not see the queue.
    for who in [&grace, &ada] {
        assert_problem(
            app.get_auth("/api/v1/reports", &who.access).await,
            403,
            "forbidden",
        )
        .await;
    }
    let resp = app
        .post_json(
            &format!("/api/v1/reports/{}/resolve", ids[0]),
            Some(&grace.access),
            json!({"resolution": "fixed"}),
        )
        .await;
    assert_problem(resp, 403, "forbidden").await;

    let (open, pages) = all_pages(&app, &mentor, "/api/v1/reports?status=open&limit=2").await;
    assert_eq!(pages, 3);
    let seen: Vec<&str> = open.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(seen, ids, "oldest first, each once");

    let resolve = |id: String, token: String, body: Value| {
        let app = &app;
        async move {
            app.post_json(&format!("/api/v1/reports/{id}/resolve"), Some(&token), body)
                .await
        }
    };
    assert_problem(
        resolve(ids[0].clone(), mentor.clone(), json!({"resolution": ""})).await,
        422,
        "validation-failed",
    )
    .await;
    let done = json_of(
        resolve(
            ids[0].clone(),
            mentor.clone(),
            json!({"resolution": "Corrected in revision 2."}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(done["status"], "resolved");
    assert_eq!(done["resolved_by"], "mira");
    assert_eq!(done["resolution"], "Corrected in revision 2.");
    assert_problem(
        resolve(
            ids[0].clone(),
            admin.access.clone(),
            json!({"resolution": "again"}),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    json_of(
        resolve(
            ids[1].clone(),
            admin.access.clone(),
            json!({"resolution": "Not an error."}),
        )
        .await,
        200,
    )
    .await;
    assert_problem(
        resolve(
            uuid::Uuid::now_v7().to_string(),
            mentor.clone(),
            json!({"resolution": "x"}),
        )
        .await,
        404,
        "not-found",
    )
    .await;

    let open = json_of(app.get_auth("/api/v1/reports", &mentor).await, 200).await;
    assert_eq!(
        open["items"].as_array().unwrap().len(),
        3,
        "open is the default"
    );
    let resolved = json_of(
        app.get_auth("/api/v1/reports?status=resolved", &admin.access)
            .await,
        200,
    )
    .await;
    let resolved: Vec<&str> = resolved["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(resolved, [ids[0].as_str(), ids[1].as_str()]);
    let problem = assert_problem(
        app.get_auth("/api/v1/reports?status=pending", &mentor)
            .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "status");
}

async fn follows_and_the_feed_paginate_without_duplicates(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada) = setup(&app).await;
    let grace = app.verified_user("grace").await;

    for _ in 0..2 {
        assert_eq!(
            put_auth(&app, "/api/v1/me/follows/rust", &grace.access)
                .await
                .status(),
            204
        );
    }
    assert_eq!(
        put_auth(&app, "/api/v1/me/follows/web", &grace.access)
            .await
            .status(),
        204
    );
    assert_problem(
        put_auth(&app, "/api/v1/me/follows/nope", &grace.access).await,
        404,
        "not-found",
    )
    .await;
    let follows = json_of(app.get_auth("/api/v1/me/follows", &grace.access).await, 200).await;
    let slugs: Vec<&str> = follows
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["rust", "web"]);

    // 25 notes in followed topics (some in both), drafts and other topics left out.
    let mut expected = Vec::new();
    for i in 0..25 {
        let topics = match i % 3 {
            0 => json!(["rust"]),
            1 => json!(["rust", "web"]),
            _ => json!(["web", "databases"]),
        };
        let n = create_note(
            &app,
            &ada,
            json!({"title": format!("Feed {i}"), "kind": "concept", "body_md": "x", "topics": topics}),
        )
        .await;
        expected.push(n["slug"].as_str().unwrap().to_owned());
        create_note(
            &app,
            &ada,
            json!({"title": format!("Elsewhere {i}"), "kind": "concept", "body_md": "x", "topics": ["databases"]}),
        )
        .await;
    }
    create_note(
        &app,
        &ada,
        json!({"title": "Draft", "kind": "concept", "body_md": "x", "topics": ["rust"], "status": "draft"}),
    )
    .await;
    expected.reverse();

    let (items, pages) = all_pages(&app, &grace.access, "/api/v1/me/feed?limit=7").await;
    assert_eq!(pages, 4);
    let got: Vec<String> = items
        .iter()
        .map(|n| n["slug"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, expected, "newest first, each once");
    for field in [
        "slug",
        "title",
        "kind",
        "summary",
        "topics",
        "author",
        "created_at",
    ] {
        assert!(items[0].get(field).is_some(), "feed item has {field}");
    }

    // Unfollowing narrows the feed; unfollowing twice is fine.
    for _ in 0..2 {
        assert_eq!(
            app.delete_auth("/api/v1/me/follows/web", &grace.access)
                .await
                .status(),
            204
        );
    }
    let (items, _) = all_pages(&app, &grace.access, "/api/v1/me/feed?limit=100").await;
    assert_eq!(items.len(), 17);
    assert!(
        items
            .iter()
            .all(|n| n["topics"].as_array().unwrap().contains(&json!("rust")))
    );
    // A read-scoped token reads the feed but changes nothing.
    let pat: Value = json_of(
        app.post_json(
            "/api/v1/me/tokens",
            Some(&grace.access),
            json!({"name": "reader", "scope": "read"}),
        )
        .await,
        201,
    )
    .await;
    let read = pat["token"].as_str().unwrap();
    assert_eq!(app.get_auth("/api/v1/me/feed", read).await.status(), 200);
    for path in ["/api/v1/me/follows/web", "/api/v1/me/bookmarks/raft"] {
        assert_problem(put_auth(&app, path, read).await, 403, "forbidden").await;
    }
    let resp = app
        .post_json(
            "/api/v1/notes/raft/comments",
            Some(read),
            json!({"body_md": "hi"}),
        )
        .await;
    assert_problem(resp, 403, "forbidden").await;
    let empty = json_of(app.get_auth("/api/v1/me/feed", &ada.access).await, 200).await;
    assert_eq!(empty["items"], json!([]));
    assert_problem(app.get("/api/v1/me/feed").await, 401, "unauthenticated").await;
    assert_problem(
        app.get_auth("/api/v1/me/feed?cursor=garbage", &grace.access)
            .await,
        422,
        "validation-failed",
    )
    .await;
}

async fn bookmarks_are_idempotent_and_paginate_newest_first(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada) = setup(&app).await;
    let grace = app.verified_user("grace").await;
    let mut slugs = vec!["raft".to_owned()];
    for i in 0..11 {
        let n = create_note(
            &app,
            &ada,
            json!({"title": format!("Mark {i}"), "kind": "concept", "body_md": "x", "topics": ["rust"]}),
        )
        .await;
        slugs.push(n["slug"].as_str().unwrap().to_owned());
    }
    // Bookmark the oldest note last: the order is the bookmark's, not the note's.
    slugs.rotate_left(1);
    for slug in &slugs {
        let path = format!("/api/v1/me/bookmarks/{slug}");
        assert_eq!(put_auth(&app, &path, &grace.access).await.status(), 204);
    }
    // Again: nothing moves.
    assert_eq!(
        put_auth(
            &app,
            &format!("/api/v1/me/bookmarks/{}", slugs[0]),
            &grace.access
        )
        .await
        .status(),
        204
    );
    assert_problem(
        put_auth(&app, "/api/v1/me/bookmarks/nope", &grace.access).await,
        404,
        "not-found",
    )
    .await;

    let (items, pages) = all_pages(&app, &grace.access, "/api/v1/me/bookmarks?limit=5").await;
    assert_eq!(pages, 3);
    let got: Vec<String> = items
        .iter()
        .map(|b| b["note"]["slug"].as_str().unwrap().to_owned())
        .collect();
    let unique: HashSet<&String> = got.iter().collect();
    assert_eq!(unique.len(), got.len(), "no duplicates");
    let mut newest_first = slugs.clone();
    newest_first.reverse();
    assert_eq!(got, newest_first);
    assert!(items[0]["bookmarked_at"].is_string());

    // Removing is idempotent, and removing what was never there is fine too.
    for _ in 0..2 {
        assert_eq!(
            app.delete_auth("/api/v1/me/bookmarks/raft", &grace.access)
                .await
                .status(),
            204
        );
    }
    assert_eq!(
        app.delete_auth("/api/v1/me/bookmarks/never-was", &grace.access)
            .await
            .status(),
        204
    );
    let (items, _) = all_pages(&app, &grace.access, "/api/v1/me/bookmarks").await;
    assert_eq!(items.len(), 11);
    assert!(items.iter().all(|b| b["note"]["slug"] != "raft"));

    // A bookmarked note archived by its author leaves the list of someone else.
    assert_eq!(
        app.delete_auth(&format!("/api/v1/notes/{}", slugs[1]), &ada.access)
            .await
            .status(),
        204
    );
    let (items, _) = all_pages(&app, &grace.access, "/api/v1/me/bookmarks").await;
    assert_eq!(items.len(), 10);
    // Bookmarks are private to their owner.
    let theirs = json_of(app.get_auth("/api/v1/me/bookmarks", &ada.access).await, 200).await;
    assert_eq!(theirs["items"], json!([]));
}
