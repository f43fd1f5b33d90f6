//! Read caches: the machinery, with no knowledge of what is cached.
//!
//! Two levels. Each domain keeps its finished answers in its own in-process caches
//! (moka), registered here as [`CacheEntry`]s at start-up. With `REDIS_URL` set, Redis is
//! a shared second level ([`SharedLevel`]): a miss in process asks Redis before the
//! database, so an answer read on one instance is warm on all. Every write that can
//! change a cached answer deletes it in Redis and publishes an invalidation, which every
//! instance hands to the entry of its namespace, before the write's answer is sent: a
//! client always reads its own writes, through any instance.
//!
//! Redis is an optimisation, never a dependency: every Redis call has a short timeout, and
//! on any failure the answer comes from the database (counted in
//! `cache_redis_errors_total`, shown by `/readyz` as `degraded`).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nexus_core::config::{CacheSettings, SecretUrl};
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// One Redis round trip longer than this and the database answers instead.
const REDIS_TIMEOUT: Duration = Duration::from_millis(250);

/// The invalidation message that clears every entry of every namespace.
const ALL: &str = "*";

/// Counts a lookup of cache `cache` by its result (`hit`, `shared_hit`, `miss`).
pub fn record(cache: &'static str, result: &'static str) {
    metrics::counter!("cache_requests_total", "cache" => cache, "result" => result).increment(1);
}

/// A domain's in-process cache, as the machinery sees it: a namespace for its keys and
/// messages, and what to do when another instance invalidated something.
pub trait CacheEntry: Send + Sync + 'static {
    /// Prefixes this entry's Redis keys and invalidation messages; unique per process.
    fn namespace(&self) -> &'static str;

    /// Applies an invalidation: `Some(message)` as the entry published it, or `None`
    /// for "anything may have changed" (a message for every namespace, or messages
    /// missed while the channel was down).
    fn invalidate<'a>(
        &'a self,
        message: Option<&'a str>,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;
}

struct Shared {
    conn: ConnectionManager,
    client: redis::Client,
    prefix: String,
    ttl_secs: u64,
    up: AtomicBool,
}

/// The Redis level shared by all instances, or nothing when no `REDIS_URL` is set (then
/// every call is a cheap miss). Cheap to clone.
#[derive(Clone, Default)]
pub struct SharedLevel(Option<Arc<Shared>>);

impl SharedLevel {
    /// The Redis connection is made lazily, so a Redis that is down at start-up costs
    /// nothing but cache misses.
    fn new(settings: &CacheSettings, redis_url: Option<&SecretUrl>) -> anyhow::Result<Self> {
        let Some(url) = redis_url else {
            return Ok(SharedLevel(None));
        };
        let client = redis::Client::open(url.expose())?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(1);
        Ok(SharedLevel(Some(Arc::new(Shared {
            conn: ConnectionManager::new_lazy_with_config(client.clone(), config)?,
            client,
            prefix: settings.redis_key_prefix.clone(),
            ttl_secs: settings.ttl_secs,
            up: AtomicBool::new(true),
        }))))
    }

    fn key(&self, ns: &str, key: &str) -> Option<String> {
        Some(format!("{}{ns}:{key}", self.0.as_ref()?.prefix))
    }

    async fn call<T, F, Fut>(&self, f: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let s = self.0.as_ref()?;
        match tokio::time::timeout(REDIS_TIMEOUT * 2, f(s.conn.clone())).await {
            Ok(Ok(v)) => {
                s.up.store(true, Ordering::Relaxed);
                Some(v)
            }
            Ok(Err(e)) => {
                self.failed(&e.to_string());
                None
            }
            Err(_) => {
                self.failed("timed out");
                None
            }
        }
    }

    fn failed(&self, why: &str) {
        metrics::counter!("cache_redis_errors_total").increment(1);
        if let Some(s) = &self.0
            && s.up.swap(false, Ordering::Relaxed)
        {
            tracing::warn!(
                error = why,
                "shared cache (Redis) unavailable; serving from the database"
            );
        }
    }

    /// `None` without Redis; otherwise whether Redis answers a PING now.
    pub async fn up(&self) -> Option<bool> {
        self.0.as_ref()?;
        let pong: Option<String> = self
            .call(|mut c| async move { redis::cmd("PING").query_async(&mut c).await })
            .await;
        Some(pong.is_some())
    }

    pub async fn get(&self, ns: &str, key: &str) -> Option<Vec<u8>> {
        let full = self.key(ns, key)?;
        self.call(|mut c| async move { c.get(full).await })
            .await
            .flatten()
    }

    /// Stores `value` for the configured time to live.
    pub async fn set(&self, ns: &str, key: &str, value: Vec<u8>) {
        let (Some(full), Some(s)) = (self.key(ns, key), &self.0) else {
            return;
        };
        let ttl = s.ttl_secs;
        self.call(|mut c| async move { c.set_ex::<_, _, ()>(full, value, ttl).await })
            .await;
    }

    /// A field of the hash `hash`: a group of answers deleted together.
    pub async fn hget(&self, ns: &str, hash: &str, field: &str) -> Option<Vec<u8>> {
        let full = self.key(ns, hash)?;
        let field = field.to_owned();
        self.call(|mut c| async move { c.hget(full, field).await })
            .await
            .flatten()
    }

    pub async fn hset(&self, ns: &str, hash: &str, field: &str, value: Vec<u8>) {
        let (Some(full), Some(s)) = (self.key(ns, hash), &self.0) else {
            return;
        };
        let field = field.to_owned();
        let ttl = i64::try_from(s.ttl_secs).unwrap_or(60);
        self.call(|mut c| async move {
            let _: () = c.hset(&full, field, value).await?;
            c.expire::<_, ()>(&full, ttl).await
        })
        .await;
    }

    /// Deletes `keys` of namespace `ns` and tells every instance `message`, which the
    /// entry of `ns` receives in its [`CacheEntry::invalidate`].
    pub async fn invalidate(&self, ns: &str, keys: &[&str], message: &str) {
        let Some(s) = &self.0 else {
            return;
        };
        let keys: Vec<String> = keys
            .iter()
            .map(|k| format!("{}{ns}:{k}", s.prefix))
            .collect();
        let channel = format!("{}invalidate", s.prefix);
        let message = format!("{ns}:{message}");
        self.call(|mut c| async move {
            if !keys.is_empty() {
                let _: () = c.del(&keys).await?;
            }
            let _: () = c.publish(channel, message).await?;
            Ok(())
        })
        .await;
    }

    /// Deletes every shared answer and tells every instance to clear everything. Rare
    /// (an author's display name changed), so the keys are found by a scan.
    async fn clear(&self) {
        let Some(s) = &self.0 else {
            return;
        };
        let pattern = format!("{}*", s.prefix);
        let channel = format!("{}invalidate", s.prefix);
        self.call(|mut c| async move {
            let keys: Vec<String> = {
                let mut iter: redis::AsyncIter<String> = c.scan_match(&pattern).await?;
                let mut keys = Vec::new();
                while let Some(k) = iter.next_item().await {
                    keys.push(k?);
                }
                keys
            };
            if !keys.is_empty() {
                let _: () = c.del(keys).await?;
            }
            let _: () = c.publish(channel, ALL).await?;
            Ok(())
        })
        .await;
    }
}

/// One registered cache: its type (for [`Caches::get`]) and the same value seen as an
/// entry (for invalidations).
type Registered = (TypeId, Arc<dyn Any + Send + Sync>, Arc<dyn CacheEntry>);

/// What a domain's `register` function gets: the settings and the shared level its
/// entries use.
pub struct CacheBuilder<'a> {
    pub settings: &'a CacheSettings,
    pub shared: &'a SharedLevel,
    entries: Vec<Registered>,
}

impl CacheBuilder<'_> {
    /// Adds a domain's cache; the domain finds it again with [`Caches::get`].
    pub fn add<E: CacheEntry>(&mut self, entry: E) {
        let entry = Arc::new(entry);
        self.entries.push((
            TypeId::of::<E>(),
            entry.clone(),
            entry as Arc<dyn CacheEntry>,
        ));
    }
}

/// Registers one domain's caches.
pub type CacheRegistration = fn(&mut CacheBuilder<'_>);

/// Every cache of the process, found by type, and the shared level under them.
#[derive(Clone)]
pub struct Caches {
    shared: SharedLevel,
    by_type: Arc<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
    entries: Arc<Vec<Arc<dyn CacheEntry>>>,
}

impl Caches {
    /// Builds each domain's caches and starts listening for other instances'
    /// invalidations (with Redis).
    pub fn new(
        settings: &CacheSettings,
        redis_url: Option<&SecretUrl>,
        domains: &[CacheRegistration],
    ) -> anyhow::Result<Caches> {
        let shared = SharedLevel::new(settings, redis_url)?;
        let mut builder = CacheBuilder {
            settings,
            shared: &shared,
            entries: Vec::new(),
        };
        for register in domains {
            register(&mut builder);
        }
        let mut by_type = HashMap::new();
        let mut entries = Vec::new();
        for (id, any, entry) in builder.entries {
            assert!(
                entries
                    .iter()
                    .all(|e: &Arc<dyn CacheEntry>| e.namespace() != entry.namespace()),
                "two caches share the namespace `{}`",
                entry.namespace()
            );
            by_type.insert(id, any);
            entries.push(entry);
        }
        let caches = Caches {
            shared,
            by_type: Arc::new(by_type),
            entries: Arc::new(entries),
        };
        caches.listen();
        Ok(caches)
    }

    /// The cache a domain registered, by its type.
    pub fn get<E: CacheEntry>(&self) -> Option<&E> {
        self.by_type.get(&TypeId::of::<E>())?.downcast_ref::<E>()
    }

    pub fn shared(&self) -> &SharedLevel {
        &self.shared
    }

    /// `None` without Redis; otherwise whether Redis answers a PING now.
    pub async fn shared_up(&self) -> Option<bool> {
        self.shared.up().await
    }

    /// Something every cached answer may show changed (an author's display name): every
    /// entry on every instance is cleared.
    pub async fn everything_changed(&self) {
        for entry in self.entries.iter() {
            entry.invalidate(None).await;
        }
        self.shared.clear().await;
    }

    /// Applies other instances' invalidations to this process. Runs for the life of the
    /// process; reconnects after a failure, clearing every entry first, since
    /// invalidations sent while disconnected were missed.
    fn listen(&self) {
        let Some(shared) = self.shared.0.clone() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let entries = self.entries.clone();
        let channel = format!("{}invalidate", shared.prefix);
        runtime.spawn(async move {
            use futures_util::StreamExt;
            loop {
                match shared.client.get_async_pubsub().await {
                    Ok(mut pubsub) => {
                        if pubsub.subscribe(&channel).await.is_ok() {
                            for entry in entries.iter() {
                                entry.invalidate(None).await;
                            }
                            let mut messages = pubsub.on_message();
                            while let Some(msg) = messages.next().await {
                                let Ok(payload) = msg.get_payload::<String>() else {
                                    continue;
                                };
                                dispatch(&entries, &payload).await;
                            }
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "cache invalidation channel unavailable"),
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }
}

/// Hands one invalidation message to the entry of its namespace (or to all of them).
async fn dispatch(entries: &[Arc<dyn CacheEntry>], payload: &str) {
    if payload == ALL {
        for entry in entries {
            entry.invalidate(None).await;
        }
        return;
    }
    let Some((ns, message)) = payload.split_once(':') else {
        return;
    };
    for entry in entries.iter().filter(|e| e.namespace() == ns) {
        entry.invalidate(Some(message)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recorder(&'static str, Mutex<Vec<Option<String>>>);

    impl CacheEntry for Recorder {
        fn namespace(&self) -> &'static str {
            self.0
        }
        fn invalidate<'a>(
            &'a self,
            message: Option<&'a str>,
        ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
            Box::pin(async move { self.1.lock().unwrap().push(message.map(str::to_owned)) })
        }
    }

    #[tokio::test]
    async fn messages_reach_the_entry_of_their_namespace_and_everything_reaches_all() {
        let a: Arc<Recorder> = Arc::new(Recorder("a", Mutex::default()));
        let b: Arc<Recorder> = Arc::new(Recorder("b", Mutex::default()));
        let entries: Vec<Arc<dyn CacheEntry>> = vec![a.clone(), b.clone()];
        dispatch(&entries, "a:note:x").await;
        dispatch(&entries, "*").await;
        dispatch(&entries, "c:ignored").await;
        dispatch(&entries, "no namespace").await;
        assert_eq!(*a.1.lock().unwrap(), [Some("note:x".to_owned()), None]);
        assert_eq!(*b.1.lock().unwrap(), [None]);
    }

    #[tokio::test]
    async fn entries_are_found_by_type_and_namespaces_are_unique() {
        fn register(b: &mut CacheBuilder<'_>) {
            b.add(Recorder("one", Mutex::default()));
        }
        let caches = Caches::new(&CacheSettings::default(), None, &[register]).unwrap();
        assert_eq!(caches.get::<Recorder>().unwrap().namespace(), "one");
        assert!(caches.shared_up().await.is_none());
        fn twice(b: &mut CacheBuilder<'_>) {
            b.add(Recorder("one", Mutex::default()));
            b.add(Recorder("one", Mutex::default()));
        }
        let twice = std::panic::catch_unwind(|| {
            Caches::new(&CacheSettings::default(), None, &[twice]).map(|_| ())
        });
        assert!(twice.is_err(), "a namespace registered twice is refused");
    }
}
