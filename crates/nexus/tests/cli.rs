//! The `nexus` binary as an operator runs it: start-up, configuration errors, logs and
//! signals. Each test runs the real executable in its own temporary directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_nexus");

/// A command with a clean environment: only what a fresh shell would have, so that the
/// developer's or CI's `NEXUS_*`/`DATABASE_URL` cannot leak into what is tested.
fn nexus(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).env_clear();
    for key in ["PATH", "HOME"] {
        if let Ok(v) = std::env::var(key) {
            cmd.env(key, v);
        }
    }
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().expect("nexus runs")
}

/// A running `nexus serve`, its stderr collected line by line.
struct Server {
    child: Child,
    addr: String,
    log: Arc<Mutex<String>>,
}

impl Server {
    fn start(cmd: &mut Command) -> Server {
        let mut child = cmd
            .args(["serve", "--bind", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nexus starts");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(i) = line.find("listening on http://") {
                    let rest = &line[i + "listening on http://".len()..];
                    let addr: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                        .collect();
                    let _ = tx.send(addr);
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!("nexus did not start listening:\n{}", log.lock().unwrap());
            }
        };
        Server { child, addr, log }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends a signal by PID (never by name) and waits for the exit status.
    fn stop_with(mut self, signal: &str) -> (i32, String) {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {signal} {pid}");
        let status = wait_timeout(&mut self.child, Duration::from_secs(30));
        // Let the reader thread drain the last lines.
        std::thread::sleep(Duration::from_millis(100));
        let log = self.log.lock().unwrap().clone();
        (status, log)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_timeout(child: &mut Child, limit: Duration) -> i32 {
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("nexus did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn get(url: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut req = reqwest::Client::new().get(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.text().await.unwrap())
    })
}

#[test]
fn quick_start_creates_the_data_dir_and_answers_healthz() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&mut nexus(dir.path()));
    let (status, body) = get(&server.url("/healthz"), &[]);
    assert_eq!(status, 200, "{body}");
    assert!(dir.path().join("nexus-data").is_dir());
    assert!(dir.path().join("nexus-data/nexus.db").is_file());
    let (code, log) = server.stop_with("-TERM");
    assert_eq!(code, 0, "exit status after SIGTERM\n{log}");
    assert!(log.contains("received SIGTERM"), "{log}");
}

#[test]
fn sigint_also_stops_cleanly_and_data_dir_moves_with_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(nexus(dir.path()).env("NEXUS_DATA_DIR", "state"));
    assert_eq!(get(&server.url("/readyz"), &[]).0, 200);
    assert!(dir.path().join("state/nexus.db").is_file());
    assert!(!dir.path().join("nexus-data").exists());
    let (code, log) = server.stop_with("-INT");
    assert_eq!(code, 0, "{log}");
}

#[test]
fn bad_database_urls_stop_start_up_with_status_2() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["mysql://root@127.0.0.1/test", "nexus.db", "postgres://"] {
        let out = run(nexus(dir.path()).env("DATABASE_URL", bad).arg("serve"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert!(stderr.contains("DATABASE_URL"), "{bad}: {stderr}");
    }
    assert!(
        !dir.path().join("nexus-data").exists(),
        "a refused URL must not create anything"
    );
}

#[test]
fn an_unparsable_config_file_stops_start_up_with_status_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("nexus.toml"),
        "bind = \"127.0.0.1:8080\"\n[http\n",
    )
    .unwrap();
    let out = run(nexus(dir.path()).arg("serve"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("nexus.toml"), "{stderr}");

    let out = run(nexus(dir.path()).args(["--config", "missing.toml", "serve"]));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_bad_value_names_its_key_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(nexus(dir.path())
        .env("NEXUS_HTTP__BODY_LIMIT_BYTES", "lots")
        .arg("serve"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("http.body_limit_bytes"), "{stderr}");

    let out = run(nexus(dir.path())
        .env("NEXUS_HTTP__CORS_ALLOWED_ORIGINS", "[\"ftp://x\"]")
        .arg("serve"));
    assert_eq!(out.status.code(), Some(2));
}

/// Job kinds and schedules are registered by the domains, not listed in the
/// configuration's code; naming one nobody registered is still a start-up error.
#[test]
fn an_unknown_job_kind_or_schedule_names_its_key_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(nexus(dir.path())
        .env("NEXUS_JOBS__MAX_ATTEMPTS", "{\"email.sent\"=3}")
        .env("NEXUS_JOBS__SCHEDULES", "{daily_digest=\"0 0 8 * * *\"}")
        .arg("serve"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("jobs.max_attempts.email.sent"), "{stderr}");
    assert!(stderr.contains("known: digest.fanout"), "{stderr}");
    assert!(stderr.contains("jobs.schedules.daily_digest"), "{stderr}");
}

#[test]
fn config_prints_the_effective_settings_with_secrets_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(nexus(dir.path())
        .env(
            "DATABASE_URL",
            "postgres://nexus:pw-s3cret@127.0.0.1:5432/nexus",
        )
        .env("REDIS_URL", "redis://:redis-s3cret@127.0.0.1:6379")
        .env("NEXUS_BIND", "127.0.0.1:9999")
        .env("NEXUS_STORAGE__URL", "s3://nexus-files/prod")
        .env("NEXUS_STORAGE__ENDPOINT", "http://127.0.0.1:9000")
        .env("NEXUS_STORAGE__ACCESS_KEY_ID", "nexus")
        .env("NEXUS_STORAGE__SECRET_ACCESS_KEY", "storage-s3cret")
        .arg("config"));
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("127.0.0.1:9999"), "{stdout}");
    assert!(stdout.contains("s3://nexus-files/prod"), "{stdout}");
    assert!(stdout.contains("REDACTED"), "{stdout}");
    assert!(!stdout.contains("s3cret"), "{stdout}");
    assert!(
        stdout.contains("effective database backend: postgres"),
        "{stdout}"
    );
}

#[test]
fn json_logs_carry_the_request_id_and_never_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(nexus(dir.path()).env("NEXUS_LOG_FORMAT", "json"));
    let (status, _) = get(
        &server.url("/healthz?access_token=query-s3cret"),
        &[
            ("authorization", "Bearer bearer-s3cret"),
            ("cookie", "session=cookie-s3cret"),
            ("x-request-id", "trace-me-123"),
        ],
    );
    assert_eq!(status, 200);
    let (code, log) = server.stop_with("-TERM");
    assert_eq!(code, 0);
    assert!(!log.contains("s3cret"), "a secret reached the log:\n{log}");
    let request_lines: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["span"]["request_id"] == "trace-me-123")
        .collect();
    assert!(
        !request_lines.is_empty(),
        "no log line carries the request id:\n{log}"
    );
    assert!(
        log.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "{log}"
    );
}

#[test]
fn openapi_command_prints_the_served_document() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(nexus(dir.path()).arg("openapi"));
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
}

#[test]
fn migrate_applies_the_schema_and_is_repeatable() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let out = run(nexus(dir.path()).arg("migrate"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(dir.path().join("nexus-data/nexus.db").is_file());
}

#[test]
fn an_unreachable_database_fails_start_up_quickly_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    // Port 9 (discard) on loopback: nothing listens there.
    let out = run(nexus(dir.path())
        .env("DATABASE_URL", "postgres://nexus@127.0.0.1:9/nexus")
        .env("NEXUS_DATABASE__ACQUIRE_TIMEOUT_MS", "1000")
        .arg("serve"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot open the postgres database"),
        "{stderr}"
    );
}

fn run_with_stdin(cmd: &mut Command, input: &str) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nexus runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn post_json(url: &str, body: serde_json::Value, token: Option<&str>) -> (u16, serde_json::Value) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut req = reqwest::Client::new().post(url).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(serde_json::Value::Null))
    })
}

/// `nexus user create` of the admin `root` (password "an operator password") with `cmd`.
fn create_root_admin(cmd: &mut Command) -> Output {
    let out = run_with_stdin(
        cmd.args([
            "user",
            "create",
            "--email",
            "root@example.com",
            "--handle",
            "root",
            "--role",
            "admin",
        ]),
        "an operator password\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn operators_create_admins_and_manage_users_from_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let out = create_root_admin(&mut nexus(dir.path()));
    assert!(String::from_utf8_lossy(&out.stdout).contains("created root"));

    let out = run_with_stdin(
        nexus(dir.path()).args([
            "user",
            "create",
            "--email",
            "ada@example.com",
            "--handle",
            "ada",
        ]),
        "ada's long password\n",
    );
    assert!(out.status.success());
    assert!(
        run(nexus(dir.path()).args(["user", "set-role", "ada", "mentor"]))
            .status
            .success()
    );

    // Bad input is refused with the field named, exit 2.
    let out = run_with_stdin(
        nexus(dir.path()).args([
            "user",
            "create",
            "--email",
            "x@example.com",
            "--handle",
            "x",
        ]),
        "short\n",
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("handle") && stderr.contains("password"),
        "{stderr}"
    );
    let out = run(nexus(dir.path()).args(["user", "set-role", "ada", "king"]));
    assert_eq!(out.status.code(), Some(2));

    let server = Server::start(&mut nexus(dir.path()));
    let (status, pair) = post_json(
        &server.url("/api/v1/auth/login"),
        serde_json::json!({"email": "root@example.com", "password": "an operator password"}),
        None,
    );
    assert_eq!(status, 200);
    let token = pair["access_token"].as_str().unwrap();
    let (status, body) = get(
        &server.url("/api/v1/me"),
        &[("authorization", &format!("Bearer {token}"))],
    );
    assert_eq!(status, 200);
    let me: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(me["role"], "admin");
    assert_eq!(me["email_verified"], true);
    let (_, body) = get(&server.url("/api/v1/users/ada"), &[]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["role"],
        "mentor"
    );

    // Disabling from the shell takes effect on the running server at once.
    assert!(
        run(nexus(dir.path()).args(["user", "disable", "root"]))
            .status
            .success()
    );
    let (status, _) = get(
        &server.url("/api/v1/me"),
        &[("authorization", &format!("Bearer {token}"))],
    );
    assert_eq!(status, 401);
    assert!(
        run(nexus(dir.path()).args(["user", "disable", "root", "--enable"]))
            .status
            .success()
    );
    let (status, _) = post_json(
        &server.url("/api/v1/auth/login"),
        serde_json::json!({"email": "root@example.com", "password": "an operator password"}),
        None,
    );
    assert_eq!(status, 200);
    let (code, log) = server.stop_with("-TERM");
    assert_eq!(code, 0, "{log}");
}

#[test]
fn a_request_in_flight_at_sigterm_completes_and_the_process_exits_0() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let out = run_with_stdin(
        nexus(dir.path()).args([
            "user",
            "create",
            "--email",
            "ada@example.com",
            "--handle",
            "ada",
        ]),
        "ada's long password\n",
    );
    assert!(out.status.success());
    let server = Server::start(&mut nexus(dir.path()));

    // A login whose body arrives in two halves, with SIGTERM in between: the request is
    // inside the server (its handler is reading the body) when the signal lands.
    let body = br#"{"email":"ada@example.com","password":"ada's long password"}"#;
    let mut conn = std::net::TcpStream::connect(&server.addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        server.addr,
        body.len()
    );
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(&body[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    std::thread::sleep(Duration::from_millis(300));
    conn.write_all(&body[10..]).unwrap();
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("access_token"), "{answer}");

    let mut server = server;
    let code = wait_timeout(&mut server.child, Duration::from_secs(30));
    assert_eq!(code, 0, "{}", server.log.lock().unwrap());
}

/// What a seeded database holds: its note titles, sorted, and how many rows each thing
/// derived from them has.
#[derive(Debug, PartialEq)]
struct Seeded {
    titles: Vec<String>,
    /// note_topics, note_tags, note_links, links pointing at a note, revisions, notes in
    /// the search index.
    counts: [i64; 6],
}

type SeedCounts = (i64, i64, i64, i64, i64, i64);

const SEED_COUNTS: &str = "SELECT (SELECT COUNT(*) FROM note_topics), (SELECT COUNT(*) FROM note_tags), \
     (SELECT COUNT(*) FROM note_links), (SELECT COUNT(*) FROM note_links WHERE target_id IS NOT NULL), \
     (SELECT COUNT(*) FROM note_revisions), ";

fn seeded(url: &str) -> Seeded {
    use sqlx::Connection;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (mut titles, counts): (Vec<String>, SeedCounts) = if url.starts_with("sqlite:") {
            let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
            let sql = format!("{SEED_COUNTS} (SELECT COUNT(*) FROM notes_fts)");
            (
                sqlx::query_scalar("SELECT title FROM notes")
                    .fetch_all(&mut conn)
                    .await
                    .unwrap(),
                sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .fetch_one(&mut conn)
                    .await
                    .unwrap(),
            )
        } else {
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            let sql =
                format!("{SEED_COUNTS} (SELECT COUNT(*) FROM notes WHERE search <> ''::tsvector)");
            (
                sqlx::query_scalar("SELECT title FROM notes")
                    .fetch_all(&mut conn)
                    .await
                    .unwrap(),
                sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .fetch_one(&mut conn)
                    .await
                    .unwrap(),
            )
        };
        titles.sort();
        let (a, b, c, d, e, f) = counts;
        Seeded {
            titles,
            counts: [a, b, c, d, e, f],
        }
    })
}

/// Creates a PostgreSQL database for one test on `NEXUS_TEST_POSTGRES_URL`'s server and
/// returns its URL and the admin URL to drop it with; `None` without a server.
fn postgres_database() -> Option<(String, String)> {
    let Ok(admin) = std::env::var("NEXUS_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "NEXUS_TEST_POSTGRES_URL must be set under CI"
        );
        eprintln!("skipped the PostgreSQL part: set NEXUS_TEST_POSTGRES_URL");
        return None;
    };
    let name = format!("nexus_test_{}", uuid::Uuid::new_v4().simple());
    postgres_admin(&admin, &format!("CREATE DATABASE \"{name}\""));
    let mut url = url::Url::parse(&admin).unwrap();
    url.set_path(&name);
    Some((url.to_string(), admin))
}

fn postgres_admin(admin: &str, statement: &str) {
    use sqlx::Connection;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut conn = sqlx::PgConnection::connect(admin).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
            .execute(&mut conn)
            .await
            .unwrap();
    });
}

#[test]
fn the_bench_seed_is_deterministic_and_consistent_on_both_backends() {
    // Small batches, so that PostgreSQL's two writers run side by side and a link can
    // point into a batch another writer has not committed yet.
    let args = [
        "seed", "--bench", "--notes", "300", "--users", "5", "--batch", "40",
    ];
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for dir in [a.path(), b.path()] {
        let out = run(nexus(dir).args(args));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout)
                .contains("seeded 50 topics, 5 users and 300 notes")
        );
    }
    let sqlite_url = |dir: &Path| format!("sqlite://{}", dir.join("nexus-data/nexus.db").display());
    let first = seeded(&sqlite_url(a.path()));
    assert_eq!(first.titles.len(), 300);
    let [topics, _, links, resolved, revisions, indexed] = first.counts;
    assert!(topics >= 300 && links > 0, "{first:?}");
    assert_eq!(
        (resolved, revisions, indexed),
        (links, 300, 300),
        "every link reaches its note; history and search index kept in step"
    );
    assert_eq!(
        seeded(&sqlite_url(b.path())),
        first,
        "same seed, same notes"
    );
    // A second seed into the same database is refused rather than doubling the data.
    let out = run(nexus(a.path()).args(["seed", "--bench", "--notes", "5"]));
    assert!(!out.status.success());

    if let Some((url, admin)) = postgres_database() {
        let dir = tempfile::tempdir().unwrap();
        let out = run(nexus(dir.path()).env("DATABASE_URL", &url).args(args));
        let on_postgres = out.status.success().then(|| seeded(&url));
        let name = url.rsplit('/').next().unwrap_or_default().to_owned();
        postgres_admin(
            &admin,
            &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let on_postgres = on_postgres.unwrap();
        assert_eq!(
            on_postgres.counts, first.counts,
            "PostgreSQL derived the same rows; every link reaches its note"
        );
        assert!(
            on_postgres.titles == first.titles,
            "PostgreSQL holds the same notes"
        );
    }
}

/// The limits BENCHMARKS.md starts the benchmarked server with: budgets so large that the
/// limiter still runs on every request but never refuses the harness.
const BENCH_LIMITS: [(&str, &str); 4] = [
    (
        "NEXUS_RATE_LIMIT__READ",
        "{limit=4000000000,period_secs=86400}",
    ),
    (
        "NEXUS_RATE_LIMIT__WRITE",
        "{limit=4000000000,period_secs=86400}",
    ),
    (
        "NEXUS_RATE_LIMIT__SEARCH",
        "{limit=4000000000,period_secs=86400}",
    ),
    ("NEXUS_RATE_LIMIT__AUTH", "{limit=1000,period_secs=60}"),
];

#[test]
fn bench_drives_a_seeded_server_and_its_ceiling_without_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(nexus(dir.path()).args(["seed", "--bench", "--notes", "50", "--users", "5"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut cmd = nexus(dir.path());
    cmd.envs(BENCH_LIMITS);
    let server = Server::start(&mut cmd);
    let report_file = dir.path().join("report.json");
    // Mixed exercises all four request kinds, the write's sign-in included.
    let out = run(nexus(dir.path()).args([
        "bench",
        "--url",
        &server.url(""),
        "--scenario",
        "mixed",
        "--connections",
        "4",
        "--warmup",
        "0.2",
        "--duration",
        "1",
        "--ceiling",
        "--server-pid",
        &server.child.id().to_string(),
        "--json",
        report_file.to_str().unwrap(),
    ]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log.lock().unwrap()
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report_file).unwrap()).unwrap();
    assert_eq!(report["scenario"], "mixed");
    assert_eq!(report["data"]["notes"], 50);
    assert!(report["data"]["search_queries"].as_u64().unwrap() >= 10_000);
    for side in ["target", "ceiling"] {
        assert!(
            report[side]["requests"].as_u64().unwrap() > 0,
            "{side}: {report}"
        );
        assert_eq!(report[side]["errors"]["total"], 0, "{side}: {report}");
        assert_eq!(report[side]["reconnects"], 0, "{side}: {report}");
    }
    assert!(report["vs_ceiling"]["requests_per_sec"].as_f64().unwrap() > 0.0);
    assert!(report["server_memory"]["peak_rss_kib"].as_u64().unwrap() > 0);
    // The printed report carries the same run.
    assert!(
        stdout.contains("mixed") && stdout.contains("ceiling"),
        "{stdout}"
    );

    // The progress scenario reads the seeded cohort's table as its mentor.
    let out = run(nexus(dir.path()).args([
        "bench",
        "--url",
        &server.url(""),
        "--scenario",
        "progress",
        "--connections",
        "2",
        "--warmup",
        "0.2",
        "--duration",
        "0.5",
        "--json",
        report_file.to_str().unwrap(),
    ]));
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log.lock().unwrap()
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report_file).unwrap()).unwrap();
    assert_eq!(report["scenario"], "progress");
    assert!(
        report["target"]["requests"].as_u64().unwrap() > 0,
        "{report}"
    );
    assert_eq!(report["target"]["errors"]["total"], 0, "{report}");
}

fn login(base: &str, handle: &str) -> String {
    let (status, body) = post_json(
        &format!("{base}/api/v1/auth/login"),
        serde_json::json!({"email": format!("{handle}@demo.example.com"),
                           "password": "nexus demo password"}),
        None,
    );
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

#[test]
fn the_demo_seed_gives_a_cohort_in_week_five_with_one_learner_at_risk() {
    let course = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../courses/scalable-architectures");
    let mut tables = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let out = run(nexus(dir.path())
            .args(["seed", "--demo", "--course"])
            .arg(&course));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("ada@demo.example.com"), "{stdout}");
        // A second demo into the same database is refused.
        let again = run(nexus(dir.path())
            .args(["seed", "--demo", "--course"])
            .arg(&course));
        assert!(!again.status.success());

        let server = Server::start(&mut nexus(dir.path()));
        let mia = login(&server.url(""), "mia");
        let (status, body) = get(
            &server.url("/api/v1/cohorts/demo-cohort/progress"),
            &[("authorization", &format!("Bearer {mia}"))],
        );
        assert_eq!(status, 200, "{body}");
        let table: serde_json::Value = serde_json::from_str(&body).unwrap();
        let rows = table["learners"].as_array().unwrap();
        assert_eq!(rows.len(), 12);
        let reasons = |row: &serde_json::Value| -> Vec<String> {
            row["at_risk"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["reason"].as_str().unwrap().to_owned())
                .collect()
        };
        // sam, first, with every reason his story gives; nobody else at risk.
        assert_eq!(rows[0]["learner"], "sam");
        assert_eq!(
            reasons(&rows[0]),
            [
                "missed_deadline",
                "missed_deadline",
                "low_scores",
                "stale_high_risk",
                "no_retrospective"
            ]
        );
        for row in &rows[1..] {
            assert_eq!(reasons(row), Vec::<String>::new(), "{row}");
            assert_eq!(row["scored"], 4, "{row}");
            assert_eq!(row["evidence_completeness"], 1.0, "{row}");
        }
        // A learner sees their own page.
        let ada = login(&server.url(""), "ada");
        let (status, body) = get(
            &server.url("/api/v1/cohorts/demo-cohort/progress/ada"),
            &[("authorization", &format!("Bearer {ada}"))],
        );
        assert_eq!(status, 200, "{body}");
        // ada's public portfolio, readable without signing in, with the collaboration.
        let (status, body) = get(&server.url("/api/v1/portfolios/ada"), &[]);
        assert_eq!(status, 200, "{body}");
        let portfolio: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            portfolio["entries"].as_array().unwrap().len(),
            4,
            "{portfolio}"
        );
        assert!(body.contains("fatima"), "{body}");
        let (_, csv) = get(
            &server.url("/api/v1/cohorts/demo-cohort/progress"),
            &[
                ("authorization", &format!("Bearer {mia}")),
                ("accept", "text/csv"),
            ],
        );
        tables.push(csv);
    }
    assert_eq!(tables[0], tables[1], "two demo seeds give the same figures");
}

/// POSTs `body` with an `Idempotency-Key`; the status and headers, or `None` when the
/// connection broke before an answer (the server died).
fn post_with_key(
    url: &str,
    body: &serde_json::Value,
    token: &str,
    key: &str,
) -> Option<(u16, reqwest::header::HeaderMap, serde_json::Value)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let resp = reqwest::Client::new()
            .post(url)
            .json(body)
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .send()
            .await
            .ok()?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        Some((status, headers, resp.json().await.ok()?))
    })
}

/// The process dies after a write committed and before its answer was stored. The
/// client retries with the same key on a fresh process and gets the original answer,
/// and the write happened once: the use case recorded its result in its own transaction.
#[test]
fn a_retry_after_a_crash_between_commit_and_answer_replays_without_acting_twice() {
    crash_between_commit_and_answer(None);
    if let Some((url, admin)) = postgres_database() {
        crash_between_commit_and_answer(Some(&url));
        let name = url.rsplit('/').next().unwrap().to_owned();
        postgres_admin(&admin, &format!("DROP DATABASE \"{name}\" WITH (FORCE)"));
    }
}

fn crash_between_commit_and_answer(database_url: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let nexus_on_db = || {
        let mut cmd = nexus(dir.path());
        if let Some(url) = database_url {
            cmd.env("DATABASE_URL", url);
        }
        cmd
    };
    create_root_admin(&mut nexus_on_db());

    let mut server = Server::start(nexus_on_db().env("NEXUS_TEST_ABORT_AFTER_COMMIT", "1"));
    let (status, login) = post_json(
        &server.url("/api/v1/auth/login"),
        serde_json::json!({"email": "root@example.com", "password": "an operator password"}),
        None,
    );
    assert_eq!(status, 200, "a POST without a key does not abort: {login}");
    let token = login["access_token"].as_str().unwrap().to_owned();
    let topic = serde_json::json!({"slug": "crash-safe", "title": "Crash safety"});
    let lost = post_with_key(&server.url("/api/v1/topics"), &topic, &token, "key-1");
    assert!(lost.is_none(), "the first attempt never answers: {lost:?}");
    let code = wait_timeout(&mut server.child, Duration::from_secs(30));
    assert_ne!(code, 0, "the process aborted");
    drop(server);

    let server = Server::start(&mut nexus_on_db());
    let (status, headers, body) =
        post_with_key(&server.url("/api/v1/topics"), &topic, &token, "key-1").unwrap();
    assert_eq!(status, 201, "{body}");
    assert_eq!(headers["idempotent-replayed"], "true");
    assert_eq!(body["slug"], "crash-safe");
    let (_, listed) = get(&server.url("/api/v1/topics"), &[]);
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let same: Vec<&serde_json::Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["slug"] == "crash-safe")
        .collect();
    assert_eq!(same.len(), 1, "one topic: {listed}");
    assert!(body["created_at"].is_string(), "{body}");
    assert_eq!(
        same[0]["created_at"], body["created_at"],
        "the replay is the topic that was made"
    );
    // An ordinary replay of the answer now stored is the same again.
    let (status, headers, again) =
        post_with_key(&server.url("/api/v1/topics"), &topic, &token, "key-1").unwrap();
    assert_eq!((status, &again), (201, &body));
    assert_eq!(headers["idempotent-replayed"], "true");
}

/// POSTs `bytes` to `/api/v1/uploads` as a text file with an `Idempotency-Key`; as
/// [`post_with_key`].
fn upload_with_key(
    url: &str,
    bytes: &[u8],
    token: &str,
    key: &str,
) -> Option<(u16, reqwest::header::HeaderMap, serde_json::Value)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let resp = reqwest::Client::new()
            .post(url)
            .header("content-type", "text/plain")
            .header("content-disposition", "attachment; filename=\"run.log\"")
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .body(bytes.to_vec())
            .send()
            .await
            .ok()?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        Some((status, headers, resp.json().await.ok()?))
    })
}

/// An upload whose process dies after its row committed and before its answer was
/// stored: on a fresh process, the retry with the same key and bytes gets the first
/// answer and the file is stored once; other bytes under the key are refused.
#[test]
fn an_upload_retried_after_a_crash_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    create_root_admin(&mut nexus(dir.path()));
    let mut server = Server::start(nexus(dir.path()).env("NEXUS_TEST_ABORT_AFTER_COMMIT", "1"));
    let (status, login) = post_json(
        &server.url("/api/v1/auth/login"),
        serde_json::json!({"email": "root@example.com", "password": "an operator password"}),
        None,
    );
    assert_eq!(status, 200, "{login}");
    let token = login["access_token"].as_str().unwrap().to_owned();
    let log = b"load test, run 2\np99: 95 ms\n";
    let lost = upload_with_key(&server.url("/api/v1/uploads"), log, &token, "upload-1");
    assert!(lost.is_none(), "the first attempt never answers: {lost:?}");
    let code = wait_timeout(&mut server.child, Duration::from_secs(30));
    assert_ne!(code, 0, "the process aborted");
    drop(server);

    let server = Server::start(&mut nexus(dir.path()));
    let url = server.url("/api/v1/uploads");
    let (status, _, problem) = upload_with_key(&url, b"other bytes\n", &token, "upload-1").unwrap();
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "Idempotency-Key");
    let (status, headers, body) = upload_with_key(&url, log, &token, "upload-1").unwrap();
    assert_eq!(status, 201, "{body}");
    assert_eq!(headers["idempotent-replayed"], "true");
    assert_eq!(body["size"], log.len());
    // An ordinary replay of the answer now stored is the same again.
    let (status, headers, again) = upload_with_key(&url, log, &token, "upload-1").unwrap();
    assert_eq!((status, &again), (201, &body));
    assert_eq!(headers["idempotent-replayed"], "true");

    let stored = std::fs::read_dir(dir.path().join("nexus-data/files/uploads"))
        .unwrap()
        .count();
    assert_eq!(stored, 1, "one file for one upload");
    let (status, text) = get(
        &server.url(&format!("/api/v1/uploads/{}", body["id"].as_str().unwrap())),
        &[("authorization", &format!("Bearer {token}"))],
    );
    assert_eq!(status, 200);
    assert_eq!(text.as_bytes(), log);
}

#[test]
fn course_import_reads_a_folder_as_the_operator_and_names_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../courses/scalable-architectures");
    let out = run(nexus(dir.path()).args(["course", "import"]).arg(&folder));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(
            "imported scalable-architectures version 1 (new course): 24 weeks, 4 phases, 3 projects, 3 rubrics"
        ),
        "{stdout}"
    );
    // The reference course opens each week below the week before's design work.
    assert!(
        stdout.contains(
            "progression: week 2 objective W02.1 (analyze) is below the week before's highest (create)"
        ),
        "{stdout}"
    );
    // Importing again makes the next version of the same course.
    let out = run(nexus(dir.path()).args(["course", "import"]).arg(&folder));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("version 2 (new version)"), "{stdout}");

    let broken = dir.path().join("broken");
    std::fs::create_dir_all(broken.join("weeks")).unwrap();
    std::fs::write(
        broken.join("course.yaml"),
        "slug: broken\ntitle: Broken\nlevel: advanced\nduration_weeks: 2\nweekly_hours: 2\n",
    )
    .unwrap();
    std::fs::write(
        broken.join("weeks/01-only.md"),
        "---\nnumber: 1\ntitle: Only week\n---\nThe one week there is.\n",
    )
    .unwrap();
    let out = run(nexus(dir.path()).args(["course", "import"]).arg(&broken));
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("duration_weeks: must equal the number of weeks (1)"),
        "{stderr}"
    );
}
