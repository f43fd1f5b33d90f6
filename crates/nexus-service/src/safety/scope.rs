//! The request a use case runs for, as the transport described it: who is asking (for
//! rate limits), the `Idempotency-Key` it carries, and what the limits decided (for the
//! transport's headers).
//!
//! A transport opens a scope around the work of one request ([`RequestScope::run`]); the
//! use cases read it as a task-local, so no use case signature carries transport
//! details, and every transport (REST, GraphQL, web pages) gets the same limits and the
//! same idempotency. Work outside any scope (the CLI, workers, tests that call the
//! service directly) is neither limited nor made idempotent.

use std::future::Future;
use std::sync::{Arc, Mutex};

use nexus_core::AppError;
use nexus_core::error::AppResult;

use crate::Services;
use crate::ratelimit::{Decision, Policy};

/// What a use case costs, for rate limiting. Each class has its own policy
/// (`rate_limit.<class>`) and its own bucket per client; `Auth` operations also have a
/// bucket each, since every one costs a password hash or sends an email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpClass {
    /// Reading one object or a list.
    Read,
    /// A full-text search.
    Search,
    /// Any change.
    Write,
    /// Storing an uploaded file: a change that also moves up to the upload limit of bytes.
    Upload,
    /// A collaboration request: a change that reaches another learner, limited on its
    /// own (charged beside `Write`).
    Collaboration,
    /// Sign-in, registration, password reset: named, each limited on its own.
    Auth(&'static str),
}

impl OpClass {
    fn bucket(self) -> String {
        match self {
            OpClass::Read => "read".into(),
            OpClass::Search => "search".into(),
            OpClass::Write => "write".into(),
            OpClass::Upload => "upload".into(),
            OpClass::Collaboration => "collaboration".into(),
            OpClass::Auth(op) => format!("auth:{op}"),
        }
    }
}

/// One request's `Idempotency-Key`, claimed by the transport.
#[derive(Debug, Clone)]
pub struct IdempotencyScope {
    /// The client the key belongs to (`u:<id>` or `ip:<address>`).
    pub scope: String,
    pub key: String,
    /// The result the first request with this key committed, when this request is its
    /// retry: the use case answers with it instead of acting again.
    pub committed: Option<String>,
}

/// The transport's description of one request.
#[derive(Debug)]
pub struct RequestScope {
    /// Who the limits count against: `u:<user id>` or `ip:<address>`.
    pub client: String,
    pub idempotency: Option<IdempotencyScope>,
    /// Every limit charged so far, with its decision.
    charged: Mutex<Vec<(OpClass, Policy, Decision)>>,
}

tokio::task_local! {
    static SCOPE: Arc<RequestScope>;
}

impl RequestScope {
    pub fn new(client: String, idempotency: Option<IdempotencyScope>) -> RequestScope {
        RequestScope {
            client,
            idempotency,
            charged: Mutex::new(Vec::new()),
        }
    }

    /// Runs `work` inside this scope.
    pub async fn run<F: Future>(self: Arc<Self>, work: F) -> F::Output {
        SCOPE.scope(self, work).await
    }

    /// The scope of the running request, if any.
    pub fn current() -> Option<Arc<RequestScope>> {
        SCOPE.try_with(Arc::clone).ok()
    }

    /// The last decision charged, for the `RateLimit` headers: the policy the request
    /// counted against and how much of it is left.
    pub fn last_decision(&self) -> Option<(Policy, Decision)> {
        let charged = self.charged.lock().unwrap_or_else(|e| e.into_inner());
        charged.last().map(|(_, p, d)| (*p, *d))
    }
}

impl Services {
    /// Charges the current request one unit of `class` for its client, once per request
    /// and class (a use case that calls another is charged once). Refused: 429 with the
    /// time until a unit is free.
    pub async fn charge(&self, class: OpClass) -> AppResult<()> {
        let Some(scope) = RequestScope::current() else {
            return Ok(());
        };
        if !self.rate_limiter.enabled() {
            return Ok(());
        }
        {
            let charged = scope.charged.lock().unwrap_or_else(|e| e.into_inner());
            if charged.iter().any(|(c, _, _)| *c == class) {
                return Ok(());
            }
        }
        let policy = self.rate_limiter.policy(class);
        let bucket = format!("{}:{}", class.bucket(), scope.client);
        let decision = self.rate_limiter.check(&policy, &bucket).await;
        scope
            .charged
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((class, policy, decision));
        if decision.allowed {
            Ok(())
        } else {
            Err(AppError::RateLimited {
                retry_after_secs: decision.retry_after_secs,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_operations_have_a_bucket_each_and_classes_one_each() {
        assert_eq!(OpClass::Auth("login").bucket(), "auth:login");
        assert_ne!(
            OpClass::Auth("login").bucket(),
            OpClass::Auth("register").bucket()
        );
        assert_eq!(OpClass::Read.bucket(), "read");
        assert_ne!(OpClass::Read.bucket(), OpClass::Search.bucket());
    }

    #[tokio::test]
    async fn the_scope_is_seen_inside_and_not_outside() {
        assert!(RequestScope::current().is_none());
        let scope = Arc::new(RequestScope::new("ip:127.0.0.1".into(), None));
        let client = scope
            .clone()
            .run(async { RequestScope::current().map(|s| s.client.clone()) })
            .await;
        assert_eq!(client.as_deref(), Some("ip:127.0.0.1"));
        assert!(RequestScope::current().is_none());
    }
}
