//! The test harness: a real Nexus on a random loopback port, on a fresh database.
//!
//! Every test gets its own SQLite file in a temporary directory, or its own PostgreSQL
//! database (created from `NEXUS_TEST_POSTGRES_URL`, dropped when the test ends), so tests
//! run in parallel and the same test bodies run on both backends through
//! [`backend_tests!`].

use std::net::SocketAddr;
use std::time::Duration;

use nexus::Application;
use nexus_core::config::{SecretUrl, Settings};
use nexus_http::AppState;
use sqlx::Connection;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use utoipa_axum::router::OpenApiRouter;

/// Admin URL of a PostgreSQL server on which tests may create databases.
pub const POSTGRES_ENV: &str = "NEXUS_TEST_POSTGRES_URL";

/// URL of a Redis server tests may use, each under its own key prefix (never flushed).
pub const REDIS_ENV: &str = "NEXUS_TEST_REDIS_URL";

/// The RabbitMQ URL of the AMQP tests, or `None` (and a note) to skip them; under CI a
/// missing URL fails, as for PostgreSQL.
pub fn amqp_url_or_skip() -> Option<String> {
    match std::env::var("NEXUS_TEST_AMQP_URL") {
        Ok(url) => Some(url),
        Err(_) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "NEXUS_TEST_AMQP_URL must be set under CI so that the RabbitMQ path is tested"
            );
            eprintln!("skipped: NEXUS_TEST_AMQP_URL is not set");
            None
        }
    }
}

/// Removes a test's queue from the shared broker.
pub async fn delete_amqp_queue(url: &str, queue: &str) -> Result<(), lapin::Error> {
    let conn = lapin::Connection::connect(url, lapin::ConnectionProperties::default()).await?;
    let channel = conn.create_channel().await?;
    channel
        .queue_delete(queue.into(), lapin::options::QueueDeleteOptions::default())
        .await?;
    conn.close(200, "done".into()).await
}

/// The Redis URL when given. Without it the test is skipped, except under CI, where a
/// missing URL fails, as for PostgreSQL.
pub fn redis_url_or_skip() -> Option<String> {
    if let Ok(url) = std::env::var(REDIS_ENV) {
        return Some(url);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{REDIS_ENV} must be set under CI so that the Redis path is tested"
    );
    eprintln!("skipped: set {REDIS_ENV} to run this test with Redis");
    None
}

/// An S3-compatible server tests may store files on, as
/// `http://ACCESS_KEY:SECRET@127.0.0.1:PORT/BUCKET` (the bucket must exist; the key and
/// secret plain words that need no escaping). Each test
/// keeps its files under a key prefix of its own, so tests share the bucket and run in
/// parallel. `.ci/run` starts `s3s-fs` for it.
pub const S3_ENV: &str = "NEXUS_TEST_S3_URL";

/// The S3 server of [`S3_ENV`].
#[derive(Debug, Clone)]
pub struct S3Server {
    pub endpoint: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl S3Server {
    /// The server when [`S3_ENV`] is given. Without it the test is skipped, except under
    /// CI, where a missing URL fails, as for PostgreSQL.
    pub fn from_env_or_skip() -> Option<S3Server> {
        let Ok(raw) = std::env::var(S3_ENV) else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{S3_ENV} must be set under CI so that the S3 path is tested"
            );
            eprintln!("skipped: set {S3_ENV} to run this test on S3");
            return None;
        };
        let url = url::Url::parse(&raw).unwrap_or_else(|e| panic!("{S3_ENV}: {e}"));
        let bucket = url.path().trim_matches('/').to_owned();
        assert!(
            !bucket.is_empty(),
            "{S3_ENV} must name the bucket as its path"
        );
        Some(S3Server {
            endpoint: format!(
                "{}://{}:{}",
                url.scheme(),
                url.host_str().expect("a host"),
                url.port_or_known_default().expect("a port")
            ),
            bucket,
            // Test credentials are plain words; nothing in them needs escaping.
            access_key_id: url.username().to_owned(),
            secret_access_key: url.password().unwrap_or_default().to_owned(),
        })
    }

    /// Points `settings` at this server, under a new key prefix.
    pub fn configure(&self, settings: &mut Settings) {
        let prefix = format!("nexus-test-{}", uuid::Uuid::new_v4().simple());
        settings.storage.url = Some(format!("s3://{}/{prefix}", self.bucket));
        settings.storage.endpoint = Some(self.endpoint.clone());
        settings.storage.region = Some("us-east-1".into());
        settings.storage.access_key_id = Some(self.access_key_id.clone());
        settings.storage.secret_access_key = Some(nexus_core::config::SecretString::new(
            self.secret_access_key.clone(),
        ));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The PostgreSQL backend when the server URL is given. Without it the test is
    /// skipped, except under CI, where a missing URL is a broken pipeline and fails.
    pub fn postgres_or_skip() -> Option<Backend> {
        if std::env::var(POSTGRES_ENV).is_ok() {
            return Some(Backend::Postgres);
        }
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{POSTGRES_ENV} must be set under CI so that the PostgreSQL path is tested"
        );
        eprintln!("skipped: set {POSTGRES_ENV} to run this test on PostgreSQL");
        None
    }
}

/// Declares each listed `async fn name(backend: Backend)` as two tests, `name::sqlite` and
/// `name::postgres`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(backend) = $crate::helpers::Backend::postgres_or_skip() {
                    super::$name(backend).await;
                }
            }
        }
    )*};
}

/// A PostgreSQL database that exists for one test and is dropped after it.
pub struct PgDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl PgDatabase {
    pub async fn create() -> PgDatabase {
        let admin_url = std::env::var(POSTGRES_ENV).expect("postgres URL");
        let name = format!("nexus_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("connect to the PostgreSQL admin URL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        conn.close().await.ok();
        let mut url = url::Url::parse(&admin_url).expect("admin URL");
        url.set_path(&name);
        PgDatabase {
            admin_url,
            name,
            url: url.to_string(),
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime, which cannot block on itself; a short-lived
        // thread with its own runtime does the cleanup.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                }
            });
        })
        .join();
    }
}

/// Settings for a test: loopback port 0, a temporary data directory, the backend's
/// database. `NEXUS_*` from the environment is deliberately not read.
pub struct TestEnv {
    pub settings: Settings,
    /// Held so the directory (and the SQLite file in it) lives as long as the test.
    _dir: tempfile::TempDir,
    /// Held so the PostgreSQL database is dropped when the test ends.
    _pg: Option<PgDatabase>,
}

impl TestEnv {
    pub async fn new(backend: Backend) -> TestEnv {
        if std::env::var("TEST_LOG").is_ok() {
            // The writer thread lives for the whole test process.
            std::mem::forget(nexus_http::telemetry::init_tracing(
                nexus_core::config::LogFormat::Pretty,
            ));
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let mut settings = Settings {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: dir.path().join("nexus-data"),
            ..Settings::default()
        };
        settings.database.max_connections = 5;
        // Tests sign up and sign in many users from one address within seconds; the
        // rate-limit tests set the real policies back themselves.
        settings.rate_limit.auth.limit = 10_000;
        settings.rate_limit.write.limit = 10_000;
        settings.rate_limit.read.limit = 10_000;
        settings.rate_limit.search.limit = 10_000;
        settings.rate_limit.upload.limit = 10_000;
        // Jobs start within a poll even when no wake-up reaches the worker, and retries
        // come quickly, so tests of the queue take milliseconds, not seconds.
        settings.jobs.poll_interval_ms = 50;
        settings.jobs.backoff_base_ms = 100;
        settings.jobs.backoff_max_secs = 1;
        let pg = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let db = PgDatabase::create().await;
                settings.database_url = Some(SecretUrl::new(db.url.clone()));
                Some(db)
            }
        };
        TestEnv {
            settings,
            _dir: dir,
            _pg: pg,
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
    // Dropped last: the database outlives the server that uses it. A sibling sharing
    // another app's database holds none.
    _env: Option<TestEnv>,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}, None).await
}

/// Spawns an app after `configure` adjusts its settings; `extra` routes are served behind
/// the same middleware as the real ones.
pub async fn spawn_app_with(
    backend: Backend,
    configure: impl FnOnce(&mut Settings),
    extra: Option<OpenApiRouter<AppState>>,
) -> TestApp {
    let mut env = TestEnv::new(backend).await;
    configure(&mut env.settings);
    let settings = env.settings.clone();
    serve(settings, extra, Some(env)).await
}

/// A second instance on the same database (and whatever else `settings` shares), as a
/// load balancer's second upstream would be. It must be dropped before `first`.
pub async fn spawn_sibling(first: &TestApp, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = (*first.state.settings).clone();
    settings.bind = SocketAddr::from(([127, 0, 0, 1], 0));
    configure(&mut settings);
    serve(settings, None, None).await
}

/// An app whose job machinery also runs what `jobs` register (kinds that exist only in a
/// test).
pub async fn spawn_app_with_jobs(
    backend: Backend,
    jobs: &[nexus_service::Registration],
) -> TestApp {
    let env = TestEnv::new(backend).await;
    let settings = env.settings.clone();
    serve_with(settings, None, Some(env), jobs).await
}

async fn serve(
    settings: Settings,
    extra: Option<OpenApiRouter<AppState>>,
    env: Option<TestEnv>,
) -> TestApp {
    serve_with(settings, extra, env, &[]).await
}

/// Spawns an app whose use cases read `clock` (a manual one the test moves).
pub async fn spawn_app_on(backend: Backend, clock: nexus_service::clock::Clock) -> TestApp {
    let env = TestEnv::new(backend).await;
    let settings = env.settings.clone();
    serve_on(settings, None, Some(env), &[], clock).await
}

async fn serve_with(
    settings: Settings,
    extra: Option<OpenApiRouter<AppState>>,
    env: Option<TestEnv>,
    jobs: &[nexus_service::Registration],
) -> TestApp {
    serve_on(
        settings,
        extra,
        env,
        jobs,
        nexus_service::clock::Clock::system(),
    )
    .await
}

async fn serve_on(
    settings: Settings,
    extra: Option<OpenApiRouter<AppState>>,
    env: Option<TestEnv>,
    jobs: &[nexus_service::Registration],
    clock: nexus_service::clock::Clock,
) -> TestApp {
    let app = Application::build_on(settings, jobs, clock)
        .await
        .expect("application builds");
    let addr = app.local_addr().expect("bound");
    let state = app.state().clone();
    let routes = match extra {
        Some(extra) => nexus_http::routes().merge(extra),
        None => nexus_http::routes(),
    };
    let router = nexus_http::assemble(routes, state.clone());
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_router_until(router, async {
        let _ = rx.await;
    }));
    TestApp {
        base: format!("http://{addr}"),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client"),
        state,
        shutdown: Some(tx),
        server: Some(server),
        _env: env,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GET a path and parse the answer as JSON, whatever its status.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        self.get(path).await.json().await.expect("a JSON answer")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        let mut req = self.client.post(self.url(path)).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        req.send().await.expect("request sent")
    }

    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    pub fn server_task(&mut self) -> JoinHandle<anyhow::Result<()>> {
        self.server.take().expect("server still owned")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Asserts an answer is an RFC 9457 problem of the given status and kind, and returns it.
pub async fn assert_problem(resp: reqwest::Response, status: u16, kind: &str) -> serde_json::Value {
    assert_eq!(resp.status().as_u16(), status, "status of {}", resp.url());
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(ct, "application/problem+json");
    let request_id = resp
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: serde_json::Value = resp.json().await.expect("problem body is JSON");
    assert_eq!(body["type"], format!("/problems/{kind}"), "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert!(body["title"].is_string(), "{body}");
    assert_eq!(body["request_id"].as_str(), request_id.as_deref(), "{body}");
    body
}

/// A signed-in user of a test.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub email: String,
    pub access: String,
    pub refresh: String,
}

pub const PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    pub async fn post_json(
        &self,
        path: &str,
        token: Option<&str>,
        body: serde_json::Value,
    ) -> reqwest::Response {
        let mut req = self.client.post(self.url(path)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request sent")
    }

    pub async fn patch_json(
        &self,
        path: &str,
        token: Option<&str>,
        body: serde_json::Value,
    ) -> reqwest::Response {
        let mut req = self.client.patch(self.url(path)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request sent")
    }

    /// GET a path with a bearer token and parse the answer as JSON, whatever its status.
    pub async fn get_auth_json(&self, path: &str, token: &str) -> serde_json::Value {
        self.get_auth(path, token)
            .await
            .json()
            .await
            .expect("a JSON answer")
    }

    pub async fn get_auth(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn delete_auth(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .delete(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent")
    }

    pub fn outbox(&self) -> std::path::PathBuf {
        self.state.settings.data_dir.join("outbox")
    }

    /// Every `.eml` in the outbox addressed to `to`, as text.
    pub fn emails_to(&self, to: &str) -> Vec<String> {
        emails_in(&self.outbox(), to)
    }

    /// The code on the line after `label:` in the newest matching email to `to`, waiting
    /// for the queue to deliver it.
    pub async fn code_from_email(&self, to: &str, label: &str) -> String {
        let marker = format!("{label}:");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let mut found: Vec<(std::time::SystemTime, String)> = self
                .emails_with_times(to)
                .into_iter()
                .filter_map(|(at, text)| {
                    let mut lines = text.lines();
                    lines.find(|l| l.trim() == marker)?;
                    lines.next().map(|l| (at, l.trim().to_owned()))
                })
                .collect();
            found.sort();
            if let Some((_, code)) = found.pop() {
                return code;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no email to {to} with a `{label}` within 20 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }

    fn emails_with_times(&self, to: &str) -> Vec<(std::time::SystemTime, String)> {
        let Ok(dir) = std::fs::read_dir(self.outbox()) else {
            return Vec::new();
        };
        dir.filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .filter_map(|e| {
                let at = e.metadata().and_then(|m| m.modified()).ok()?;
                Some((at, std::fs::read_to_string(e.path()).ok()?))
            })
            .filter(|(_, text)| {
                text.lines()
                    .any(|l| l.eq_ignore_ascii_case(&format!("To: {to}")))
            })
            .collect()
    }

    /// Waits until no job is queued or running (the queue has done everything asked of
    /// it so far), for at most 20 s.
    pub async fn jobs_settled(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            // Events first, then jobs: the relay turns events into jobs in one
            // transaction, so once no event is pending every relayed job is already in the
            // table the second query reads. The other order can miss a batch relayed
            // between the two reads, and report settled while its jobs are still queued.
            let pending_events = nexus_db::jobs::pending_event_count(&self.state.db)
                .await
                .expect("outbox count");
            let busy = nexus_db::jobs::counts(&self.state.db)
                .await
                .expect("job counts")
                .into_iter()
                .filter(|(_, state, _)| state == "queued" || state == "running")
                .map(|(_, _, n)| n)
                .sum::<i64>();
            if busy == 0 && pending_events == 0 {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{busy} jobs and {pending_events} events still pending after 20 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }

    pub async fn register(&self, email: &str, handle: &str) -> reqwest::Response {
        self.post_json(
            "/api/v1/auth/register",
            None,
            serde_json::json!({"email": email, "handle": handle, "display_name": handle, "password": PASSWORD}),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/api/v1/auth/login",
            None,
            serde_json::json!({"email": email, "password": password}),
        )
        .await
    }

    async fn login_as(&self, email: &str) -> TestUser {
        let resp = self.login(email, PASSWORD).await;
        assert_eq!(resp.status(), 200, "login of {email}");
        let pair: serde_json::Value = resp.json().await.unwrap();
        TestUser {
            email: email.to_owned(),
            access: pair["access_token"].as_str().unwrap().to_owned(),
            refresh: pair["refresh_token"].as_str().unwrap().to_owned(),
        }
    }

    /// Registers, verifies from the outbox, and signs in.
    pub async fn verified_user(&self, handle: &str) -> TestUser {
        let email = format!("{handle}@example.com");
        assert_eq!(self.register(&email, handle).await.status(), 202);
        let code = self.code_from_email(&email, "Verification code").await;
        let resp = self
            .post_json(
                "/api/v1/auth/verify-email",
                None,
                serde_json::json!({"token": code}),
            )
            .await;
        assert_eq!(resp.status(), 204);
        self.login_as(&email).await
    }

    /// An admin created the way an operator does (`nexus user create --role admin`).
    pub async fn admin(&self, handle: &str) -> TestUser {
        let email = format!("{handle}@example.com");
        self.state
            .services
            .identity()
            .operator()
            .create_user(
                &email,
                handle,
                None,
                PASSWORD.to_owned(),
                nexus_core::identity::Role::Admin,
            )
            .await
            .expect("admin created");
        self.login_as(&email).await
    }
}

/// A loopback port with nothing listening: connections to it are refused at once.
#[allow(dead_code, reason = "only the service tests take a server down")]
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Polls `check` every 50 ms until it holds, for at most 60 s.
pub async fn wait_for(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The Python interpreter (with aiosmtpd) that runs the SMTP sink.
pub const SMTP_PYTHON_ENV: &str = "NEXUS_TEST_SMTP_PYTHON";

/// A real SMTP server on loopback (`tests/support/smtp_sink.py`, aiosmtpd) that accepts
/// every message and keeps each as a file in its own temporary directory. The process is
/// stopped by its PID when the sink is dropped.
pub struct SmtpSink {
    pub port: u16,
    child: std::process::Child,
    dir: tempfile::TempDir,
}

impl SmtpSink {
    /// The interpreter named by `NEXUS_TEST_SMTP_PYTHON`. Without it the test is skipped,
    /// except under CI, where a missing interpreter fails, as for the service URLs.
    pub fn python_or_skip() -> Option<String> {
        match std::env::var(SMTP_PYTHON_ENV) {
            Ok(python) => Some(python),
            Err(_) => {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "{SMTP_PYTHON_ENV} must be set under CI so that delivery over SMTP is tested"
                );
                eprintln!(
                    "skipped: set {SMTP_PYTHON_ENV} to a Python with aiosmtpd to run this test"
                );
                None
            }
        }
    }

    /// A sink on a free port, or `None` when the SMTP tests are skipped.
    pub fn start() -> Option<SmtpSink> {
        Some(SmtpSink::start_on(&SmtpSink::python_or_skip()?, 0))
    }

    /// A sink on `port` (0 for any free one), run by `python`; returns once it listens.
    pub fn start_on(python: &str, port: u16) -> SmtpSink {
        use std::io::BufRead;
        let dir = tempfile::tempdir().expect("temp dir");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_sink.py");
        let mut child = std::process::Command::new(python)
            .arg(script)
            .arg(dir.path())
            .args(["--port", &port.to_string()])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{SMTP_PYTHON_ENV}={python} does not run: {e}"));
        // The first line is the port, printed once the server accepts connections. Read on
        // a thread so that a sink that never starts fails the test instead of hanging it.
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(20)).unwrap_or_default();
        let Ok(bound) = line.trim().parse::<u16>() else {
            let _ = child.kill();
            let status = child.wait();
            panic!("the SMTP sink did not start (first line {line:?}, {status:?})");
        };
        assert!(port == 0 || port == bound, "asked for {port}, got {bound}");
        SmtpSink {
            port: bound,
            child,
            dir,
        }
    }

    /// `smtp://127.0.0.1:<port>` plus `query` (e.g. `?tls=required`), as `smtp_url`.
    pub fn url(&self, query: &str) -> SecretUrl {
        SecretUrl::new(format!("smtp://127.0.0.1:{}{query}", self.port))
    }

    /// Every message received so far, as text, oldest first.
    pub fn messages(&self) -> Vec<String> {
        let mut paths: Vec<_> = std::fs::read_dir(self.dir.path())
            .expect("sink directory")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        paths.sort();
        paths
            .into_iter()
            .map(|p| std::fs::read_to_string(p).expect("message is text"))
            .collect()
    }

    /// Waits until at least `n` messages have arrived, for at most 60 s, and returns all.
    pub async fn wait_for_messages(&self, n: usize) -> Vec<String> {
        wait_for(&format!("{n} messages at the SMTP sink"), async || {
            self.messages().len() >= n
        })
        .await;
        self.messages()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        // SIGTERM by PID (the sink exits cleanly on it), SIGKILL if it has not after 5 s.
        let pid = self.child.id().to_string();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every `.eml` the mailer wrote into `outbox` addressed to `to`, as text.
pub fn emails_in(outbox: &std::path::Path, to: &str) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(outbox) else {
        return Vec::new();
    };
    let header = format!("To: {to}");
    dir.filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter(|text| text.lines().any(|l| l.eq_ignore_ascii_case(&header)))
        .collect()
}
