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
            nexus_http::telemetry::init_tracing(nexus_core::config::LogFormat::Pretty);
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let mut settings = Settings {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: dir.path().join("nexus-data"),
            ..Settings::default()
        };
        settings.database.max_connections = 5;
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
    // Dropped last: the database outlives the server that uses it.
    _env: TestEnv,
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
    let app = Application::build(env.settings.clone())
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
