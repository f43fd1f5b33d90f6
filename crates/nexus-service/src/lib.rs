//! Every Nexus use case, with its authorization, independent of transport.
//!
//! # Layout
//! - [`Services`]: what a use case needs (database, token keys, password hasher, mailer,
//!   login throttle), built once per process and shared.
//! - [`actor`]: who is asking ([`actor::Principal`], [`actor::AuthUser`]) and the checks
//!   on them (role, scope, verified email).
//! - [`hub`]: topics, notes, revisions, cross-references and search.
//! - [`discussion`]: comments, edit proposals, reports, follows, bookmarks and the feed.
//! - [`identity`]: accounts, sign-in, sessions, personal access tokens, admin user
//!   management.
//! - [`page`]: cursor pagination shared by every list.
//! - [`cache`]: in-process caches of the hottest read answers, invalidated by writes.
//! - [`jobs`]: the durable job queue, the transactional outbox, schedules and workers.
//! - [`secrets`], [`passwords`], [`mail`], [`throttle`]: the machinery behind identity.
//! - [`ratelimit`]: request-rate limits (GCRA), in process or shared through Redis.
//!
//! REST handlers and GraphQL resolvers call these functions and only translate inputs and
//! outputs; business rules and authorization live here, once.

pub mod actor;
pub mod cache;
pub mod discussion;
pub mod encoded;
pub mod hub;
pub mod identity;
pub mod jobs;
pub mod mail;
pub mod page;
pub mod passwords;
pub mod ratelimit;
pub mod secrets;
pub mod snippet;
pub mod throttle;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use nexus_core::config::Settings;
use nexus_db::Db;

/// Shared state of the service layer. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub tokens: secrets::AccessTokens,
    pub passwords: passwords::Passwords,
    pub mailer: mail::Mailer,
    pub login_throttle: Arc<throttle::LoginThrottle>,
    pub cache: cache::ReadCache,
    pub rate_limiter: Arc<ratelimit::RateLimiter>,
    pub jobs: jobs::Jobs,
    /// The RabbitMQ transport of the job queue, when `amqp_url` is set.
    pub amqp: Option<jobs::amqp::AmqpLink>,
    /// The HTTP client of webhook deliveries.
    pub webhooks: webhooks::Outbound,
}

impl Services {
    pub fn new(db: Db, settings: Arc<Settings>) -> anyhow::Result<Services> {
        std::fs::create_dir_all(&settings.data_dir)?;
        let tokens = secrets::AccessTokens::from_settings(&settings.auth, &settings.data_dir)?;
        let mailer = mail::Mailer::from_settings(&settings)?;
        let jobs = jobs::Jobs::new(db.clone(), &settings.jobs);
        let amqp = settings
            .amqp_url
            .as_ref()
            .map(|url| jobs::amqp::AmqpLink::new(url.expose(), &settings.jobs.amqp_queue));
        let login_throttle = Arc::new(throttle::LoginThrottle::new(
            settings.auth.login_failures_before_lockout,
            Duration::from_secs(settings.auth.login_lockout_secs),
        ));
        let rate_limiter = Arc::new(ratelimit::RateLimiter::new(
            &settings.rate_limit,
            settings.redis_url.as_ref(),
        )?);
        Ok(Services {
            db,
            rate_limiter,
            tokens,
            passwords: passwords::Passwords::new()?,
            mailer,
            login_throttle,
            cache: cache::ReadCache::new(&settings.cache, settings.redis_url.as_ref())?,
            jobs,
            amqp,
            webhooks: webhooks::Outbound::new(
                &settings.webhooks,
                Duration::from_secs(settings.jobs.outbound_timeout_secs),
            )?,
            settings,
        })
    }

    /// Where jobs travel: `table` (the database) or `amqp` (RabbitMQ).
    pub fn jobs_backend(&self) -> &'static str {
        if self.amqp.is_some() { "amqp" } else { "table" }
    }
}
