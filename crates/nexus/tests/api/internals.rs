//! No answer a client sees names a table, a column or a constraint: database errors are
//! mapped to the domain's rules in one table (`nexus_db::constraints`), and the engine's
//! own words go only to the log.

use axum::response::IntoResponse;
use nexus_core::{AppError, Unique};
use nexus_db::{Backend as Engine, Exec, query};
use uuid::Uuid;

use crate::backend_tests;
use crate::helpers::{Backend, spawn_app};

backend_tests!(
    unique_violations_become_domain_rules,
    no_answer_names_a_table_column_or_constraint,
);

/// Every table, `table.column` pair and constraint of the schema: the words that must
/// never reach a client.
async fn schema_names(db: &nexus_db::Db) -> Vec<String> {
    let mut x = Exec::from(db);
    let mut names = Vec::new();
    match x.backend() {
        Engine::Postgres => {
            let columns: Vec<(String, String)> = x
                .fetch_all(query(
                    "SELECT table_name::text, column_name::text FROM information_schema.columns \
                     WHERE table_schema = current_schema()",
                ))
                .await
                .unwrap();
            for (t, c) in columns {
                names.push(format!("{t}.{c}"));
                names.push(t);
            }
            let constraints: Vec<String> = x
                .scalars(query(
                    "SELECT conname::text FROM pg_constraint c JOIN pg_namespace n \
                     ON n.oid = c.connamespace WHERE n.nspname = current_schema()",
                ))
                .await
                .unwrap();
            names.extend(constraints);
        }
        Engine::Sqlite => {
            let tables: Vec<String> = x
                .scalars(query(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                ))
                .await
                .unwrap();
            for t in tables {
                let columns: Vec<String> = x
                    .scalars(query("SELECT name FROM pragma_table_info($1)").bind(&t))
                    .await
                    .unwrap();
                names.extend(columns.into_iter().map(|c| format!("{t}.{c}")));
                names.push(t);
            }
            let schema: Vec<String> = x
                .scalars(query("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL"))
                .await
                .unwrap();
            for sql in schema {
                let mut words = sql.split_whitespace();
                while let Some(w) = words.next() {
                    if w.eq_ignore_ascii_case("CONSTRAINT")
                        && let Some(name) = words.next()
                    {
                        names.push(name.to_owned());
                    }
                }
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

/// The words of an answer a server writes: a problem's title, detail and field errors
/// (its `instance` is the request's own path, and `type` a fixed URI), or a whole body.
fn told(text: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) if v.get("type").is_some() => [&v["title"], &v["detail"], &v["errors"]]
            .iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(" "),
        _ => text.to_owned(),
    }
}

fn assert_names_nothing(text: &str, names: &[String], what: &str) {
    let text = &told(text);
    let lower = text.to_lowercase();
    for word in [
        "constraint",
        "violates",
        "sqlite",
        "sqlx",
        "duplicate key",
        "relation \"",
    ] {
        assert!(!lower.contains(word), "{what} says `{word}`: {text}");
    }
    for name in names {
        // Whole words, so that `users.handle` and `users_handle_key` are found but the
        // word `handle` in a sentence is not.
        let found = text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .any(|w| w.trim_matches('.') == name);
        assert!(!found, "{what} names `{name}`: {text}");
    }
}

/// A unique violation, on either engine, is the domain rule it broke, whether the
/// statement ran on the pool or in a transaction.
async fn unique_violations_become_domain_rules(backend: Backend) {
    let app = spawn_app(backend).await;
    let db = &app.state.db;
    let now = chrono::Utc::now();
    nexus_db::hub::insert_topic(db, Uuid::now_v7(), "dup", "Dup", "", now)
        .await
        .unwrap();
    let err = nexus_db::hub::insert_topic(db, Uuid::now_v7(), "dup", "Dup", "", now)
        .await
        .unwrap_err();
    assert!(
        matches!(err, AppError::Duplicate(Unique::TopicSlug)),
        "{err:?}"
    );
    let mut tx = db.begin().await.unwrap();
    let err = nexus_db::hub::insert_topic(&mut tx, Uuid::now_v7(), "dup", "Dup", "", now)
        .await
        .unwrap_err();
    assert!(
        matches!(err, AppError::Duplicate(Unique::TopicSlug)),
        "{err:?}"
    );
    drop(tx);

    app.verified_user("taken-handle").await;
    let err = Exec::from(db)
        .execute(
            query(
                "INSERT INTO users (id, email, email_normalized, handle, display_name, role, \
                 password_hash, created_at, updated_at) \
                 VALUES ($1, 'x@example.com', 'x@example.com', 'taken-handle', 'X', 'learner', 'h', $2, $2)",
            )
            .bind(Uuid::now_v7())
            .bind(now),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, AppError::Duplicate(Unique::AccountHandle)),
        "{err:?}"
    );

    let head = nexus_db::learning::CourseHead {
        title: "Dup",
        summary: "",
        level: "beginner",
        duration_weeks: 1,
    };
    nexus_db::learning::insert_course(db, Uuid::now_v7(), "dup", &head, now)
        .await
        .unwrap();
    let err = nexus_db::learning::insert_course(db, Uuid::now_v7(), "dup", &head, now)
        .await
        .unwrap_err();
    assert!(
        matches!(err, AppError::Duplicate(Unique::CourseSlug)),
        "{err:?}"
    );

    // Two collaboration requests crossing each other (each past the use case's check
    // that none is pending): the second is refused whichever of the two asked.
    let mut ids = Vec::new();
    for handle in ["cross-ada", "cross-bea"] {
        app.verified_user(handle).await;
        let user = nexus_db::identity::user_by_handle(db, handle)
            .await
            .unwrap()
            .unwrap();
        ids.push(user.id);
    }
    let (ada, bea) = (ids[0], ids[1]);
    let request = |requester, partner| nexus_db::collaboration::NewCollaboration {
        id: Uuid::now_v7(),
        requester,
        partner,
        project_title: "Crossed",
        message: "",
        now,
    };
    nexus_db::collaboration::insert_collaboration(db, &request(ada, bea))
        .await
        .unwrap();
    for (requester, partner) in [(ada, bea), (bea, ada)] {
        let err = nexus_db::collaboration::insert_collaboration(db, &request(requester, partner))
            .await
            .unwrap_err();
        assert!(
            matches!(err, AppError::Duplicate(Unique::CollaborationRequest)),
            "{err:?}"
        );
    }
}

/// The answers of every path where the database refuses a write, and of each rule as a
/// problem, name no table, column or constraint of the schema.
async fn no_answer_names_a_table_column_or_constraint(backend: Backend) {
    let app = spawn_app(backend).await;
    let names = schema_names(&app.state.db).await;
    assert!(names.iter().any(|n| n == "users.handle"), "{names:?}");

    // Each rule as the API renders it.
    for rule in [
        Unique::AccountEmail,
        Unique::AccountHandle,
        Unique::TopicSlug,
        Unique::NoteSlug,
        Unique::Bookmark,
        Unique::TokenHash,
        Unique::JobDedupeKey,
        Unique::IdempotencyKey,
        Unique::CollaborationRequest,
        Unique::Other,
    ] {
        let resp = nexus_http::ApiError(AppError::Duplicate(rule)).into_response();
        assert_eq!(resp.status(), 409);
        let body = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .unwrap();
        assert_names_nothing(
            &String::from_utf8_lossy(&body),
            &names,
            &format!("{rule:?}"),
        );
    }

    // Races past the use cases' own checks: the database decides, the client gets the
    // rule. Eight registrations of one handle and eight creations of one topic at once.
    let admin = app.admin("race-admin").await;
    let mut answers = Vec::new();
    let registrations = (0..8).map(|i| {
        let app = &app;
        async move {
            app.register(&format!("racer{i}@example.com"), "one-handle")
                .await
        }
    });
    let topics = (0..8).map(|_| {
        let (app, token) = (&app, admin.access.clone());
        async move {
            app.post_json(
                "/api/v1/topics",
                Some(&token),
                serde_json::json!({"slug": "one-topic", "title": "One topic"}),
            )
            .await
        }
    });
    for resp in futures::future::join_all(registrations).await {
        answers.push(resp);
    }
    for resp in futures::future::join_all(topics).await {
        answers.push(resp);
    }
    let mut refused = 0;
    for resp in answers {
        let status = resp.status().as_u16();
        assert!(status < 500, "a race is never a server error: {status}");
        if status >= 400 {
            refused += 1;
        }
        let text = resp.text().await.unwrap();
        assert_names_nothing(&text, &names, "a raced write");
    }
    assert!(refused >= 7, "only one topic can win: {refused} refused");
}
