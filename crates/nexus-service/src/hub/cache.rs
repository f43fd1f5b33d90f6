//! The hub's read caches: a published note's answer, and the first page of the newest
//! notes (overall or per topic), in process and on the shared level.
//!
//! A first page is kept behind an `Arc`, so a hit is a pointer clone; a note as its JSON,
//! LZ4-compressed (see [`Packed`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use moka::future::Cache;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::NoteListItem;
use crate::cache::{CacheBuilder, CacheEntry, SharedLevel, record};
use crate::encoded::Encoded;
use crate::page::Page;

/// Keys and invalidation messages of these caches start with this.
const NS: &str = "hub";
/// The shared-level hash that holds every first page: they are cleared together.
const PAGES: &str = "pages";

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

/// Bytes a cached note holds: the packed answer, its key, and an allowance for the
/// cache's own entry (moka keeps a node, a deque entry and a frequency slot per key).
fn note_weight(slug: &str, note: &Packed) -> u32 {
    u32::try_from(note.0.len() + slug.len() + 160).unwrap_or(u32::MAX)
}

/// A value from Redis, keeping the bytes it came as for the answer.
fn decode<T: DeserializeOwned + Serialize>(raw: Vec<u8>) -> Option<Encoded<T>> {
    let value = serde_json::from_slice(&raw).ok()?;
    Some(Encoded::with_json(value, Bytes::from(raw)))
}

/// The hub's caches of this process.
pub(crate) fn of(services: &crate::Services) -> &NoteCache {
    match services.cache.get::<NoteCache>() {
        Some(cache) => cache,
        // `Services::new` registers `register` below with every domain's caches.
        None => unreachable!("the hub's caches are registered at start-up"),
    }
}

pub struct NoteCache {
    notes: Cache<String, Packed>,
    first_pages: Cache<String, Arc<Encoded<Page<NoteListItem>>>>,
    shared: SharedLevel,
}

/// Adds the hub's caches to the process's.
pub fn register(builder: &mut CacheBuilder<'_>) {
    let ttl = Duration::from_secs(builder.settings.ttl_secs);
    builder.add(NoteCache {
        notes: Cache::builder()
            .weigher(|slug: &String, note: &Packed| note_weight(slug, note))
            .max_capacity(builder.settings.memory_mib.saturating_mul(1024 * 1024))
            .time_to_live(ttl)
            .build(),
        first_pages: Cache::builder()
            .max_capacity(1_000)
            .time_to_live(ttl)
            .build(),
        shared: builder.shared.clone(),
    });
}

fn note_key(slug: &str) -> String {
    format!("note:{slug}")
}

impl NoteCache {
    pub async fn note(&self, slug: &str) -> Option<NoteAnswer> {
        if let Some(hit) = self.notes.get(slug).await.and_then(|p| p.unpack()) {
            record("note", "hit");
            return Some(hit);
        }
        let from_shared = self
            .shared
            .get(NS, &note_key(slug))
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
        self.shared
            .set(NS, &note_key(slug), packed.0.to_vec())
            .await;
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
            .shared
            .hget(NS, PAGES, key)
            .await
            .and_then(decode::<Page<NoteListItem>>)
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
        if let Ok(json) = page.json() {
            self.shared.hset(NS, PAGES, &key, json.to_vec()).await;
        }
        self.first_pages.insert(key, page).await;
    }

    /// A note changed: its detail and every first page may show it.
    pub async fn note_changed(&self, slug: &str) {
        self.notes.invalidate(slug).await;
        self.first_pages.invalidate_all();
        let key = note_key(slug);
        self.shared.invalidate(NS, &[&key, PAGES], &key).await;
    }

    /// Notes were added: no detail answer can be stale (a new slug was never cached), but
    /// every first page may now be missing them.
    pub async fn first_pages_changed(&self) {
        self.first_pages.invalidate_all();
        self.shared.invalidate(NS, &[PAGES], PAGES).await;
    }
}

impl CacheEntry for NoteCache {
    fn namespace(&self) -> &'static str {
        NS
    }

    /// Every message clears first pages (any change may move a note into or out of
    /// one); `note:{slug}` also clears that note, and `None` clears every note.
    fn invalidate<'a>(
        &'a self,
        message: Option<&'a str>,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            self.first_pages.invalidate_all();
            match message {
                Some(m) if m == PAGES => {}
                Some(m) => match m.strip_prefix("note:") {
                    Some(slug) => self.notes.invalidate(slug).await,
                    None => self.notes.invalidate_all(),
                },
                None => self.notes.invalidate_all(),
            }
        })
    }
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
