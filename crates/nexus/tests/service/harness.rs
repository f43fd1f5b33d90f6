//! The service-level harness: a fresh database per test, the services over it, and a job
//! drain with a controllable time.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use nexus_core::identity::Role;
use nexus_db::Db;
use nexus_service::Services;
use nexus_service::actor::{AuthUser, Credential};
use nexus_service::safety::{IdempotencyScope, RequestScope};
use uuid::Uuid;

use crate::helpers::{Backend, TestEnv};

pub struct ServiceApp {
    pub services: Services,
    pub db: Db,
    /// Dropped last: the database outlives the services that use it.
    _env: TestEnv,
}

impl ServiceApp {
    pub async fn new(backend: Backend) -> ServiceApp {
        ServiceApp::with(backend, &[]).await
    }

    /// With job registrations beyond the domains' own.
    pub async fn with(backend: Backend, jobs: &[nexus_service::Registration]) -> ServiceApp {
        let env = TestEnv::new(backend).await;
        let db = Db::connect(&env.settings).await.unwrap();
        db.migrate().await.unwrap();
        let services = Services::with(db.clone(), Arc::new(env.settings.clone()), jobs).unwrap();
        ServiceApp {
            services,
            db,
            _env: env,
        }
    }

    /// Runs every job due by `now` (and the jobs those make), one step at a time.
    pub async fn drain_at(&self, now: DateTime<Utc>) -> usize {
        nexus_service::jobs::worker::drain(&self.services, now)
            .await
            .unwrap()
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
