//! `nexus seed --bench`: the benchmark data set of DESIGN.md — 50 topics, 2,000 users and
//! 100,000 published notes of 150-400 words with 1-3 topics and 0-4 tags — built from a
//! fixed seed, so every run on every machine produces the same notes.
//!
//! Notes go through the service's `create_note`, the same path as the API, so rendering,
//! links, revisions, topic counts and the search index are all consistent. Users are
//! inserted directly with one shared password hash: hashing 2,000 passwords at OWASP cost
//! would add most of a minute and prove nothing.

use std::time::Instant;

use nexus_core::hub::NoteKind;
use nexus_core::identity::Role;
use nexus_service::Services;
use nexus_service::actor::{AuthUser, Credential};
use nexus_service::hub::CreateNote;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

pub const SEED: u64 = 0x6e65_7875_735f_6265; // "nexus_be"
/// The password of every benchmark user (`bench-user-N@example.com`).
pub const BENCH_PASSWORD: &str = "bench password 2026";

pub struct Shape {
    pub topics: usize,
    pub users: usize,
    pub notes: usize,
}

/// A deterministic vocabulary of pronounceable words: syllables from fixed letter sets.
fn vocabulary(rng: &mut ChaCha8Rng, size: usize) -> Vec<String> {
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
    let words = vocabulary(&mut rng, 5_000);
    let tags: Vec<String> = (0..100).map(|i| format!("{}-{i}", words[i * 7])).collect();

    // Topics, through the repository (admin rights are not the point here).
    let now = chrono::Utc::now();
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
                role: Role::Learner.as_str(),
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

    let kinds = [
        NoteKind::Concept,
        NoteKind::Practice,
        NoteKind::Guide,
        NoteKind::Takeaway,
        NoteKind::Challenge,
    ];
    let mut slugs: Vec<String> = Vec::with_capacity(shape.notes);
    for n in 0..shape.notes {
        let author = &authors[rng.random_range(0..authors.len())];
        let title_words = rng.random_range(2..=6);
        let title: String = (0..title_words)
            .map(|_| zipf_pick(&mut rng, &words))
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
                body.push_str(zipf_pick(&mut rng, &words));
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
        let input = CreateNote {
            title,
            kind,
            body_md: body,
            topics,
            tags: note_tags,
            status: None,
            problem: challenge.then(|| "The first approach was too slow.".to_owned()),
            solution: challenge.then(|| "An index on the join column.".to_owned()),
            outcome: challenge.then(|| "Latency fell by two orders of magnitude.".to_owned()),
        };
        let note = services
            .create_note(author, input)
            .await
            .map_err(|e| anyhow::anyhow!("note {n}: {}", e.public_detail()))?;
        slugs.push(note.slug.clone());
        if (n + 1) % 10_000 == 0 {
            tracing::info!(
                notes = n + 1,
                elapsed_s = started.elapsed().as_secs(),
                "seeding"
            );
        }
    }
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
