//! `nexus seed --bench`: the benchmark data set of DESIGN.md — 50 topics, 2,000 users and
//! 100,000 published notes of 150-400 words with 1-3 topics and 0-4 tags — built from a
//! fixed seed, so every run on every machine produces the same notes.
//!
//! Notes are checked and rendered by the service's `hub().notes().prepare` and stored by
//! `create_prepared`, the code behind the API's `notes().create`, so rendering, slugs,
//! links, revisions, topics and the search index are exactly what the API would make;
//! only many notes share a transaction and each statement carries many rows. Users are
//! inserted directly with one shared password hash: hashing 2,000 passwords at OWASP cost
//! would add most of a minute and prove nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use nexus_core::hub::{NoteKind, note_slug};
use nexus_core::identity::Role;
use nexus_service::Services;
use nexus_service::actor::{AuthUser, Credential};
use nexus_service::hub::{CreateNote, NewNote};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::sync::mpsc;
use uuid::Uuid;

pub const SEED: u64 = 0x6e65_7875_735f_6265; // "nexus_be"
/// The password of every benchmark user (`bench-user-N@example.com`).
pub const BENCH_PASSWORD: &str = "bench password 2026";

#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub topics: usize,
    pub users: usize,
    pub notes: usize,
    /// Notes per transaction; does not change the data set.
    pub batch: usize,
}

/// How many distinct words the seed writes with; drawn first from a generator seeded with
/// [`SEED`], so `bench` can rebuild the same list for its search queries.
pub(crate) const VOCABULARY_SIZE: usize = 5_000;

/// A deterministic vocabulary of pronounceable words: syllables from fixed letter sets.
pub(crate) fn vocabulary(rng: &mut ChaCha8Rng, size: usize) -> Vec<String> {
    const ONSETS: [&str; 20] = [
        "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z",
        "br", "st",
    ];
    const VOWELS: [&str; 6] = ["a", "e", "i", "o", "u", "y"];
    let mut words = std::collections::BTreeSet::new();
    while words.len() < size {
        let syllables = rng.random_range(2..=3);
        let word: String = (0..syllables)
            .map(|_| {
                format!(
                    "{}{}",
                    ONSETS[rng.random_range(0..ONSETS.len())],
                    VOWELS[rng.random_range(0..VOWELS.len())]
                )
            })
            .collect();
        words.insert(word);
    }
    words.into_iter().collect()
}

/// Notes per transaction. Larger batches write each index page fewer times (on SQLite,
/// 2,000 took about 15 % less CPU than 500 for 20,000 notes); the seed runs on a fresh
/// database, so holding the write lock for a second harms nobody.
pub const BATCH: usize = 2_000;

/// Batches rendered ahead of the writers.
const PREPARED_AHEAD: usize = 2;

/// Concurrent writers on PostgreSQL.
const POSTGRES_WRITERS: usize = 2;

/// One batch of note inputs, each with the index of its author.
type Batch = Vec<(usize, CreateNote)>;

/// Generates `count` notes in batches from `rng`, handing each batch, the number of its
/// first note and the slugs its notes will get to `emit`; stops early when `emit` returns false. The sequence of
/// random draws is the data set's definition: change it and every benchmark figure
/// changes meaning.
fn generate(
    mut rng: ChaCha8Rng,
    words: &[String],
    tags: &[String],
    topic_slugs: &[String],
    shape: &Shape,
    mut emit: impl FnMut(usize, Batch, Vec<String>) -> bool,
) {
    let kinds = [
        NoteKind::Concept,
        NoteKind::Practice,
        NoteKind::Guide,
        NoteKind::Takeaway,
        NoteKind::Challenge,
    ];
    let (author_count, count, batch_size) = (shape.users, shape.notes, shape.batch.max(1));
    let mut slugs: Vec<String> = Vec::with_capacity(count);
    let mut batch = Vec::with_capacity(batch_size);
    for n in 0..count {
        let author = rng.random_range(0..author_count);
        let title_words = rng.random_range(2..=6);
        let title: String = (0..title_words)
            .map(|_| zipf_pick(&mut rng, words))
            .collect::<Vec<_>>()
            .join(" ");
        let title = format!("{title} {n}");
        let length = rng.random_range(150..=400);
        let mut body = String::with_capacity(length * 8);
        for w in 0..length {
            if w > 0 {
                body.push(if w % 12 == 0 { '\n' } else { ' ' });
            }
            if !slugs.is_empty() && rng.random_range(0..200) == 0 {
                body.push_str(&format!("[[{}]]", slugs[rng.random_range(0..slugs.len())]));
            } else {
                body.push_str(zipf_pick(&mut rng, words));
            }
        }
        let topic_count = rng.random_range(1..=3);
        let mut topics: Vec<String> = (0..topic_count)
            .map(|_| topic_slugs[rng.random_range(0..topic_slugs.len())].clone())
            .collect();
        topics.dedup();
        let tag_count = rng.random_range(0..=4);
        let note_tags: Vec<String> = (0..tag_count)
            .map(|_| tags[rng.random_range(0..tags.len())].clone())
            .collect();
        let kind = kinds[rng.random_range(0..kinds.len())];
        let challenge = kind == NoteKind::Challenge;
        // Every title ends in its unique number, so its slug is never taken and is known
        // before the note is stored; later notes link to it.
        slugs.push(note_slug(&title));
        batch.push((
            author,
            CreateNote {
                title,
                kind,
                body_md: body,
                topics,
                tags: note_tags,
                status: None,
                problem: challenge.then(|| "The first approach was too slow.".to_owned()),
                solution: challenge.then(|| "An index on the join column.".to_owned()),
                outcome: challenge.then(|| "Latency fell by two orders of magnitude.".to_owned()),
            },
        ));
        if batch.len() == batch_size || n + 1 == count {
            let first = n + 1 - batch.len();
            let predicted = slugs[first..=n].to_vec();
            if !emit(first, std::mem::take(&mut batch), predicted) {
                return;
            }
        }
    }
}

/// Word ranks follow a power law, as in real text: a few words are everywhere, most rare.
fn zipf_pick<'a>(rng: &mut ChaCha8Rng, words: &'a [String]) -> &'a str {
    let u: f64 = rng.random_range(0.0..1.0);
    let i = ((words.len() as f64).powf(u) - 1.0) as usize;
    &words[i.min(words.len() - 1)]
}

pub async fn run(services: &Services, shape: Shape) -> anyhow::Result<()> {
    let started = Instant::now();
    let db = &services.db;
    anyhow::ensure!(
        nexus_db::hub::list_topics(db)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .is_empty(),
        "this database already has topics; seed a fresh one"
    );
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let words = vocabulary(&mut rng, VOCABULARY_SIZE);
    let tags: Vec<String> = (0..100).map(|i| format!("{}-{i}", words[i * 7])).collect();

    // Topics, through the repository (admin rights are not the point here).
    let now = services.clock.now();
    let mut topic_slugs = Vec::with_capacity(shape.topics);
    let mut tx = db.begin().await?;
    for i in 0..shape.topics {
        let slug = format!("topic-{i:02}");
        let title = format!("{} {}", words[i * 3], words[i * 3 + 1]);
        nexus_db::hub::insert_topic(&mut tx, Uuid::now_v7(), &slug, &title, "", now).await?;
        topic_slugs.push(slug);
    }
    tx.commit().await?;

    let hash = services.passwords.hash(BENCH_PASSWORD).await?;
    let mut authors = Vec::with_capacity(shape.users);
    let mut tx = db.begin().await?;
    for i in 0..shape.users {
        let id = Uuid::now_v7();
        let handle = format!("bench-user-{i}");
        let email = format!("{handle}@example.com");
        nexus_db::identity::insert_user(
            &mut tx,
            &nexus_db::identity::NewUser {
                id,
                email: &email,
                email_normalized: &email,
                handle: &handle,
                display_name: &format!("Bench User {i}"),
                role: Role::Learner,
                password_hash: &hash,
                verified_at: Some(now),
                now,
            },
        )
        .await?;
        authors.push(AuthUser {
            id,
            handle,
            role: Role::Learner,
            verified: true,
            credential: Credential::Session(Uuid::nil()),
        });
    }
    tx.commit().await?;
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "topics and users seeded"
    );

    // Three stages, so that both cores work: a blocking task generates each batch of
    // inputs in order (the random sequence fixes the data set), more blocking tasks check
    // and render batches in parallel, and writers store them in order, one transaction
    // per batch, through the same code as `notes().create`.
    let topics = Arc::new(services.hub().notes().known_topics(&topic_slugs).await?);
    let authors = Arc::new(authors);
    let cohort_users = authors.clone();
    let (sender, prepared) = mpsc::channel(PREPARED_AHEAD);
    let runtime = tokio::runtime::Handle::current();
    let renderer = services.clone();
    let generator = tokio::task::spawn_blocking(move || {
        generate(
            rng,
            &words,
            &tags,
            &topic_slugs,
            &shape,
            |first, batch, predicted| {
                let (authors, topics) = (authors.clone(), topics.clone());
                let services = renderer.clone();
                let rendering = runtime.spawn_blocking(move || {
                    let notes = services.hub().notes();
                    batch
                        .into_iter()
                        .map(|(author, input)| notes.prepare(&authors[author], input, &topics))
                        .collect::<Result<Vec<_>, _>>()
                });
                sender.blocking_send((first, rendering, predicted)).is_ok()
            },
        );
    });
    // SQLite has one writer at a time; PostgreSQL computes each note's search vector on
    // the server, and two writers keep both cores busy with it.
    let writers = match db.backend() {
        nexus_db::Backend::Sqlite => 1,
        nexus_db::Backend::Postgres => POSTGRES_WRITERS,
    };
    let prepared = Arc::new(tokio::sync::Mutex::new(prepared));
    let written = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..writers {
        let (services, prepared, written) = (services.clone(), prepared.clone(), written.clone());
        tasks.spawn(async move {
            let mut slugs = Vec::new();
            loop {
                // Batches leave the queue in order; with two writers, neighbours are
                // written at the same time.
                let Some((first, rendering, predicted)) = prepared.lock().await.recv().await else {
                    return anyhow::Ok(slugs);
                };
                let batch: Vec<NewNote> = rendering
                    .await?
                    .map_err(|e| anyhow::anyhow!("notes from {first}: {}", e.public_detail()))?;
                let stored = services
                    .hub()
                    .notes()
                    .create_prepared(&batch)
                    .await
                    .map_err(|e| anyhow::anyhow!("notes from {first}: {}", e.public_detail()))?;
                // Links were drawn from the slugs the generator expected; a difference
                // would mean the data set no longer matches its description.
                anyhow::ensure!(
                    stored == predicted,
                    "notes from {first} got other slugs than expected"
                );
                slugs.extend(stored);
                let done = written.fetch_add(batch.len(), Ordering::Relaxed) + batch.len();
                if done % 10_000 < batch.len() {
                    tracing::info!(
                        notes = done,
                        elapsed_s = started.elapsed().as_secs(),
                        "seeding"
                    );
                }
            }
        });
    }
    let mut slugs = Vec::with_capacity(shape.notes);
    while let Some(task) = tasks.join_next().await {
        slugs.extend(task??);
    }
    generator.await?;
    let written = written.load(Ordering::Relaxed);
    anyhow::ensure!(
        written == shape.notes,
        "only {written} of {} notes were written",
        shape.notes
    );
    if writers > 1 {
        // A link to a note of a batch that another writer had not yet committed found no
        // target, and that batch could not see the link either. Now that all are
        // committed, the function that resolves links in every batch resolves those.
        let refs: Vec<&str> = slugs.iter().map(String::as_str).collect();
        let mut tx = db.begin().await?;
        nexus_db::hub::resolve_links_to(&mut tx, &refs).await?;
        tx.commit().await?;
    }
    // The progress scenario's cohort, when there are users enough for it.
    if cohort_users.len() >= 2 {
        crate::seed_cohort::run(services, &cohort_users, SEED ^ 0x636f_686f_7274).await?;
    }
    // A bulk load leaves the planner's statistics describing an empty database; the
    // benchmark must not depend on when autovacuum (or SQLite's optimize) gets to it.
    db.analyze().await?;
    let elapsed = started.elapsed();
    println!(
        "seeded {} topics, {} users and {} notes in {:.1} s ({:.0} notes/s)",
        shape.topics,
        shape.users,
        shape.notes,
        elapsed.as_secs_f64(),
        shape.notes as f64 / elapsed.as_secs_f64().max(0.001)
    );
    Ok(())
}
