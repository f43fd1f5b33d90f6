//! Rendering and sanitising a note body: done on every write (and every import), so its
//! cost is part of the write scenario's latency.
//!
//! `cargo bench -p nexus-core --bench markdown`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nexus_core::hub::render_markdown;
use std::hint::black_box;

/// A body shaped like the benchmark seed's: ~275 plain words in lines of twelve, with
/// one `[[wikilink]]`.
fn seeded_body() -> String {
    const WORDS: [&str; 12] = [
        "raft", "leader", "lease", "quorum", "index", "planner", "cache", "cursor", "tokio",
        "borrow", "latency", "snapshot",
    ];
    let mut body = String::new();
    for w in 0..275 {
        if w > 0 {
            body.push(if w % 12 == 0 { '\n' } else { ' ' });
        }
        if w == 140 {
            body.push_str("[[consensus-basics]]");
        } else {
            body.push_str(WORDS[(w * 7) % WORDS.len()]);
        }
    }
    body
}

/// A body using most of what authors write: headings, emphasis, lists, a table, code,
/// links of both kinds, and markup the sanitiser must remove.
fn rich_body() -> String {
    let section = "## Why the planner chose a scan\n\n\
        The query filtered on `status` and sorted by `id`, so *without* an index on \
        `(status, id)` the **planner** read every row. See [[query-plans|the plans]] and \
        [the PostgreSQL docs](https://www.postgresql.org/docs/current/using-explain.html).\n\n\
        - measured with `EXPLAIN (ANALYZE)`\n- fixed by a partial index\n- ~~guessed~~ verified\n\n\
        | before | after |\n| --- | --- |\n| 120 ms | 0.4 ms |\n\n\
        ```sql\nCREATE INDEX notes_published ON notes (id) WHERE status = 'published';\n```\n\n\
        <script>alert(1)</script><a href=\"javascript:alert(1)\" onclick=\"x()\">bad</a>\n\n";
    section.repeat(4)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("render_markdown");
    for (name, body) in [("seeded", seeded_body()), ("rich", rich_body())] {
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(name, |b| b.iter(|| render_markdown(black_box(&body))));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
