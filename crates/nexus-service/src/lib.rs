//! Every Nexus use case, with its authorization, independent of transport.
//!
//! # Layout
//! - [`Services`]: what a use case needs (database, token keys, password hasher, mailer,
//!   caches, limits, the job queue and the registry of what the domains run), built once
//!   per process and shared. Each domain is reached through its own facade.
//! - Domains, each a folder that owns its types, rules and use cases:
//!   [`hub`] (topics, notes, revisions, links, search, and [`hub::discussion`]),
//!   [`identity`] (accounts, sessions, tokens), [`learning`] (courses), [`webhooks`],
//!   [`uploads`] (files in the object store).
//! - Machinery that names no domain: [`jobs`] (queue, outbox, registry, workers),
//!   [`cache`], [`ratelimit`], [`mail`], [`page`], [`actor`], [`encoded`].
//!
//! REST handlers and GraphQL resolvers call these functions and only translate inputs and
//! outputs; business rules and authorization live here, once.

/// Declares a group of use cases: a copyable handle on [`Services`] that derefs to it, so
/// a use case reads `self.db` or `self.queue`, and a facade hands it out
/// (`services.hub().notes()`). Every domain's groups are made by this one macro.
macro_rules! use_case_group {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy)]
        pub struct $name<'a>(pub(crate) &'a $crate::Services);

        impl std::ops::Deref for $name<'_> {
            type Target = $crate::Services;

            fn deref(&self) -> &$crate::Services {
                self.0
            }
        }
    };
}

pub mod actor;
pub mod cache;
pub mod clock;
pub mod encoded;
pub mod hub;
pub mod identity;
pub mod jobs;
pub mod learning;
pub mod mail;
pub mod page;
pub mod ratelimit;
pub mod safety;
pub mod uploads;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use nexus_core::config::Settings;
use nexus_db::Db;

/// Shared state of the service layer: one pointer, cheap to clone.
#[derive(Clone)]
pub struct Services(Arc<Core>);

/// What every use case can reach through [`Services`].
pub struct Core {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub tokens: identity::secrets::AccessTokens,
    pub passwords: identity::passwords::Passwords,
    pub mailer: mail::Mailer,
    pub login_throttle: identity::throttle::LoginThrottle,
    /// Every domain's read caches, and the shared level under them.
    pub cache: cache::Caches,
    pub rate_limiter: ratelimit::RateLimiter,
    /// The durable job queue and the outbox.
    pub queue: jobs::Jobs,
    /// The RabbitMQ transport of the job queue, when `amqp_url` is set.
    pub amqp: Option<jobs::amqp::AmqpLink>,
    /// The HTTP client of webhook deliveries.
    pub outbound: webhooks::Outbound,
    /// Job kinds, events, subscriptions and schedules, as the domains registered them.
    pub registry: jobs::Registry,
    /// The time every use case and the job machinery go by (a test's manual clock, or
    /// the system's).
    pub clock: clock::Clock,
    /// Where uploaded files are kept.
    pub storage: uploads::Storage,
}

impl std::ops::Deref for Services {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.0
    }
}

/// Registers what one domain (or a test) adds to the job machinery.
pub type Registration = fn(&mut jobs::Registry);

/// The domains' registrations, in the order they are added.
const DOMAINS: [Registration; 7] = [
    mail::send::register,
    identity::events::register,
    hub::events::register,
    hub::notifications::register,
    learning::events::register,
    learning::digests::register,
    webhooks::register,
];

/// Every domain's registrations plus `extra`.
fn registry(extra: &[Registration]) -> jobs::Registry {
    let mut registry = jobs::Registry::default();
    for register in DOMAINS.iter().chain(extra) {
        register(&mut registry);
    }
    registry
}

/// What the domains register, without a running service (for the API document, which
/// names the job kinds and event types).
pub fn domain_registry() -> jobs::Registry {
    registry(&[])
}

/// Checks the parts of the configuration that name what the domains register (job
/// kinds in `jobs.max_attempts`, schedules in `jobs.schedules`).
pub fn check_settings(settings: &Settings) -> Result<(), String> {
    registry(&[]).check(&settings.jobs)
}

/// The domains' caches.
const CACHES: [cache::CacheRegistration; 1] = [hub::cache::register];

impl Services {
    pub fn new(db: Db, settings: Arc<Settings>) -> anyhow::Result<Services> {
        Services::with(db, settings, &[])
    }

    /// As [`Services::new`], with `extra` registrations after the domains' own (a job
    /// kind that exists only in a test).
    pub fn with(
        db: Db,
        settings: Arc<Settings>,
        extra: &[Registration],
    ) -> anyhow::Result<Services> {
        Services::with_clock(db, settings, extra, clock::Clock::system())
    }

    /// As [`Services::with`], on `clock` (a test's manual clock).
    pub fn with_clock(
        db: Db,
        settings: Arc<Settings>,
        extra: &[Registration],
        clock: clock::Clock,
    ) -> anyhow::Result<Services> {
        let registry = registry(extra);
        registry.check(&settings.jobs).map_err(anyhow::Error::msg)?;
        std::fs::create_dir_all(&settings.data_dir)?;
        let tokens =
            identity::secrets::AccessTokens::from_settings(&settings.auth, &settings.data_dir)?;
        let mailer = mail::Mailer::from_settings(&settings)?;
        let queue = jobs::Jobs::new(db.clone(), &settings.jobs, clock.clone());
        let amqp = settings
            .amqp_url
            .as_ref()
            .map(|url| jobs::amqp::AmqpLink::new(url.expose(), &settings.jobs.amqp_queue));
        let login_throttle = identity::throttle::LoginThrottle::new(
            settings.auth.login_failures_before_lockout,
            Duration::from_secs(settings.auth.login_lockout_secs),
        );
        let rate_limiter =
            ratelimit::RateLimiter::new(&settings.rate_limit, settings.redis_url.as_ref())?;
        let storage = uploads::Storage::from_settings(&settings)?;
        Ok(Services(Arc::new(Core {
            db,
            rate_limiter,
            tokens,
            passwords: identity::passwords::Passwords::new()?,
            mailer,
            login_throttle,
            cache: cache::Caches::new(&settings.cache, settings.redis_url.as_ref(), &CACHES)?,
            queue,
            amqp,
            outbound: webhooks::Outbound::new(
                &settings.webhooks,
                Duration::from_secs(settings.jobs.outbound_timeout_secs),
            )?,
            registry,
            settings,
            clock,
            storage,
        })))
    }

    /// The knowledge hub: topics, notes, revisions, links, search and discussion.
    pub fn hub(&self) -> hub::Hub<'_> {
        hub::Hub::new(self)
    }

    /// Accounts, sessions, tokens and user administration.
    pub fn identity(&self) -> identity::Identity<'_> {
        identity::Identity::new(self)
    }

    /// The learning platform: courses, cohorts, submissions and reviews.
    pub fn learning(&self) -> learning::Learning<'_> {
        learning::Learning::new(self)
    }

    /// Webhook endpoints and their deliveries.
    pub fn webhooks(&self) -> webhooks::Webhooks<'_> {
        webhooks::Webhooks(self)
    }

    /// Uploaded files, kept in the object store.
    pub fn uploads(&self) -> uploads::Uploads<'_> {
        uploads::Uploads(self)
    }

    /// The job ledger, for admins.
    pub fn jobs(&self) -> jobs::admin::JobsAdmin<'_> {
        jobs::admin::JobsAdmin(self)
    }

    /// Where jobs travel: `table` (the database) or `amqp` (RabbitMQ).
    pub fn jobs_backend(&self) -> &'static str {
        if self.amqp.is_some() { "amqp" } else { "table" }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> jobs::Registry {
        super::registry(&[])
    }

    #[test]
    fn the_domains_register_every_job_event_and_schedule_they_use() {
        let r = registry();
        let kinds: Vec<&str> = r.job_names().collect();
        assert_eq!(
            kinds,
            [
                "digest.fanout",
                "digest.send",
                "email.send",
                "learning.digest.learner",
                "learning.digest.mentor",
                "learning.digests",
                "learning.notify",
                "learning.reminders",
                "notify.author",
                "webhook.deliver",
                "webhook.fanout"
            ]
        );
        assert!(r.check(&Settings::default().jobs).is_ok());
        let jobs_of =
            |event: &str| -> Vec<&str> { r.subscribers(event).iter().map(|s| s.0.name).collect() };
        assert_eq!(
            jobs_of("comment.created"),
            ["notify.author", "webhook.fanout"]
        );
        assert_eq!(jobs_of("note.published"), ["webhook.fanout"]);
        assert_eq!(
            jobs_of("submission.created"),
            ["learning.notify", "webhook.fanout"]
        );
        assert!(jobs_of("note.deleted").is_empty());
        for event in r.event_types() {
            assert!(jobs_of(event.name).contains(&"webhook.fanout"), "{event:?}");
        }
    }

    #[test]
    fn max_attempts_must_name_a_known_job_kind() {
        let mut settings = Settings::default();
        settings
            .jobs
            .max_attempts
            .insert("webhook.deliver".into(), 12);
        assert!(registry().check(&settings.jobs).is_ok());
        settings.jobs.max_attempts.insert("email.sent".into(), 3);
        let err = registry().check(&settings.jobs).unwrap_err();
        assert!(err.contains("jobs.max_attempts.email.sent"), "{err}");
        assert!(err.contains("unknown job kind"), "{err}");
    }
}
