//! `nexus worker` as real processes: one killed in the middle of its jobs, another taking
//! them over, on SQLite and (when `NEXUS_TEST_POSTGRES_URL` is set) PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nexus_core::config::{SecretUrl, Settings};
use nexus_db::Db;
use nexus_service::Services;
use nexus_service::jobs::EnqueueOptions;
use nexus_service::mail::OutgoingEmail;
use nexus_service::mail::send::{EMAIL_SEND, email_payload};

const BIN: &str = env!("CARGO_BIN_EXE_nexus");
const JOBS: usize = 12;
const CONCURRENCY: usize = 4;

/// A worker process with a clean environment plus `env`.
fn worker(dir: &Path, database_url: &str, env: &[(&str, String)]) -> Child {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).env_clear();
    if let Ok(path) = std::env::var("PATH") {
        cmd.env("PATH", path);
    }
    cmd.env("NEXUS_DATA_DIR", dir.join("nexus-data"))
        .env("DATABASE_URL", database_url)
        .env("NEXUS_JOBS__CONCURRENCY", CONCURRENCY.to_string())
        // Short, so a killed worker's jobs lapse soon; not shorter, so that a heartbeat
        // (every third of it) still lands on a loaded CI machine.
        .env("NEXUS_JOBS__LEASE_SECS", "3")
        .env("NEXUS_JOBS__POLL_INTERVAL_MS", "50")
        .env("NEXUS_LOG_FORMAT", "json");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.arg("worker")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(if std::env::var("TEST_LOG").is_ok() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .spawn()
        .expect("worker starts")
}

/// An SMTP server that accepts connections and never says a word: a job talking to it
/// is stuck mid-exchange for as long as the test likes.
async fn black_hole() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    (port, accepted)
}

/// Email jobs queued, running and succeeded (the worker's schedules add other jobs).
async fn states(db: &Db) -> (i64, i64, i64) {
    let counts = nexus_db::jobs::counts(db).await.unwrap();
    let of = |s: &str| {
        counts
            .iter()
            .filter(|(kind, state, _)| kind == "email.send" && state == s)
            .map(|(_, _, n)| n)
            .sum::<i64>()
    };
    (of("queued"), of("running"), of("succeeded"))
}

async fn wait_until(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn killed_worker_scenario(dir: &Path, database_url: String) {
    let mut settings = Settings {
        data_dir: dir.join("nexus-data"),
        database_url: Some(SecretUrl::new(database_url.clone())),
        ..Settings::default()
    };
    settings.database.max_connections = 2;
    let db = Db::connect(&settings).await.unwrap();
    db.migrate().await.unwrap();
    let services = Services::new(db.clone(), Arc::new(settings.clone())).unwrap();
    let mut ids = Vec::new();
    for i in 0..JOBS {
        let email = OutgoingEmail {
            to: format!("reader{i}@example.com"),
            subject: format!("message {i}"),
            text: "hello".into(),
            html: "<p>hello</p>".into(),
        };
        let opts = EnqueueOptions {
            dedupe_key: Some(format!("test:{i}")),
            run_at: None,
        };
        assert!(
            services
                .queue
                .enqueue(EMAIL_SEND, &email_payload(email, true, None), &opts)
                .await
                .unwrap()
        );
        ids.push(i);
    }

    // The first worker's SMTP server never answers: its jobs hang mid-exchange.
    let (port, accepted) = black_hole().await;
    let mut first = worker(
        dir,
        &database_url,
        &[
            ("SMTP_URL", format!("smtp://127.0.0.1:{port}")),
            ("NEXUS_JOBS__OUTBOUND_TIMEOUT_SECS", "600".into()),
        ],
    );
    wait_until(
        "the first worker to be mid-job",
        Duration::from_secs(30),
        async || {
            states(&db).await.1 == CONCURRENCY as i64
                && accepted.load(Ordering::SeqCst) >= CONCURRENCY
        },
    )
    .await;
    first.kill().unwrap(); // SIGKILL: no chance to clean up
    first.wait().unwrap();
    let (queued, running, succeeded) = states(&db).await;
    assert_eq!(
        (queued, running, succeeded),
        ((JOBS - CONCURRENCY) as i64, CONCURRENCY as i64, 0)
    );
    let outbox = dir.join("nexus-data").join("outbox");
    let files = || -> Vec<String> {
        std::fs::read_dir(&outbox)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(".eml"))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(files().is_empty(), "nothing was sent by the killed worker");

    // The second worker writes .eml files; it takes the stuck jobs once their leases lapse.
    let mut second = worker(dir, &database_url, &[]);
    wait_until(
        "every job to succeed",
        Duration::from_secs(60),
        async || states(&db).await.2 == JOBS as i64,
    )
    .await;
    let sent = files();
    assert_eq!(sent.len(), JOBS, "each job's email exactly once: {sent:?}");
    let attempts: Vec<(uuid::Uuid, i32)> = nexus_db::Exec::from(&db)
        .fetch_all(nexus_db::query(
            "SELECT id, attempts FROM jobs WHERE kind = 'email.send' ORDER BY id",
        ))
        .await
        .unwrap();
    let retried = attempts.iter().filter(|(_, a)| *a == 2).count();
    assert_eq!(
        retried, CONCURRENCY,
        "the killed worker's jobs ran again: {attempts:?}"
    );
    assert!(attempts.iter().all(|(_, a)| *a <= 2));
    for (id, _) in &attempts {
        assert!(sent.contains(&format!("{id}.eml")), "{id} has its message");
    }
    // SIGTERM stops a worker cleanly.
    let pid = second.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the worker did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status:?}");
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_job_loses_it_to_another_and_its_effect_happens_once_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/nexus-data/nexus.db", dir.path().display());
    std::fs::create_dir_all(dir.path().join("nexus-data")).unwrap();
    killed_worker_scenario(dir.path(), url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_job_loses_it_to_another_and_its_effect_happens_once_postgres() {
    let Ok(admin_url) = std::env::var("NEXUS_TEST_POSTGRES_URL") else {
        eprintln!("skipped: NEXUS_TEST_POSTGRES_URL is not set");
        return;
    };
    let name = format!("nexus_worker_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .unwrap();
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path(&name);
    let dir = tempfile::tempdir().unwrap();
    killed_worker_scenario(dir.path(), url.to_string()).await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&admin)
    .await
    .unwrap();
}
