//! The read cache with Redis as the shared level: two instances behind one Redis, and a
//! Redis that stops answering. Redis is reached through a small TCP proxy owned by the
//! test, so "Redis stopped" is the proxy cutting every connection, without touching the
//! machine's Redis that other tests use.

use std::net::SocketAddr;

use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::backend_tests;
use crate::helpers::{
    Backend, TestApp, assert_problem, redis_url_or_skip, spawn_app_with, spawn_sibling,
};

backend_tests!(
    an_edit_through_one_instance_is_visible_at_once_through_the_other,
    reads_still_answer_when_redis_stops,
);

/// Forwards loopback connections to Redis until dropped or stopped.
struct RedisProxy {
    addr: SocketAddr,
    tasks: JoinSet<()>,
}

impl RedisProxy {
    async fn start(redis_url: &str) -> RedisProxy {
        let target = url::Url::parse(redis_url).unwrap();
        let target = format!(
            "{}:{}",
            target.host_str().unwrap(),
            target.port().unwrap_or(6379)
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            let mut conns = JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                conns.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        RedisProxy { addr, tasks }
    }

    fn url(&self, prefix_db: &str) -> String {
        format!("redis://{}/{prefix_db}", self.addr)
    }

    /// Stops accepting and drops every forwarded connection.
    fn stop(&mut self) {
        self.tasks.abort_all();
    }
}

async fn two_instances(backend: Backend, redis_url: &str) -> (TestApp, TestApp) {
    let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    let url = redis_url.to_owned();
    let p = prefix.clone();
    let a = spawn_app_with(
        backend,
        move |s| {
            s.redis_url = Some(nexus_core::config::SecretUrl::new(url));
            s.cache.redis_key_prefix = p;
        },
        None,
    )
    .await;
    let b = spawn_sibling(&a, |_| {}).await;
    (a, b)
}

fn note(title: &str, body: &str) -> Value {
    json!({"title": title, "kind": "concept", "body_md": body, "topics": ["rust"]})
}

async fn an_edit_through_one_instance_is_visible_at_once_through_the_other(backend: Backend) {
    let Some(redis) = redis_url_or_skip() else {
        return;
    };
    let (a, b) = two_instances(backend, &redis).await;
    let admin = a.admin("root").await;
    a.post_json(
        "/api/v1/topics",
        Some(&admin.access),
        json!({"slug": "rust", "title": "Rust"}),
    )
    .await;
    let ada = a.verified_user("ada").await;
    let resp = a
        .post_json("/api/v1/notes", Some(&ada.access), note("Shared", "one"))
        .await;
    assert_eq!(resp.status(), 201);

    // Both instances read (and so cache) the note and the topic's first page.
    for app in [&a, &b, &a, &b] {
        let n: Value = app.get_json("/api/v1/notes/shared").await;
        assert_eq!(n["body_md"], "one");
        let page: Value = app.get_json("/api/v1/notes?topic=rust").await;
        assert_eq!(page["items"].as_array().unwrap().len(), 1);
    }
    let ready: Value = b.get_json("/readyz").await;
    assert_eq!(
        ready["checks"]["cache"],
        json!({"status": "ok", "backend": "redis"})
    );

    // Edit through A; B shows it on the very next read.
    let resp = a
        .client
        .patch(a.url("/api/v1/notes/shared"))
        .bearer_auth(&ada.access)
        .header("if-match", "\"v1\"")
        .json(&json!({"body_md": "two"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let n: Value = b.get_json("/api/v1/notes/shared").await;
    assert_eq!(n["body_md"], "two");
    // A new note through B shows in A's first page at once.
    b.post_json("/api/v1/notes", Some(&ada.access), note("Newer", "x"))
        .await;
    let page: Value = a.get_json("/api/v1/notes?topic=rust").await;
    assert_eq!(page["items"][0]["slug"], "newer");
    // Archiving through A hides it on B.
    a.delete_auth("/api/v1/notes/shared", &ada.access).await;
    assert_problem(b.get("/api/v1/notes/shared").await, 404, "not-found").await;

    let metrics = b.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("cache_requests_total{cache=\"note\",result=\"shared_hit\"}")
            || metrics.contains("cache_requests_total{cache=\"note\",result=\"hit\"}"),
        "{metrics}"
    );
    drop(b);
}

async fn reads_still_answer_when_redis_stops(backend: Backend) {
    let Some(redis) = redis_url_or_skip() else {
        return;
    };
    let mut proxy = RedisProxy::start(&redis).await;
    let (a, b) = two_instances(backend, &proxy.url("0")).await;
    let admin = a.admin("root").await;
    a.post_json(
        "/api/v1/topics",
        Some(&admin.access),
        json!({"slug": "rust", "title": "Rust"}),
    )
    .await;
    let ada = a.verified_user("ada").await;
    a.post_json("/api/v1/notes", Some(&ada.access), note("Sturdy", "before"))
        .await;
    assert_eq!(b.get("/api/v1/notes/sturdy").await.status(), 200);

    proxy.stop();
    // Reads, writes and readiness all keep working, from the database.
    for app in [&a, &b] {
        assert_eq!(app.get("/api/v1/notes/sturdy").await.status(), 200);
        assert_eq!(app.get("/api/v1/notes?topic=rust").await.status(), 200);
    }
    let resp = a
        .client
        .patch(a.url("/api/v1/notes/sturdy"))
        .bearer_auth(&ada.access)
        .header("if-match", "\"v1\"")
        .json(&json!({"body_md": "after"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let n: Value = a.get_json("/api/v1/notes/sturdy").await;
    assert_eq!(n["body_md"], "after", "the writer reads its own write");
    let ready = a.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["checks"]["cache"]["status"], "degraded");
    let metrics = a.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("cache_redis_errors_total"), "{metrics}");
    drop(b);
}
