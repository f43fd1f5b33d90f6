//! The knowledge hub over HTTP, on both backends.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, TestUser, assert_problem, spawn_app};

backend_tests!(
    notes_are_created_read_listed_with_every_filter_and_archived,
    pagination_has_no_duplicate_and_no_gap_while_notes_are_inserted,
    concurrent_patches_with_the_same_if_match_let_exactly_one_win,
    updates_need_if_match_and_reads_honour_if_none_match,
    revisions_diff_and_restore_round_trip,
    backlinks_follow_edits_and_dangling_links_resolve,
    search_finds_ranks_and_honours_phrases_and_exclusions,
    drafts_are_visible_to_their_author_only,
    note_inputs_are_validated,
    topics_are_managed_by_admins_and_counted,
    cached_answers_follow_every_write,
    bulk_created_notes_are_searchable_linked_and_counted_like_api_created_ones,
);

/// An admin with three topics, and a verified author.
pub(crate) async fn setup(app: &TestApp) -> (TestUser, TestUser) {
    let admin = app.admin("root").await;
    for (slug, title) in [("rust", "Rust"), ("databases", "Databases"), ("web", "Web")] {
        let resp = app
            .post_json(
                "/api/v1/topics",
                Some(&admin.access),
                json!({"slug": slug, "title": title}),
            )
            .await;
        assert_eq!(resp.status(), 201, "topic {slug}");
    }
    let author = app.verified_user("ada").await;
    (admin, author)
}

pub(crate) async fn create(app: &TestApp, who: &TestUser, body: Value) -> Value {
    let resp = app
        .post_json("/api/v1/notes", Some(&who.access), body)
        .await;
    assert_eq!(
        resp.status(),
        201,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    resp.json().await.unwrap()
}

fn note(title: &str, body: &str, topics: &[&str]) -> Value {
    json!({"title": title, "kind": "concept", "body_md": body, "topics": topics})
}

async fn patch(
    app: &TestApp,
    who: &TestUser,
    slug: &str,
    version: Option<i64>,
    body: Value,
) -> reqwest::Response {
    let mut req = app
        .client
        .patch(app.url(&format!("/api/v1/notes/{slug}")))
        .bearer_auth(&who.access)
        .json(&body);
    if let Some(v) = version {
        req = req.header("if-match", format!("\"v{v}\""));
    }
    req.send().await.unwrap()
}

fn slugs(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["slug"].as_str().unwrap().to_owned())
        .collect()
}

async fn notes_are_created_read_listed_with_every_filter_and_archived(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada) = setup(&app).await;
    let grace = app.verified_user("grace").await;

    let created = create(
        &app,
        &ada,
        json!({"title": "Ownership in Rust", "kind": "concept", "body_md": "Every value has **one** owner.",
               "topics": ["rust"], "tags": ["memory", "Borrowing"]}),
    )
    .await;
    assert_eq!(created["slug"], "ownership-in-rust");
    assert_eq!(created["version"], 1);
    assert_eq!(created["status"], "published");
    assert_eq!(created["author"]["handle"], "ada");
    assert_eq!(created["tags"], json!(["borrowing", "memory"]));
    assert_eq!(created["summary"], "Every value has one owner.");
    assert!(
        created["body_html"]
            .as_str()
            .unwrap()
            .contains("<strong>one</strong>")
    );
    // Same title again: a distinct slug.
    let again = create(&app, &ada, note("Ownership in Rust", "Again.", &["rust"])).await;
    assert_eq!(again["slug"], "ownership-in-rust-2");
    create(
        &app,
        &grace,
        json!({"title": "Slow query", "kind": "challenge", "body_md": "A join without an index.",
               "topics": ["databases", "rust"], "tags": ["sql"],
               "problem": "p99 of 2 s", "solution": "an index on the foreign key", "outcome": "p99 of 20 ms"}),
    )
    .await;

    let detail: Value = app.get_json("/api/v1/notes/ownership-in-rust").await;
    for field in [
        "id",
        "slug",
        "title",
        "kind",
        "summary",
        "body_md",
        "body_html",
        "topics",
        "tags",
        "author",
        "version",
        "created_at",
        "updated_at",
    ] {
        assert!(detail.get(field).is_some(), "detail has {field}");
    }

    let app = &app;
    let list = |q: &'static str| async move {
        let resp = app.get(&format!("/api/v1/notes?{q}")).await;
        assert_eq!(resp.status(), 200, "{q}");
        slugs(&resp.json::<Value>().await.unwrap())
    };
    assert_eq!(
        list("").await,
        ["slow-query", "ownership-in-rust-2", "ownership-in-rust"]
    );
    assert_eq!(list("topic=databases").await, ["slow-query"]);
    assert_eq!(list("kind=challenge").await, ["slow-query"]);
    assert_eq!(
        list("author=ada").await,
        ["ownership-in-rust-2", "ownership-in-rust"]
    );
    assert_eq!(list("tag=memory").await, ["ownership-in-rust"]);
    assert_eq!(
        list("topic=rust&kind=concept&author=ada&tag=borrowing").await,
        ["ownership-in-rust"]
    );
    assert_eq!(list("author=nobody").await, Vec::<String>::new());
    assert_eq!(list("topic=web").await, Vec::<String>::new());
    let page: Value = app.get_json("/api/v1/notes?topic=rust&limit=1").await;
    let item = &page["items"][0];
    for field in [
        "slug",
        "title",
        "kind",
        "summary",
        "topics",
        "author",
        "created_at",
    ] {
        assert!(item.get(field).is_some(), "list item has {field}");
    }
    assert_eq!(item["topics"], json!(["databases", "rust"]));

    // Sorting by last update: an edit moves a note to the front.
    assert_eq!(
        patch(
            app,
            &ada,
            "ownership-in-rust",
            Some(1),
            json!({"body_md": "Edited."})
        )
        .await
        .status(),
        200
    );
    assert_eq!(list("sort=updated").await[0], "ownership-in-rust");

    // Archive: gone from lists, kept for its author.
    let resp = app
        .delete_auth("/api/v1/notes/ownership-in-rust-2", &grace.access)
        .await;
    assert_problem(resp, 403, "forbidden").await;
    let resp = app
        .delete_auth("/api/v1/notes/ownership-in-rust-2", &ada.access)
        .await;
    assert_eq!(resp.status(), 204);
    assert!(!list("").await.contains(&"ownership-in-rust-2".to_owned()));
    assert_problem(
        app.get("/api/v1/notes/ownership-in-rust-2").await,
        404,
        "not-found",
    )
    .await;
    assert_eq!(
        app.get_auth("/api/v1/notes/ownership-in-rust-2", &ada.access)
            .await
            .status(),
        200
    );
    let archived: Value = app
        .get_auth_json("/api/v1/notes?status=archived", &ada.access)
        .await;
    assert_eq!(slugs(&archived), ["ownership-in-rust-2"]);

    for bad in [
        "kind=poem",
        "sort=random",
        "limit=0",
        "limit=1000000",
        "cursor=nope",
    ] {
        let resp = app.get(&format!("/api/v1/notes?{bad}")).await;
        assert!(
            matches!(resp.status().as_u16(), 400 | 422),
            "{bad}: {}",
            resp.status()
        );
    }
}

async fn pagination_has_no_duplicate_and_no_gap_while_notes_are_inserted(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada) = setup(&app).await;
    let mut expected = HashSet::new();
    for i in 0..250 {
        let n = create(
            &app,
            &ada,
            note(&format!("Note {i}"), &format!("Body {i}"), &["rust"]),
        )
        .await;
        expected.insert(n["slug"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/notes?topic=rust&limit=20&cursor={c}"),
            None => "/api/v1/notes?topic=rust&limit=20".to_owned(),
        };
        let page: Value = app.get_json(&path).await;
        seen.extend(slugs(&page));
        pages += 1;
        // Someone writes while we page.
        create(
            &app,
            &ada,
            note(&format!("Interleaved {pages}"), "new", &["rust"]),
        )
        .await;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let unique: HashSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no duplicates");
    assert_eq!(
        unique, expected,
        "exactly the notes that existed when paging began"
    );
    assert_eq!(pages, 13);
}

async fn concurrent_patches_with_the_same_if_match_let_exactly_one_win(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada) = setup(&app).await;
    create(&app, &ada, note("Contended", "v1", &["rust"])).await;
    let (a, b) = tokio::join!(
        patch(
            &app,
            &ada,
            "contended",
            Some(1),
            json!({"body_md": "from A"})
        ),
        patch(
            &app,
            &ada,
            "contended",
            Some(1),
            json!({"body_md": "from B"})
        ),
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 412]);
    let now: Value = app.get_json("/api/v1/notes/contended").await;
    assert_eq!(now["version"], 2);
    let revisions: Value = app.get_json("/api/v1/notes/contended/revisions").await;
    assert_eq!(
        revisions.as_array().unwrap().len(),
        2,
        "the loser left no revision"
    );
}

async fn updates_need_if_match_and_reads_honour_if_none_match(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada) = setup(&app).await;
    create(&app, &ada, note("Cached", "v1", &["rust"])).await;
    let resp = app.get("/api/v1/notes/cached").await;
    let tag = resp.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(tag, "\"v1\"");
    let resp = app
        .client
        .get(app.url("/api/v1/notes/cached"))
        .header("if-none-match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 304);

    assert_problem(
        patch(&app, &ada, "cached", None, json!({"title": "x"})).await,
        428,
        "precondition-required",
    )
    .await;
    assert_problem(
        patch(&app, &ada, "cached", Some(7), json!({"title": "x"})).await,
        412,
        "precondition-failed",
    )
    .await;
    let garbage = app
        .client
        .patch(app.url("/api/v1/notes/cached"))
        .bearer_auth(&ada.access)
        .header("if-match", "whatever")
        .json(&json!({"title": "x"}))
        .send()
        .await
        .unwrap();
    // If-Match has one form, the ETag this API sends; anything else is malformed.
    assert_problem(garbage, 400, "bad-request").await;
    let ok = patch(
        &app,
        &ada,
        "cached",
        Some(1),
        json!({"title": "Cached twice"}),
    )
    .await;
    assert_eq!(ok.headers()["etag"], "\"v2\"");
    let resp = app
        .client
        .get(app.url("/api/v1/notes/cached"))
        .header("if-none-match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "a stale ETag gets the new version");
    // The slug stays when the title changes.
    assert_eq!(resp.json::<Value>().await.unwrap()["title"], "Cached twice");
}

async fn revisions_diff_and_restore_round_trip(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada) = setup(&app).await;
    create(
        &app,
        &ada,
        note("History", "line one\nline two\n", &["rust"]),
    )
    .await;
    let resp = patch(
        &app,
        &ada,
        "history",
        Some(1),
        json!({"body_md": "line one\nline 2\n", "message": "fix wording"}),
    )
    .await;
    assert_eq!(resp.status(), 200);

    let revisions: Value = app.get_json("/api/v1/notes/history/revisions").await;
    assert_eq!(revisions[0]["number"], 2);
    assert_eq!(revisions[0]["message"], "fix wording");
    assert_eq!(revisions[0]["editor"], "ada");
    assert_eq!(revisions[1]["number"], 1);
    let first: Value = app.get_json("/api/v1/notes/history/revisions/1").await;
    assert_eq!(first["body_md"], "line one\nline two");

    let diff: Value = app.get_json("/api/v1/notes/history/diff?from=1&to=2").await;
    let unified = diff["unified"].as_str().unwrap();
    assert!(
        unified.contains("-line two") && unified.contains("+line 2"),
        "{unified}"
    );

    let restored = app
        .client
        .post(app.url("/api/v1/notes/history/revisions/1/restore"))
        .bearer_auth(&ada.access)
        .send()
        .await
        .unwrap();
    assert_eq!(restored.status(), 200);
    let restored: Value = restored.json().await.unwrap();
    assert_eq!(restored["version"], 3);
    assert_eq!(restored["body_md"], "line one\nline two");
    let back: Value = app.get_json("/api/v1/notes/history/diff?from=1&to=3").await;
    assert!(
        !back["unified"].as_str().unwrap().contains("+line"),
        "{back}"
    );

    assert_problem(
        app.get("/api/v1/notes/history/revisions/99").await,
        404,
        "not-found",
    )
    .await;
    let problem = assert_problem(
        app.get("/api/v1/notes/history/diff?from=1").await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "to");
}

async fn backlinks_follow_edits_and_dangling_links_resolve(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada) = setup(&app).await;
    create(
        &app,
        &ada,
        note(
            "Raft",
            "Consensus. See [[paxos]] and [[Leader Election]].",
            &["databases"],
        ),
    )
    .await;
    // Paxos does not exist yet: the link waits.
    assert_problem(
        app.get("/api/v1/notes/paxos/backlinks").await,
        404,
        "not-found",
    )
    .await;
    create(&app, &ada, note("Paxos", "The original.", &["databases"])).await;
    let back: Value = app.get_json("/api/v1/notes/paxos/backlinks").await;
    assert_eq!(back.as_array().unwrap().len(), 1);
    assert_eq!(back[0]["slug"], "raft");
    create(
        &app,
        &ada,
        note("Leader election", "Who leads.", &["databases"]),
    )
    .await;
    let back: Value = app
        .get_json("/api/v1/notes/leader-election/backlinks")
        .await;
    assert_eq!(back[0]["slug"], "raft");

    // A markdown link counts too, and removing links removes backlinks.
    create(
        &app,
        &ada,
        note("Zab", "Like [Paxos](/notes/paxos).", &["databases"]),
    )
    .await;
    let back: Value = app.get_json("/api/v1/notes/paxos/backlinks").await;
    assert_eq!(back.as_array().unwrap().len(), 2);
    assert_eq!(
        patch(
            &app,
            &ada,
            "raft",
            Some(1),
            json!({"body_md": "No links now."})
        )
        .await
        .status(),
        200
    );
    let back: Value = app.get_json("/api/v1/notes/paxos/backlinks").await;
    assert_eq!(slugs(&json!({"items": back})), ["zab"]);

    let related: Value = app.get_json("/api/v1/topics/databases/related").await;
    assert_eq!(related, json!([]));
}

async fn search(app: &TestApp, q: &str) -> Vec<String> {
    let resp = app
        .client
        .get(app.url("/api/v1/search"))
        .query(&[("q", q)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{q}");
    let body: Value = resp.json().await.unwrap();
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["slug"].as_str().unwrap().to_owned())
        .collect()
}

async fn search_finds_ranks_and_honours_phrases_and_exclusions(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada) = setup(&app).await;
    create(
        &app,
        &ada,
        note(
            "Indexes in practice",
            "Why a B-tree helps range scans.",
            &["databases"],
        ),
    )
    .await;
    create(
        &app,
        &ada,
        note(
            "Query planning",
            "The planner picks indexes by cost; see the borrow checker elsewhere.",
            &["databases"],
        ),
    )
    .await;
    create(
        &app,
        &ada,
        note(
            "Lifetimes",
            "The borrow checker proves references valid.",
            &["rust"],
        ),
    )
    .await;
    create(
        &app,
        &ada,
        note(
            "Checker of borrow",
            "Words in the wrong order: checker borrow.",
            &["rust"],
        ),
    )
    .await;

    // Found right after the write, by a body word.
    assert_eq!(search(&app, "proves").await, ["lifetimes"]);
    // Title matches rank first.
    assert_eq!(search(&app, "indexes").await[0], "indexes-in-practice");
    // Phrases.
    let phrase = search(&app, "\"borrow checker\"").await;
    assert!(
        phrase.contains(&"lifetimes".to_owned())
            && !phrase.contains(&"checker-of-borrow".to_owned()),
        "{phrase:?}"
    );
    // Exclusions and OR.
    assert_eq!(
        search(&app, "\"borrow checker\" -planner").await,
        ["lifetimes"]
    );
    let either = search(&app, "proves OR scans").await;
    assert_eq!(either.len(), 2, "{either:?}");
    // Filters.
    assert_eq!(search(&app, "borrow topic").await.len(), 0);
    let resp = app
        .client
        .get(app.url("/api/v1/search"))
        .query(&[("q", "checker"), ("topic", "rust"), ("kind", "concept")])
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["items"].as_array().unwrap().len(), 2);
    let snippet = body["items"][0]["snippet"].as_str().unwrap();
    assert!(snippet.contains("<mark>"), "{snippet}");

    // Hostile queries: an empty answer or a clear 4xx, never a 500.
    for q in [
        "",
        "?!*()",
        "\"",
        "-",
        "NEAR(a b)",
        "a\" OR \"b",
        "*",
        "' OR 1=1 --",
    ] {
        let resp = app
            .client
            .get(app.url("/api/v1/search"))
            .query(&[("q", q)])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{q}");
    }
    let long = "x".repeat(10_000);
    let resp = app
        .client
        .get(app.url("/api/v1/search"))
        .query(&[("q", long.as_str())])
        .send()
        .await
        .unwrap();
    assert_problem(resp, 422, "validation-failed").await;
    let problem = assert_problem(app.get("/api/v1/search").await, 422, "validation-failed").await;
    assert_eq!(problem["errors"][0]["field"], "q");

    // Archived notes leave the index.
    app.delete_auth("/api/v1/notes/lifetimes", &ada.access)
        .await;
    assert_eq!(search(&app, "proves").await, Vec::<String>::new());
}

async fn drafts_are_visible_to_their_author_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let (admin, ada) = setup(&app).await;
    let grace = app.verified_user("grace").await;
    let mut draft = note("Secret plan", "Not yet.", &["rust"]);
    draft["status"] = json!("draft");
    create(&app, &ada, draft).await;

    assert_eq!(
        app.get_auth("/api/v1/notes/secret-plan", &ada.access)
            .await
            .status(),
        200
    );
    assert_problem(app.get("/api/v1/notes/secret-plan").await, 404, "not-found").await;
    assert_problem(
        app.get_auth("/api/v1/notes/secret-plan", &grace.access)
            .await,
        404,
        "not-found",
    )
    .await;
    assert_problem(
        app.get_auth("/api/v1/notes/secret-plan", &admin.access)
            .await,
        404,
        "not-found",
    )
    .await;
    assert_problem(
        app.get("/api/v1/notes/secret-plan/revisions").await,
        404,
        "not-found",
    )
    .await;
    assert_problem(
        patch(
            &app,
            &grace,
            "secret-plan",
            Some(1),
            json!({"title": "mine"}),
        )
        .await,
        404,
        "not-found",
    )
    .await;
    assert_problem(
        app.delete_auth("/api/v1/notes/secret-plan", &grace.access)
            .await,
        404,
        "not-found",
    )
    .await;
    assert_eq!(search(&app, "plan").await, Vec::<String>::new());

    let public: Value = app.get_json("/api/v1/notes").await;
    assert!(slugs(&public).is_empty());
    let mine: Value = app
        .get_auth_json("/api/v1/notes?status=draft", &ada.access)
        .await;
    assert_eq!(slugs(&mine), ["secret-plan"]);
    let theirs: Value = app
        .get_auth_json("/api/v1/notes?status=draft", &grace.access)
        .await;
    assert!(slugs(&theirs).is_empty());
    let peek: Value = app
        .get_auth_json("/api/v1/notes?status=draft&author=ada", &grace.access)
        .await;
    assert!(slugs(&peek).is_empty());
    assert_problem(
        app.get("/api/v1/notes?status=draft").await,
        401,
        "unauthenticated",
    )
    .await;

    // Publishing makes it public.
    assert_eq!(
        patch(
            &app,
            &ada,
            "secret-plan",
            Some(1),
            json!({"status": "published"})
        )
        .await
        .status(),
        200
    );
    assert_eq!(app.get("/api/v1/notes/secret-plan").await.status(), 200);
    // Another user may not edit it.
    assert_problem(
        patch(
            &app,
            &grace,
            "secret-plan",
            Some(2),
            json!({"title": "mine"}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
}

async fn note_inputs_are_validated(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada) = setup(&app).await;
    let fields = |v: &Value| -> Vec<String> {
        v["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect()
    };
    let resp = app
        .post_json(
            "/api/v1/notes",
            Some(&ada.access),
            json!({"title": "Hard bug", "kind": "challenge", "body_md": "x", "topics": ["rust"]}),
        )
        .await;
    let body = assert_problem(resp, 422, "validation-failed").await;
    assert_eq!(fields(&body), ["problem", "solution", "outcome"]);

    let resp = app
        .post_json(
            "/api/v1/notes",
            Some(&ada.access),
            json!({"title": "", "kind": "concept", "body_md": "x", "topics": ["rust", "nope"], "tags": ["Bad Tag!"]}),
        )
        .await;
    let body = assert_problem(resp, 422, "validation-failed").await;
    let f = fields(&body);
    for expected in ["title", "tags[0]", "topics[1]"] {
        assert!(f.contains(&expected.to_owned()), "{f:?}");
    }
    let six = json!({"title": "t", "kind": "concept", "body_md": "x", "topics": ["a", "b", "c", "d", "e", "f"]});
    assert_problem(
        app.post_json("/api/v1/notes", Some(&ada.access), six).await,
        422,
        "validation-failed",
    )
    .await;
    let none = json!({"title": "t", "kind": "concept", "body_md": "x", "topics": []});
    assert_problem(
        app.post_json("/api/v1/notes", Some(&ada.access), none)
            .await,
        422,
        "validation-failed",
    )
    .await;
    let huge = json!({"title": "t", "kind": "concept", "body_md": "x".repeat(100_001), "topics": ["rust"]});
    assert_problem(
        app.post_json("/api/v1/notes", Some(&ada.access), huge)
            .await,
        422,
        "validation-failed",
    )
    .await;
    let kind = json!({"title": "t", "kind": "poem", "body_md": "x", "topics": ["rust"]});
    assert_problem(
        app.post_json("/api/v1/notes", Some(&ada.access), kind)
            .await,
        422,
        "validation-failed",
    )
    .await;

    // XSS in the body is rendered harmless.
    let xss = create(
        &app,
        &ada,
        note(
            "Unicode ✓ and XSS",
            "<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[x](javascript:alert(1)) 名前",
            &["web"],
        ),
    )
    .await;
    let html = xss["body_html"].as_str().unwrap();
    assert!(
        !html.contains("<script")
            && !html.contains("onerror")
            && !html.contains("href=\"javascript"),
        "{html}"
    );
    assert!(html.contains("名前"));
    assert_eq!(
        xss["slug"], "unicode-ok-and-xss",
        "✓ transliterates to `ok`"
    );

    // An unverified account may read but not publish.
    assert_eq!(
        app.register("new@example.com", "newbie").await.status(),
        202
    );
    let login: Value = app
        .login("new@example.com", crate::helpers::PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap();
    let resp = app
        .post_json("/api/v1/notes", Some(token), note("Mine", "x", &["rust"]))
        .await;
    assert_problem(resp, 403, "forbidden").await;
    assert_problem(
        app.post_json("/api/v1/notes", None, note("Mine", "x", &["rust"]))
            .await,
        401,
        "unauthenticated",
    )
    .await;
}

async fn topics_are_managed_by_admins_and_counted(backend: Backend) {
    let app = spawn_app(backend).await;
    let (admin, ada) = setup(&app).await;
    let resp = app
        .post_json(
            "/api/v1/topics",
            Some(&ada.access),
            json!({"title": "Mine"}),
        )
        .await;
    assert_problem(resp, 403, "forbidden").await;
    let resp = app
        .post_json(
            "/api/v1/topics",
            Some(&admin.access),
            json!({"slug": "rust", "title": "Again"}),
        )
        .await;
    assert_problem(resp, 409, "conflict").await;
    let resp = app
        .post_json(
            "/api/v1/topics",
            Some(&admin.access),
            json!({"title": "Système distribué"}),
        )
        .await;
    assert_eq!(
        resp.json::<Value>().await.unwrap()["slug"],
        "systeme-distribue"
    );
    let resp = app
        .post_json(
            "/api/v1/topics",
            Some(&admin.access),
            json!({"slug": "Bad Slug", "title": "x"}),
        )
        .await;
    assert_problem(resp, 422, "validation-failed").await;

    create(&app, &ada, note("One", "x", &["rust", "web"])).await;
    create(&app, &ada, note("Two", "x", &["rust", "web"])).await;
    create(&app, &ada, note("Three", "x", &["rust", "databases"])).await;
    let topics: Value = app.get_json("/api/v1/topics").await;
    let rust = topics
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["slug"] == "rust")
        .unwrap();
    assert_eq!(rust["note_count"], 3);
    let related: Value = app.get_json("/api/v1/topics/rust/related").await;
    assert_eq!(
        related,
        json!([{"slug": "web", "title": "Web", "shared_notes": 2}, {"slug": "databases", "title": "Databases", "shared_notes": 1}])
    );

    let resp = app
        .patch_json(
            "/api/v1/topics/rust",
            Some(&admin.access),
            json!({"description": "Systems programming"}),
        )
        .await;
    assert_eq!(
        resp.json::<Value>().await.unwrap()["description"],
        "Systems programming"
    );
    assert_problem(app.get("/api/v1/topics/nope").await, 404, "not-found").await;
}

async fn cached_answers_follow_every_write(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada) = setup(&app).await;
    create(&app, &ada, note("Cached read", "first", &["rust"])).await;
    for _ in 0..3 {
        let n: Value = app.get_json("/api/v1/notes/cached-read").await;
        assert_eq!(n["body_md"], "first");
        let page: Value = app.get_json("/api/v1/notes?topic=rust").await;
        assert_eq!(slugs(&page), ["cached-read"]);
    }
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(r#"cache_requests_total{cache="note",result="hit"}"#),
        "{metrics}"
    );

    // Each kind of write shows at once in the next read.
    assert_eq!(
        patch(
            &app,
            &ada,
            "cached-read",
            Some(1),
            json!({"body_md": "second"})
        )
        .await
        .status(),
        200
    );
    let n: Value = app.get_json("/api/v1/notes/cached-read").await;
    assert_eq!(n["body_md"], "second");
    create(&app, &ada, note("Newer", "x", &["rust"])).await;
    let page: Value = app.get_json("/api/v1/notes?topic=rust").await;
    assert_eq!(slugs(&page), ["newer", "cached-read"]);
    app.patch_json(
        "/api/v1/me",
        Some(&ada.access),
        json!({"display_name": "Ada Lovelace"}),
    )
    .await;
    let n: Value = app.get_json("/api/v1/notes/cached-read").await;
    assert_eq!(n["author"]["display_name"], "Ada Lovelace");
    let page: Value = app.get_json("/api/v1/notes?topic=rust").await;
    assert_eq!(page["items"][0]["author"]["display_name"], "Ada Lovelace");
    app.delete_auth("/api/v1/notes/cached-read", &ada.access)
        .await;
    assert_problem(app.get("/api/v1/notes/cached-read").await, 404, "not-found").await;
    let page: Value = app.get_json("/api/v1/notes?topic=rust").await;
    assert_eq!(slugs(&page), ["newer"]);
}

/// Notes covering what creation derives: a link forward to a note created later, a link
/// back, a self-link, a link to nothing, a title two notes share (slug clash), tags, a
/// challenge, a draft and topics shared between notes.
fn derivation_cases() -> Vec<Value> {
    vec![
        json!({"title": "Raft leader election", "kind": "concept",
               "body_md": "Terms and votes; see [[quorum-reads]] and [[raft-leader-election]].",
               "topics": ["databases", "web"], "tags": ["consensus", "raft"]}),
        json!({"title": "Quorum reads", "kind": "practice",
               "body_md": "Read from a majority. Compare [[raft-leader-election]] and [[nowhere]].",
               "topics": ["databases"]}),
        json!({"title": "Quorum reads", "kind": "guide",
               "body_md": "A second note of the same title: leader leases.",
               "topics": ["rust", "Databases "]}),
        json!({"title": "Slow join", "kind": "challenge", "body_md": "A join on **leader** ids.",
               "topics": ["databases"], "problem": "Seconds per page.",
               "solution": "An index on the join column.", "outcome": "Milliseconds."}),
        json!({"title": "Draft on votes", "kind": "takeaway", "body_md": "Unfinished leader notes.",
               "topics": ["rust"], "status": "draft"}),
    ]
}

/// What a client can observe of a note set: every note as its author sees it (minus ids
/// and times), backlinks, revisions, topic counts and search answers.
async fn observable_state(app: &TestApp, who: &TestUser, slugs: &[String]) -> Value {
    let mut notes = Vec::new();
    for slug in slugs {
        let mut n = app
            .get_auth_json(&format!("/api/v1/notes/{slug}"), &who.access)
            .await;
        for volatile in ["id", "created_at", "updated_at", "published_at"] {
            n.as_object_mut().unwrap().remove(volatile);
        }
        let backlinks = app
            .get_auth_json(&format!("/api/v1/notes/{slug}/backlinks"), &who.access)
            .await;
        let revisions = app
            .get_auth_json(&format!("/api/v1/notes/{slug}/revisions"), &who.access)
            .await;
        let revisions: Vec<Value> = revisions
            .as_array()
            .unwrap()
            .iter()
            .map(|r| json!([r["number"], r["editor"], r["message"]]))
            .collect();
        notes.push(json!({"note": n, "backlinks": slugs_of(&backlinks), "revisions": revisions}));
    }
    let topics: Vec<Value> = app
        .get_json("/api/v1/topics")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|t| json!([t["slug"], t["note_count"]]))
        .collect();
    let mut searches = Vec::new();
    for q in [
        "leader",
        "quorum",
        "index join",
        "\"leader leases\"",
        "leader -raft",
    ] {
        let hits = app
            .get_json(&format!("/api/v1/search?q={}", urlencode(q)))
            .await;
        searches.push(json!([q, hits]));
    }
    let listed = app.get_json("/api/v1/notes?topic=databases").await;
    json!({"notes": notes, "topics": topics, "searches": searches,
           "listed": slugs_of(&listed["items"])})
}

fn slugs_of(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["slug"].as_str().unwrap().to_owned())
        .collect()
}

fn urlencode(q: &str) -> String {
    url::form_urlencoded::byte_serialize(q.as_bytes()).collect()
}

async fn bulk_created_notes_are_searchable_linked_and_counted_like_api_created_ones(
    backend: Backend,
) {
    // One by one through the API.
    let api = spawn_app(backend).await;
    let (_, ada) = setup(&api).await;
    let mut api_slugs = Vec::new();
    for body in derivation_cases() {
        api_slugs.push(
            create(&api, &ada, body).await["slug"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }

    // The same notes through the bulk path, in two batches, the first holding a note
    // whose link the second resolves.
    let bulk = spawn_app(backend).await;
    let (_, ada_bulk) = setup(&bulk).await;
    let services = &bulk.state.services;
    let user = nexus_db::identity::user_by_handle(&services.db, "ada")
        .await
        .unwrap()
        .unwrap();
    let author = nexus_service::actor::AuthUser {
        id: user.id,
        handle: "ada".into(),
        role: nexus_core::identity::Role::Learner,
        verified: true,
        credential: nexus_service::actor::Credential::Session(uuid::Uuid::nil()),
    };
    let topics = services
        .hub()
        .notes()
        .known_topics(&["rust".into(), "databases".into(), "web".into()])
        .await
        .unwrap();
    let prepared: Vec<_> = derivation_cases()
        .into_iter()
        .map(|body| {
            let input = serde_json::from_value(body).unwrap();
            services
                .hub()
                .notes()
                .prepare(&author, input, &topics)
                .unwrap()
        })
        .collect();
    let (first, second) = prepared.split_at(1);
    let notes = services.hub().notes();
    let mut bulk_slugs = notes.create_prepared(first).await.unwrap();
    bulk_slugs.extend(notes.create_prepared(second).await.unwrap());

    assert_eq!(bulk_slugs, api_slugs);
    assert_eq!(api_slugs[1], "quorum-reads");
    assert_eq!(api_slugs[2], "quorum-reads-2", "a clash within one batch");
    let expected = observable_state(&api, &ada, &api_slugs).await;
    assert_eq!(
        observable_state(&bulk, &ada_bulk, &bulk_slugs).await,
        expected
    );
    // The comparison means something: links, counts and search results are there.
    assert_eq!(expected["notes"][0]["backlinks"], json!(["quorum-reads"]));
    assert_eq!(
        expected["notes"][1]["backlinks"],
        json!(["raft-leader-election"])
    );
    assert_eq!(
        expected["topics"],
        json!([["databases", 4], ["rust", 1], ["web", 1]])
    );
    assert_eq!(
        expected["searches"][0][1]["items"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
}
