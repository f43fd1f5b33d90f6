//! The pure work of the read answers: cursors (every list page); serialising the note
//! detail and a list page to JSON (every cache miss); packing a note's answer for the
//! cache (every miss) and unpacking it (every hit); cutting a search snippet (every hit
//! of a PostgreSQL search).
//!
//! `cargo bench -p nexus-service --bench answers`

use std::hint::black_box;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nexus_core::hub::{NoteKind, NoteStatus, SearchQuery, render_markdown};
use nexus_service::encoded::{self, Encoded};
use nexus_service::hub::snippet::{SNIPPET_WORDS, Terms, snippet};
use nexus_service::hub::{Author, NoteDetail, NoteListItem};
use nexus_service::page::{
    Page, decode_id_cursor, decode_time_cursor, encode_id_cursor, encode_time_cursor,
};
use uuid::Uuid;

/// A note of the benchmark data set's average length (~275 words), rendered as stored.
fn note() -> NoteDetail {
    let words = [
        "raft", "leader", "lease", "quorum", "index", "planner", "cache", "cursor",
    ];
    let body_md: String = (0..275)
        .map(|i| words[(i * 5) % words.len()])
        .collect::<Vec<_>>()
        .join(" ");
    let rendered = render_markdown(&body_md);
    let at = Utc
        .with_ymd_and_hms(2026, 3, 1, 12, 0, 0)
        .single()
        .unwrap_or_default();
    NoteDetail {
        id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001),
        slug: "raft-leader-lease-4242".into(),
        title: "raft leader lease 4242".into(),
        kind: NoteKind::Concept,
        status: NoteStatus::Published,
        summary: rendered.text.chars().take(240).collect(),
        body_md,
        body_html: rendered.html,
        problem: None,
        solution: None,
        outcome: None,
        topics: vec!["topic-07".into(), "topic-31".into()],
        tags: vec!["raft-14".into()],
        author: Author {
            handle: "bench-user-17".into(),
            display_name: "Bench User 17".into(),
        },
        version: 1,
        created_at: at,
        updated_at: at,
        published_at: Some(at),
    }
}

fn list_page(n: &NoteDetail) -> Page<NoteListItem> {
    Page {
        items: (0..20)
            .map(|i| NoteListItem {
                slug: format!("{}-{i}", n.slug),
                title: n.title.clone(),
                kind: n.kind,
                summary: n.summary.clone(),
                topics: n.topics.clone(),
                author: Author {
                    handle: n.author.handle.clone(),
                    display_name: n.author.display_name.clone(),
                },
                created_at: n.created_at,
            })
            .collect(),
        next_cursor: Some(encode_id_cursor(n.id)),
    }
}

fn cursors(c: &mut Criterion) {
    let id = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);
    let at = Utc
        .with_ymd_and_hms(2026, 3, 1, 12, 0, 0)
        .single()
        .unwrap_or_default();
    let id_cursor = encode_id_cursor(id);
    let time_cursor = encode_time_cursor(at, id);
    let mut group = c.benchmark_group("cursor");
    group.bench_function("encode_id", |b| b.iter(|| encode_id_cursor(black_box(id))));
    group.bench_function("decode_id", |b| {
        b.iter(|| decode_id_cursor(black_box(Some(id_cursor.as_str()))))
    });
    group.bench_function("encode_time", |b| {
        b.iter(|| encode_time_cursor(black_box(at), black_box(id)))
    });
    group.bench_function("decode_time", |b| {
        b.iter(|| decode_time_cursor(black_box(Some(time_cursor.as_str()))))
    });
    group.finish();
}

fn serialise(c: &mut Criterion) {
    let note = note();
    let page = list_page(&note);
    let mut group = c.benchmark_group("serialise");
    let detail_len = serde_json::to_vec(&note).map(|v| v.len()).unwrap_or(0);
    group.throughput(Throughput::Bytes(detail_len as u64));
    group.bench_function("note_detail", |b| {
        b.iter(|| serde_json::to_vec(black_box(&note)))
    });
    let page_len = serde_json::to_vec(&page).map(|v| v.len()).unwrap_or(0);
    group.throughput(Throughput::Bytes(page_len as u64));
    group.bench_function("list_page_20", |b| {
        b.iter(|| serde_json::to_vec(black_box(&page)))
    });
    group.finish();
}

fn cache_and_snippet(c: &mut Criterion) {
    let note = note();
    let json = serde_json::to_vec(&note).unwrap_or_default();
    let cached = Encoded::packed(self::note(), encoded::pack(&json));
    let mut group = c.benchmark_group("note_cache");
    group.throughput(Throughput::Bytes(json.len() as u64));
    group.bench_function("pack", |b| b.iter(|| encoded::pack(black_box(&json))));
    group.bench_function("unpack", |b| b.iter(|| black_box(&cached).json()));
    group.finish();

    let text = render_markdown(&note.body_md).text;
    let terms = Terms::of(&SearchQuery::parse("quorum planner"));
    let mut group = c.benchmark_group("search");
    group.bench_function("snippet_275_words", |b| {
        b.iter(|| snippet(black_box(&text), &terms, SNIPPET_WORDS))
    });
    group.finish();
}

criterion_group!(benches, cursors, serialise, cache_and_snippet);
criterion_main!(benches);
