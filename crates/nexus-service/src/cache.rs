//! Read caches for the hottest answers: a published note's detail, and the first page of
//! the newest notes (overall or per topic).
//!
//! Entries are the finished answer values behind an `Arc`, so a hit costs a clone of a
//! pointer. Every write that can change a cached answer invalidates it before the write's
//! own answer is sent, so a client always reads its own writes. A short time-to-live bounds
//! staleness between instances until a shared invalidation channel is configured.

use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;

use crate::hub::{NoteDetail, NoteListItem};
use crate::page::Page;

#[derive(Clone)]
pub struct ReadCache {
    notes: Cache<String, Arc<NoteDetail>>,
    first_pages: Cache<String, Arc<Page<NoteListItem>>>,
}

fn record(cache: &'static str, hit: bool) {
    metrics::counter!("cache_requests_total", "cache" => cache, "result" => if hit { "hit" } else { "miss" })
        .increment(1);
}

impl ReadCache {
    pub fn new(capacity: u64, ttl: Duration) -> ReadCache {
        ReadCache {
            notes: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
            first_pages: Cache::builder()
                .max_capacity(1_000)
                .time_to_live(ttl)
                .build(),
        }
    }

    pub async fn note(&self, slug: &str) -> Option<Arc<NoteDetail>> {
        let hit = self.notes.get(slug).await;
        record("note", hit.is_some());
        hit
    }

    pub async fn put_note(&self, note: Arc<NoteDetail>) {
        self.notes.insert(note.slug.clone(), note).await;
    }

    /// Key of a cacheable first page: only the plain "newest published" listing, overall or
    /// for one topic, is cached; every other combination goes to the database.
    pub fn first_page_key(topic: Option<&str>, limit: u32) -> String {
        format!("{}|{limit}", topic.unwrap_or(""))
    }

    pub async fn first_page(&self, key: &str) -> Option<Arc<Page<NoteListItem>>> {
        let hit = self.first_pages.get(key).await;
        record("first_page", hit.is_some());
        hit
    }

    pub async fn put_first_page(&self, key: String, page: Arc<Page<NoteListItem>>) {
        self.first_pages.insert(key, page).await;
    }

    /// A note changed: its detail and every first page may show it.
    pub async fn note_changed(&self, slug: &str) {
        self.notes.invalidate(slug).await;
        self.first_pages.invalidate_all();
    }

    /// Something every cached answer may show changed (an author's display name).
    pub fn everything_changed(&self) {
        self.notes.invalidate_all();
        self.first_pages.invalidate_all();
    }
}
