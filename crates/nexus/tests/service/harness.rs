//! The service-level harness: a fresh database per test, the services over it, and a job
//! drain with a controllable time.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use nexus_core::config::Settings;
use nexus_core::identity::Role;
use nexus_db::Db;
use nexus_service::Services;
use nexus_service::actor::{AuthUser, Credential};
use nexus_service::clock::Clock;
use nexus_service::safety::{IdempotencyScope, RequestScope};
use uuid::Uuid;

use crate::helpers::{Backend, TestEnv};

pub struct ServiceApp {
    pub services: Services,
    pub db: Db,
    /// The time the job machinery goes by; it moves only when the test moves it.
    pub clock: Clock,
    /// Dropped last: the database outlives the services that use it.
    _env: TestEnv,
}

impl ServiceApp {
    pub async fn new(backend: Backend) -> ServiceApp {
        ServiceApp::with(backend, &[]).await
    }

    /// With job registrations beyond the domains' own.
    pub async fn with(backend: Backend, jobs: &[nexus_service::Registration]) -> ServiceApp {
        ServiceApp::configured(backend, jobs, |_| {}).await
    }

    /// With job registrations and settings of the test's own.
    pub async fn configured(
        backend: Backend,
        jobs: &[nexus_service::Registration],
        configure: impl FnOnce(&mut Settings),
    ) -> ServiceApp {
        let mut env = TestEnv::new(backend).await;
        configure(&mut env.settings);
        let db = Db::connect(&env.settings).await.unwrap();
        db.migrate().await.unwrap();
        let clock = Clock::manual(Utc::now());
        let services = Services::with_clock(
            db.clone(),
            Arc::new(env.settings.clone()),
            jobs,
            clock.clone(),
        )
        .unwrap();
        ServiceApp {
            services,
            db,
            clock,
            _env: env,
        }
    }

    /// Moves the clock to `now` and runs every job due by then (and the jobs those make),
    /// one step at a time.
    pub async fn drain_at(&self, now: DateTime<Utc>) -> usize {
        self.clock.set(now);
        nexus_service::jobs::worker::drain(&self.services)
            .await
            .unwrap()
    }

    /// Moves the clock to `now` and fires the current period of every schedule, as one
    /// worker's schedule loop would; how many periods this call enqueued.
    pub async fn fire_schedules_at(&self, now: DateTime<Utc>) -> usize {
        self.clock.set(now);
        nexus_service::jobs::worker::fire_due_schedules(&self.services)
            .await
            .unwrap()
    }

    /// Every `.eml` the mailer wrote, addressed to `to`, as text.
    pub fn emails_to(&self, to: &str) -> Vec<String> {
        crate::helpers::emails_in(&self.services.settings.data_dir.join("outbox"), to)
    }

    /// A verified user with `role`, signed in with a session.
    pub async fn user(&self, handle: &str, role: Role) -> AuthUser {
        let id = self
            .services
            .identity()
            .operator()
            .create_user(
                &format!("{handle}@example.com"),
                handle,
                None,
                "a long enough password".into(),
                role,
            )
            .await
            .unwrap();
        AuthUser {
            id,
            handle: handle.to_owned(),
            role,
            verified: true,
            credential: Credential::Session(Uuid::now_v7()),
        }
    }
}

/// Runs `work` as one request of `client`, with `key` as its `Idempotency-Key` (claimed
/// first, as the transport does) and `committed` as what an earlier attempt recorded.
pub async fn as_request<F: Future>(
    db: &Db,
    client: &str,
    key: Option<(&str, Option<String>)>,
    work: F,
) -> F::Output {
    let idempotency = match key {
        Some((key, committed)) => {
            let now = Utc::now();
            nexus_db::idempotency::claim(
                db,
                client,
                key,
                "fingerprint",
                now,
                now + chrono::Duration::hours(1),
            )
            .await
            .unwrap();
            Some(IdempotencyScope {
                scope: client.to_owned(),
                key: key.to_owned(),
                committed,
            })
        }
        None => None,
    };
    Arc::new(RequestScope::new(client.to_owned(), idempotency))
        .run(work)
        .await
}
