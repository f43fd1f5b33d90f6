//! The hub's read caches: a published note, and the first page of the newest notes
//! (overall or per topic), in process and on the shared level.
//!
//! Both hold typed values, so that every transport reads the same cached data: a first
//! page behind an `Arc` with its JSON made once, a note with its JSON LZ4-packed beside it
//! (see [`Encoded::packed`]). On the shared level a note is its version and its packed
//! JSON ([`to_shared`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use moka::future::Cache;
use nexus_core::AppError;
use nexus_core::error::AppResult;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{NoteDetail, NoteListItem};
use crate::cache::{CacheBuilder, CacheEntry, SharedLevel, record};
use crate::encoded::{self, Encoded};
use crate::page::Page;

/// Keys and invalidation messages of these caches start with this.
const NS: &str = "hub";
/// The shared-level hash that holds every first page: they are cleared together.
const PAGES: &str = "pages";

/// A note as every transport reads it from the cache.
pub type CachedNote = Arc<Encoded<NoteDetail>>;

/// A note's JSON as both levels keep it: packed, since a note carries its text twice
/// (Markdown and HTML), which compresses well (benchmark notes: 4.6 KB of JSON to ~2 KB).
/// The typed value beside it is what GraphQL and HTML pages read.
fn cached(detail: NoteDetail) -> AppResult<(CachedNote, Bytes)> {
    let json = serde_json::to_vec(&detail)
        .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("encoding a note")))?;
    let packed = encoded::pack(&json);
    Ok((Arc::new(Encoded::packed(detail, packed.clone())), packed))
}

/// The shared level's form of a note: its version (4 bytes, big-endian), then its packed
/// JSON. The version is kept outside the JSON so that the format is checked cheaply.
fn to_shared(version: i32, packed: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + packed.len());
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(packed);
    out
}

/// A note from the shared level; `None` for bytes that are not one (damaged, or written
/// by a release whose note had another shape): a miss, and the database answers.
fn from_shared(raw: Bytes) -> Option<CachedNote> {
    let (version, packed) = raw.split_first_chunk::<4>()?;
    let json = encoded::unpack(packed)?;
    let detail: NoteDetail = serde_json::from_slice(&json).ok()?;
    (detail.version == i32::from_be_bytes(*version))
        .then(|| Arc::new(Encoded::packed(detail, raw.slice(4..))))
}

/// Bytes a cached note holds: its text as the typed value keeps it, its packed JSON, its
/// key, and an allowance for the rest of the value and the cache's own entry (moka keeps
/// a node, a deque entry and a frequency slot per key).
fn note_weight(slug: &str, note: &CachedNote) -> u32 {
    let text = [
        &note.slug,
        &note.title,
        &note.summary,
        &note.body_md,
        &note.body_html,
        &note.author.handle,
        &note.author.display_name,
    ]
    .iter()
    .map(|s| s.len())
    .sum::<usize>();
    let challenge = [&note.problem, &note.solution, &note.outcome]
        .iter()
        .filter_map(|s| s.as_ref().map(String::len))
        .sum::<usize>();
    let labels = note
        .topics
        .iter()
        .chain(&note.tags)
        .map(|s| s.len() + 24)
        .sum::<usize>();
    let bytes = text + challenge + labels + note.encoding_len() + slug.len() + 400;
    u32::try_from(bytes).unwrap_or(u32::MAX)
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
    notes: Cache<String, CachedNote>,
    first_pages: Cache<String, Arc<Encoded<Page<NoteListItem>>>>,
    shared: SharedLevel,
}

/// Adds the hub's caches to the process's.
pub fn register(builder: &mut CacheBuilder<'_>) {
    let ttl = Duration::from_secs(builder.settings.ttl_secs);
    builder.add(NoteCache {
        notes: Cache::builder()
            .weigher(|slug: &String, note: &CachedNote| note_weight(slug, note))
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
    pub async fn note(&self, slug: &str) -> Option<CachedNote> {
        if let Some(hit) = self.notes.get(slug).await {
            record("note", "hit");
            return Some(hit);
        }
        let from_shared = self
            .shared
            .get(NS, &note_key(slug))
            .await
            .and_then(|raw| from_shared(Bytes::from(raw)));
        match from_shared {
            Some(note) => {
                record("note", "shared_hit");
                self.notes.insert(slug.to_owned(), note.clone()).await;
                Some(note)
            }
            None => {
                record("note", "miss");
                None
            }
        }
    }

    /// Caches a published note on both levels; the answer is the cached value.
    pub async fn put_note(&self, detail: NoteDetail) -> AppResult<CachedNote> {
        let version = detail.version;
        let (note, packed) = cached(detail)?;
        self.shared
            .set(NS, &note_key(&note.slug), to_shared(version, &packed))
            .await;
        self.notes.insert(note.slug.clone(), note.clone()).await;
        Ok(note)
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
    use crate::hub::Author;
    use chrono::{TimeZone, Utc};
    use nexus_core::hub::{NoteKind, NoteStatus};

    fn note(body: &str) -> NoteDetail {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        NoteDetail {
            id: uuid::Uuid::from_u128(7),
            slug: "ownership".into(),
            title: "Ownership".into(),
            kind: NoteKind::Concept,
            status: NoteStatus::Published,
            summary: body.chars().take(40).collect(),
            body_md: body.into(),
            body_html: format!("<p>{body}</p>"),
            problem: None,
            solution: None,
            outcome: None,
            topics: vec!["rust".into()],
            tags: vec![],
            author: Author {
                handle: "ada".into(),
                display_name: "Ada".into(),
            },
            version: 7,
            created_at: at,
            updated_at: at,
            published_at: Some(at),
        }
    }

    #[test]
    fn a_note_on_the_shared_level_comes_back_typed_with_the_same_json() {
        let detail = note(&"Ownership moves values; borrowing lends them. ".repeat(60));
        let json = serde_json::to_vec(&detail).unwrap();
        let (cached_note, packed) = cached(detail).unwrap();
        assert_eq!(cached_note.json().unwrap(), json);
        // Text written twice (Markdown and HTML) compresses to well under half.
        assert!(
            packed.len() * 3 < json.len(),
            "{} of {}",
            packed.len(),
            json.len()
        );
        let back = from_shared(Bytes::from(to_shared(7, &packed))).expect("a note");
        assert_eq!(back.version, 7);
        assert_eq!(back.body_md, cached_note.body_md);
        assert_eq!(back.json().unwrap(), json);
        // The typed value is weighed too, not only the packed bytes.
        assert!(note_weight("ownership", &back) as usize > json.len());
    }

    #[test]
    fn bytes_that_are_not_a_shared_note_are_a_miss() {
        let (_, packed) = cached(note("x")).unwrap();
        let other_version = to_shared(8, &packed);
        let not_a_note = to_shared(7, &encoded::pack(b"{\"json\": true}"));
        for junk in [
            &b""[..],
            b"abc",
            b"\x00\x00\x00\x01\xff\xff\xff\xff",
            &other_version,
            &not_a_note,
        ] {
            assert!(
                from_shared(Bytes::copy_from_slice(junk)).is_none(),
                "{junk:?}"
            );
        }
    }
}
