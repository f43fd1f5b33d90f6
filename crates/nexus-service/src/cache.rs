//! Read caches for the hottest answers: a published note's detail, and the first page of
//! the newest notes (overall or per topic).
//!
//! Two levels. Each process keeps finished answers in moka: a first page behind an `Arc`,
//! so a hit is a pointer clone; a note as its JSON, LZ4-compressed (see [`NoteAnswer`]).
//! With `REDIS_URL` set, Redis is a shared second level: a miss in process
//! asks Redis before the database, so a note read on one instance is warm on all. Every
//! write that can change a cached answer deletes it in Redis and publishes an invalidation
//! that every instance applies to its own level, before the write's answer is sent: a
//! client always reads its own writes, through any instance.
//!
//! Redis is an optimisation, never a dependency: every Redis call has a short timeout, and
//! on any failure the answer comes from the database (counted in
//! `cache_redis_errors_total`, shown by `/readyz` as `degraded`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use moka::future::Cache;
use nexus_core::config::{CacheSettings, SecretUrl};
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::Serialize;
use serde::de::DeserializeOwned;

use bytes::Bytes;

use crate::encoded::Encoded;
use crate::hub::NoteListItem;
use crate::page::Page;

/// One Redis round trip longer than this and the database answers instead.
const REDIS_TIMEOUT: Duration = Duration::from_millis(250);

struct Shared {
    conn: ConnectionManager,
    client: redis::Client,
    prefix: String,
    ttl_secs: u64,
    up: AtomicBool,
}

/// A published note's answer: its JSON and the version its `ETag` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteAnswer {
    pub version: i32,
    pub json: Bytes,
}

/// A [`NoteAnswer`] as both levels keep it: the JSON LZ4-compressed. A note's answer
/// carries its text twice (Markdown and HTML), which compresses well (benchmark notes:
/// 4.6 KB of JSON to ~2 KB), so the same memory holds over twice the notes; with
/// read-hot's Zipf draw over 100,000 notes that turns most database reads into hits
/// (BENCHMARKS.md), for under a microsecond of decompression per hit.
#[derive(Clone)]
pub struct Packed(Bytes);

/// Larger than any note's answer can be (the body limit bounds what a note holds).
const MAX_ANSWER_BYTES: u32 = 32 * 1024 * 1024;

impl Packed {
    pub fn pack(answer: &NoteAnswer) -> Packed {
        let mut out = answer.version.to_be_bytes().to_vec();
        out.extend_from_slice(&lz4_flex::compress_prepend_size(&answer.json));
        Packed(Bytes::from(out))
    }

    /// `None` for bytes that are not a packed answer (a key from an older release).
    pub fn unpack(&self) -> Option<NoteAnswer> {
        let (version, compressed) = self.0.split_first_chunk::<4>()?;
        // The stated size is checked before lz4_flex allocates it: a damaged value must
        // not ask for gigabytes. Notes are limited far below this.
        let (size, _) = compressed.split_first_chunk::<4>()?;
        if u32::from_le_bytes(*size) > MAX_ANSWER_BYTES {
            return None;
        }
        let json = lz4_flex::decompress_size_prepended(compressed).ok()?;
        Some(NoteAnswer {
            version: i32::from_be_bytes(*version),
            json: Bytes::from(json),
        })
    }
}

#[derive(Clone)]
pub struct ReadCache {
    notes: Cache<String, Packed>,
    first_pages: Cache<String, Arc<Encoded<Page<NoteListItem>>>>,
    shared: Option<Arc<Shared>>,
}

/// Bytes a cached note holds: the packed answer, its key, and an allowance for the
/// cache's own entry (moka keeps a node, a deque entry and a frequency slot per key).
fn note_weight(slug: &str, note: &Packed) -> u32 {
    u32::try_from(note.0.len() + slug.len() + 160).unwrap_or(u32::MAX)
}

/// A value from Redis, keeping the bytes it came as for the answer.
fn decode<T: DeserializeOwned + Serialize>(raw: Vec<u8>) -> Option<Encoded<T>> {
    let value = serde_json::from_slice(&raw).ok()?;
    Some(Encoded::with_json(value, bytes::Bytes::from(raw)))
}

fn record(cache: &'static str, result: &'static str) {
    metrics::counter!("cache_requests_total", "cache" => cache, "result" => result).increment(1);
}

/// What an invalidation message says: every answer, or only first pages (every message
/// also clears first pages), or `note:{slug}` for one note.
const ALL: &str = "*";
const PAGES: &str = "pages";

impl ReadCache {
    /// An in-process cache, with Redis as the shared level when a URL is given. The Redis
    /// connection is made lazily, so a Redis that is down at start-up costs nothing but
    /// cache misses.
    pub fn new(
        settings: &CacheSettings,
        redis_url: Option<&SecretUrl>,
    ) -> anyhow::Result<ReadCache> {
        let ttl = Duration::from_secs(settings.ttl_secs);
        let shared = match redis_url {
            Some(url) => {
                let client = redis::Client::open(url.expose())?;
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(REDIS_TIMEOUT))
                    .set_response_timeout(Some(REDIS_TIMEOUT))
                    .set_number_of_retries(1);
                Some(Arc::new(Shared {
                    conn: ConnectionManager::new_lazy_with_config(client.clone(), config)?,
                    client,
                    prefix: settings.redis_key_prefix.clone(),
                    ttl_secs: settings.ttl_secs,
                    up: AtomicBool::new(true),
                }))
            }
            None => None,
        };
        let cache = ReadCache {
            notes: Cache::builder()
                .weigher(|slug: &String, note: &Packed| note_weight(slug, note))
                .max_capacity(settings.memory_mib.saturating_mul(1024 * 1024))
                .time_to_live(ttl)
                .build(),
            first_pages: Cache::builder()
                .max_capacity(1_000)
                .time_to_live(ttl)
                .build(),
            shared,
        };
        cache.listen();
        Ok(cache)
    }

    /// `None` without Redis; otherwise whether Redis answers a PING now.
    pub async fn shared_up(&self) -> Option<bool> {
        self.shared.as_ref()?;
        let pong: Option<String> = self
            .shared_call(|mut c| async move { redis::cmd("PING").query_async(&mut c).await })
            .await;
        Some(pong.is_some())
    }

    pub async fn note(&self, slug: &str) -> Option<NoteAnswer> {
        if let Some(hit) = self.notes.get(slug).await.and_then(|p| p.unpack()) {
            record("note", "hit");
            return Some(hit);
        }
        let from_shared = self
            .shared_get_raw(&format!("note:{slug}"))
            .await
            .map(|raw| Packed(Bytes::from(raw)))
            .and_then(|p| Some((p.unpack()?, p)));
        match from_shared {
            Some((answer, packed)) => {
                record("note", "shared_hit");
                self.notes.insert(slug.to_owned(), packed).await;
                Some(answer)
            }
            None => {
                record("note", "miss");
                None
            }
        }
    }

    pub async fn put_note(&self, slug: &str, answer: &NoteAnswer) {
        let packed = Packed::pack(answer);
        if let Some(s) = &self.shared {
            let full = format!("{}note:{slug}", s.prefix);
            let (raw, ttl) = (packed.0.to_vec(), s.ttl_secs);
            self.shared_call(|mut c| async move { c.set_ex::<_, _, ()>(full, raw, ttl).await })
                .await;
        }
        self.notes.insert(slug.to_owned(), packed).await;
    }

    /// Key of a cacheable first page: only the plain "newest published" listing, overall or
    /// for one topic, is cached; every other combination goes to the database.
    pub fn first_page_key(topic: Option<&str>, limit: u32) -> String {
        format!("{}|{limit}", topic.unwrap_or(""))
    }

    pub async fn first_page(&self, key: &str) -> Option<Arc<Encoded<Page<NoteListItem>>>> {
        if let Some(hit) = self.first_pages.get(key).await {
            record("first_page", "hit");
            return Some(hit);
        }
        let from_shared = self
            .shared_hget::<Page<NoteListItem>>("pages", key)
            .await
            .map(Arc::new);
        match &from_shared {
            Some(page) => {
                record("first_page", "shared_hit");
                self.first_pages.insert(key.to_owned(), page.clone()).await;
            }
            None => record("first_page", "miss"),
        }
        from_shared
    }

    pub async fn put_first_page(&self, key: String, page: Arc<Encoded<Page<NoteListItem>>>) {
        self.shared_hset("pages", &key, page.as_ref()).await;
        self.first_pages.insert(key, page).await;
    }

    /// A note changed: its detail and every first page may show it.
    pub async fn note_changed(&self, slug: &str) {
        self.notes.invalidate(slug).await;
        self.first_pages.invalidate_all();
        if let Some(s) = &self.shared {
            let keys = [
                format!("{}note:{slug}", s.prefix),
                format!("{}pages", s.prefix),
            ];
            let channel = format!("{}invalidate", s.prefix);
            self.shared_call(|mut c| async move {
                let _: () = c.del(&keys).await?;
                let _: () = c.publish(channel, slug_message(slug)).await?;
                Ok(())
            })
            .await;
        }
    }

    /// Notes were added: no detail answer can be stale (a new slug was never cached), but
    /// every first page may now be missing them.
    pub async fn first_pages_changed(&self) {
        self.first_pages.invalidate_all();
        if let Some(s) = &self.shared {
            let key = format!("{}pages", s.prefix);
            let channel = format!("{}invalidate", s.prefix);
            self.shared_call(|mut c| async move {
                let _: () = c.del(&key).await?;
                let _: () = c.publish(channel, PAGES).await?;
                Ok(())
            })
            .await;
        }
    }

    /// Something every cached answer may show changed (an author's display name). Rare, so
    /// the shared level is cleared by scanning its keys.
    pub async fn everything_changed(&self) {
        self.notes.invalidate_all();
        self.first_pages.invalidate_all();
        if let Some(s) = &self.shared {
            let pattern = format!("{}*", s.prefix);
            let channel = format!("{}invalidate", s.prefix);
            self.shared_call(|mut c| async move {
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

    async fn shared_call<T, F, Fut>(&self, f: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let s = self.shared.as_ref()?;
        match tokio::time::timeout(REDIS_TIMEOUT * 2, f(s.conn.clone())).await {
            Ok(Ok(v)) => {
                s.up.store(true, Ordering::Relaxed);
                Some(v)
            }
            Ok(Err(e)) => {
                self.redis_failed(&e.to_string());
                None
            }
            Err(_) => {
                self.redis_failed("timed out");
                None
            }
        }
    }

    fn redis_failed(&self, why: &str) {
        metrics::counter!("cache_redis_errors_total").increment(1);
        if let Some(s) = &self.shared
            && s.up.swap(false, Ordering::Relaxed)
        {
            tracing::warn!(
                error = why,
                "shared cache (Redis) unavailable; serving from the database"
            );
        }
    }

    async fn shared_get_raw(&self, key: &str) -> Option<Vec<u8>> {
        let s = self.shared.as_ref()?;
        let full = format!("{}{key}", s.prefix);
        self.shared_call(|mut c| async move { c.get(full).await })
            .await
            .flatten()
    }

    async fn shared_hget<T: DeserializeOwned + Serialize>(
        &self,
        hash: &str,
        field: &str,
    ) -> Option<Encoded<T>> {
        let s = self.shared.as_ref()?;
        let full = format!("{}{hash}", s.prefix);
        let field = field.to_owned();
        let raw: Option<Vec<u8>> = self
            .shared_call(|mut c| async move { c.hget(full, field).await })
            .await
            .flatten();
        decode(raw?)
    }

    async fn shared_hset<T: Serialize>(&self, hash: &str, field: &str, value: &Encoded<T>) {
        let Some(s) = self.shared.as_ref() else {
            return;
        };
        let Ok(json) = value.json() else {
            return;
        };
        let json = json.to_vec();
        let full = format!("{}{hash}", s.prefix);
        let field = field.to_owned();
        let ttl = i64::try_from(s.ttl_secs).unwrap_or(60);
        self.shared_call(|mut c| async move {
            let _: () = c.hset(&full, field, json).await?;
            c.expire::<_, ()>(&full, ttl).await
        })
        .await;
    }

    /// Applies other instances' invalidations to this process. Runs for the life of the
    /// process; reconnects after a failure, clearing the local level first, since
    /// invalidations sent while disconnected were missed.
    fn listen(&self) {
        let Some(shared) = self.shared.clone() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let notes = self.notes.clone();
        let pages = self.first_pages.clone();
        let channel = format!("{}invalidate", shared.prefix);
        runtime.spawn(async move {
            use futures_util::StreamExt;
            loop {
                match shared.client.get_async_pubsub().await {
                    Ok(mut pubsub) => {
                        if pubsub.subscribe(&channel).await.is_ok() {
                            notes.invalidate_all();
                            pages.invalidate_all();
                            let mut messages = pubsub.on_message();
                            while let Some(msg) = messages.next().await {
                                let Ok(payload) = msg.get_payload::<String>() else {
                                    continue;
                                };
                                pages.invalidate_all();
                                match payload.strip_prefix("note:") {
                                    Some(slug) => notes.invalidate(slug).await,
                                    None if payload == PAGES => {}
                                    None => notes.invalidate_all(),
                                }
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

fn slug_message(slug: &str) -> String {
    format!("note:{slug}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: &str) -> NoteAnswer {
        let json = serde_json::json!({"body_md": body, "body_html": format!("<p>{body}</p>")});
        NoteAnswer {
            version: 7,
            json: Bytes::from(serde_json::to_vec(&json).unwrap()),
        }
    }

    #[test]
    fn a_packed_answer_unpacks_to_the_same_bytes_and_version() {
        let a = answer(&"Ownership moves values; borrowing lends them. ".repeat(60));
        let packed = Packed::pack(&a);
        assert_eq!(packed.unpack(), Some(a.clone()));
        // Text written twice (Markdown and HTML) compresses to well under half.
        assert!(
            packed.0.len() * 3 < a.json.len(),
            "{} of {}",
            packed.0.len(),
            a.json.len()
        );
        assert!(note_weight("slug", &packed) as usize > packed.0.len());
        let empty = answer("");
        assert_eq!(Packed::pack(&empty).unpack(), Some(empty));
    }

    #[test]
    fn bytes_that_are_not_a_packed_answer_are_a_miss() {
        for junk in [
            &b""[..],
            b"abc",
            b"\x00\x00\x00\x01\xff\xff\xff\xff",
            b"{\"json\": true}",
        ] {
            assert_eq!(
                Packed(Bytes::copy_from_slice(junk)).unpack(),
                None,
                "{junk:?}"
            );
        }
    }
}
