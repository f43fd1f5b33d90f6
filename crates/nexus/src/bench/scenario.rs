//! The scenarios of DESIGN.md's benchmark contract, and the data they draw from.
//!
//! Everything a request needs is prepared before the warm-up ([`Data::prepare`]): the
//! slugs of all published notes (through the list API, so the harness needs nothing but
//! the URL), the topics, the search queries and a token. During the load a worker only
//! draws an index and clones a prepared URI.

use std::collections::HashSet;
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use http::{HeaderValue, Request, StatusCode, Uri};
use http_body_util::Full;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::Zipf;
use serde::Serialize;

use super::client::{Conn, Target, get, post_json};

/// The exponent of the hot-note draw, from the benchmark contract.
pub const ZIPF_EXPONENT: f64 = 1.1;
/// Distinct search queries: enough that no result cache can carry the scenario.
pub const SEARCH_QUERIES: usize = 10_000;
/// Fixed, so that two runs ask the same notes in the same proportions.
const DATA_SEED: u64 = 0x6265_6e63_685f_7631; // "bench_v1"
/// Words in the body of a note written by the write scenario: the middle of the seed's
/// 150-400, so a write costs what an average seeded note cost.
const WRITE_BODY_WORDS: usize = 275;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// `GET /api/v1/notes/{slug}`, slugs drawn Zipf(s = 1.1) over all notes.
    ReadHot,
    /// `GET /api/v1/notes?topic=…&limit=20`: the first page of a random topic.
    List,
    /// `GET /api/v1/search?q=w1 w2&limit=10` over 10,000 distinct pairs of seed words.
    Search,
    /// `POST /api/v1/notes`: a new note per request, as a seeded user.
    Write,
    /// 90% read-hot, 5% list, 4% search, 1% write.
    Mixed,
    /// `GET /api/v1/cohorts/bench-cohort/progress` as its mentor: the table of 500
    /// learners with 24 reviewed weeks each (`nexus seed --bench` makes the cohort).
    Progress,
}

/// One request kind; a scenario is a fixed mix of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    ReadHot,
    List,
    Search,
    Write,
    Progress,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::ReadHot => "read-hot",
            Scenario::List => "list",
            Scenario::Search => "search",
            Scenario::Write => "write",
            Scenario::Mixed => "mixed",
            Scenario::Progress => "progress",
        }
    }

    fn uses(self, op: Op) -> bool {
        match self {
            Scenario::Mixed => op != Op::Progress,
            Scenario::Progress => op == Op::Progress,
            Scenario::ReadHot => op == Op::ReadHot,
            Scenario::List => op == Op::List,
            Scenario::Search => op == Op::Search,
            Scenario::Write => op == Op::Write,
        }
    }

    /// The kind of the next request. `roll` is uniform in 0..100.
    pub fn op(self, roll: u32) -> Op {
        match self {
            Scenario::ReadHot => Op::ReadHot,
            Scenario::List => Op::List,
            Scenario::Search => Op::Search,
            Scenario::Write => Op::Write,
            Scenario::Progress => Op::Progress,
            Scenario::Mixed => match roll {
                0..90 => Op::ReadHot,
                90..95 => Op::List,
                95..99 => Op::Search,
                _ => Op::Write,
            },
        }
    }
}

/// Who the write scenario writes as: a seeded user (`seed::run` creates them).
pub struct Writer {
    pub email: String,
    pub password: String,
}

impl Default for Writer {
    fn default() -> Self {
        Writer {
            email: "bench-user-0@example.com".to_owned(),
            password: crate::seed::BENCH_PASSWORD.to_owned(),
        }
    }
}

/// What the requests of a run are drawn from, prepared once and shared by every worker.
pub struct Data {
    /// `/api/v1/notes/{slug}` of every published note, shuffled once with a fixed seed, so
    /// that a note's Zipf rank has nothing to do with its age or where it is stored.
    pub hot: Vec<Uri>,
    /// `/api/v1/notes?topic=…&limit=20`, one per topic.
    pub lists: Vec<Uri>,
    /// `/api/v1/search?q=…&limit=10`, [`SEARCH_QUERIES`] distinct pairs.
    pub searches: Vec<Uri>,
    /// Topic slugs and words, for the notes the write scenario creates.
    pub topics: Vec<String>,
    pub words: Vec<String>,
    /// `Bearer …`, when the scenario writes.
    pub token: Option<HeaderValue>,
}

impl Data {
    /// Asks the server for what the scenario needs; fails with the reason when the server
    /// has no benchmark data or refuses (a rate limit, most often).
    pub async fn prepare(
        target: &Target,
        scenario: Scenario,
        writer: &Writer,
    ) -> anyhow::Result<Data> {
        let mut conn = Conn::open(target.addr).await?;
        let words = seed_vocabulary();
        let mut data = Data {
            hot: Vec::new(),
            lists: Vec::new(),
            searches: Vec::new(),
            topics: Vec::new(),
            words,
            token: None,
        };
        if scenario.uses(Op::ReadHot) {
            let mut slugs = all_note_slugs(&mut conn, target).await?;
            anyhow::ensure!(
                !slugs.is_empty(),
                "the server has no published notes: seed it first (`nexus seed --bench`)"
            );
            slugs.shuffle(&mut ChaCha8Rng::seed_from_u64(DATA_SEED));
            data.hot = slugs
                .iter()
                .map(|s| parse_uri(format!("/api/v1/notes/{s}")))
                .collect::<anyhow::Result<_>>()?;
        }
        if scenario.uses(Op::List) || scenario.uses(Op::Write) {
            data.topics = topic_slugs(&mut conn, target).await?;
            anyhow::ensure!(
                !data.topics.is_empty(),
                "the server has no topics: seed it first (`nexus seed --bench`)"
            );
            data.lists = data
                .topics
                .iter()
                .map(|t| parse_uri(format!("/api/v1/notes?topic={t}&limit=20")))
                .collect::<anyhow::Result<_>>()?;
        }
        if scenario.uses(Op::Search) {
            check_vocabulary(&mut conn, target, &data.words).await?;
            data.searches = search_queries(&data.words, SEARCH_QUERIES, DATA_SEED)
                .iter()
                .map(|(a, b)| parse_uri(format!("/api/v1/search?q={a}%20{b}&limit=10")))
                .collect::<anyhow::Result<_>>()?;
        }
        if scenario.uses(Op::Write) || scenario.uses(Op::Progress) {
            data.token = Some(login(&mut conn, target, writer).await?);
        }
        Ok(data)
    }

    /// How many published notes the hot draw spans.
    pub fn notes(&self) -> usize {
        self.hot.len()
    }
}

/// The seed's own words, sorted (the seed draws them by rank in this order: the first are
/// the commonest in the data).
pub fn seed_vocabulary() -> Vec<String> {
    let mut rng = ChaCha8Rng::seed_from_u64(crate::seed::SEED);
    crate::seed::vocabulary(&mut rng, crate::seed::VOCABULARY_SIZE)
}

/// `count` distinct pairs of different words, each word uniform over the vocabulary.
///
/// Uniform rather than by frequency in the text: with the seed's power law a tenth of the
/// frequency-weighted pairs would be two of the ten commonest words, which match nearly
/// every note, and the scenario would measure ranking the whole table, not search.
pub fn search_queries(words: &[String], count: usize, seed: u64) -> Vec<(String, String)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let possible = words.len().saturating_mul(words.len().saturating_sub(1));
    let count = count.min(possible);
    let mut seen = HashSet::with_capacity(count);
    let mut pairs = Vec::with_capacity(count);
    while pairs.len() < count {
        let a = rng.random_range(0..words.len());
        let b = rng.random_range(0..words.len());
        if a != b && seen.insert((a, b)) {
            pairs.push((words[a].clone(), words[b].clone()));
        }
    }
    pairs
}

fn parse_uri(s: String) -> anyhow::Result<Uri> {
    Uri::try_from(s.as_str()).with_context(|| format!("building a request URI from {s:?}"))
}

/// A refusal during set-up, with the most likely fix when it is a rate limit.
fn refused(what: &str, status: StatusCode, body: &[u8]) -> anyhow::Error {
    let hint = if status == StatusCode::TOO_MANY_REQUESTS {
        "\nthe server's rate limit refused the harness: start it as BENCHMARKS.md says \
         (NEXUS_RATE_LIMIT__READ__LIMIT and friends raised)"
    } else {
        ""
    };
    let excerpt: String = String::from_utf8_lossy(body).chars().take(300).collect();
    anyhow::anyhow!("{what}: HTTP {status}: {excerpt}{hint}")
}

async fn get_json(
    conn: &mut Conn,
    target: &Target,
    path: String,
    what: &str,
) -> anyhow::Result<serde_json::Value> {
    let (status, body) = conn.fetch(get(target, parse_uri(path)?)).await?;
    if !status.is_success() {
        return Err(refused(what, status, &body));
    }
    serde_json::from_slice(&body).with_context(|| format!("{what}: the answer is not JSON"))
}

/// Every published note's slug, page by page (100 a page, the API's largest).
async fn all_note_slugs(conn: &mut Conn, target: &Target) -> anyhow::Result<Vec<String>> {
    let mut slugs = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            None => "/api/v1/notes?limit=100".to_owned(),
            Some(c) => format!("/api/v1/notes?limit=100&cursor={c}"),
        };
        let page = get_json(conn, target, path, "listing the notes").await?;
        let items = page["items"]
            .as_array()
            .context("a note list without items")?;
        slugs.extend(
            items
                .iter()
                .filter_map(|i| i["slug"].as_str().map(str::to_owned)),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return Ok(slugs),
        }
    }
}

async fn topic_slugs(conn: &mut Conn, target: &Target) -> anyhow::Result<Vec<String>> {
    let topics = get_json(
        conn,
        target,
        "/api/v1/topics".to_owned(),
        "listing the topics",
    )
    .await?;
    Ok(topics
        .as_array()
        .context("the topic list is not an array")?
        .iter()
        .filter_map(|t| t["slug"].as_str().map(str::to_owned))
        .collect())
}

/// The newest note's title must be seed words and a last tag (the seed ends a title with
/// the note's number, the write scenario with a unique tag): if it is not, the server
/// holds other data, or the seed's vocabulary changed, and the search scenario would
/// measure empty answers. Checked on a title rather than by searching, because a search for
/// a common word ranks most of the table and can take longer than the server allows.
async fn check_vocabulary(
    conn: &mut Conn,
    target: &Target,
    words: &[String],
) -> anyhow::Result<()> {
    let page = get_json(
        conn,
        target,
        "/api/v1/notes?limit=1".to_owned(),
        "listing the notes",
    )
    .await?;
    let title = page["items"][0]["title"]
        .as_str()
        .context("the server has no published notes: seed it first (`nexus seed --bench`)")?;
    anyhow::ensure!(
        title_is_from(title, words),
        "the newest note's title {title:?} is not made of the benchmark seed's words: the \
         server does not hold `nexus seed --bench` data, or the seed's vocabulary changed"
    );
    Ok(())
}

/// Whether every word of `title` but the last is in `words` (sorted, as the seed's
/// vocabulary is).
fn title_is_from(title: &str, words: &[String]) -> bool {
    let parts: Vec<&str> = title.split_whitespace().collect();
    parts.len() >= 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| words.binary_search_by(|w| w.as_str().cmp(p)).is_ok())
}

async fn login(conn: &mut Conn, target: &Target, writer: &Writer) -> anyhow::Result<HeaderValue> {
    let body = serde_json::to_vec(&serde_json::json!({
        "email": writer.email,
        "password": writer.password,
    }))?;
    let req = post_json(
        target,
        parse_uri("/api/v1/auth/login".to_owned())?,
        body.into(),
        None,
    );
    let (status, body) = conn.fetch(req).await?;
    if !status.is_success() {
        return Err(refused(
            &format!("signing in as {}", writer.email),
            status,
            &body,
        ));
    }
    let tokens: serde_json::Value = serde_json::from_slice(&body)?;
    let token = tokens["access_token"]
        .as_str()
        .context("a login answer without access_token")?;
    Ok(HeaderValue::from_str(&format!("Bearer {token}"))?)
}

/// Draws the requests of one worker. Each worker has its own generator (no shared state on
/// the hot path), seeded from its index so a run is repeatable.
pub struct Generator {
    scenario: Scenario,
    data: Arc<Data>,
    target: Target,
    rng: SmallRng,
    zipf: Option<Zipf<f64>>,
    writes: u64,
    worker: usize,
}

impl Generator {
    pub fn new(
        scenario: Scenario,
        data: Arc<Data>,
        target: Target,
        worker: usize,
    ) -> anyhow::Result<Generator> {
        let zipf = if data.hot.is_empty() {
            None
        } else {
            Some(Zipf::new(data.hot.len() as f64, ZIPF_EXPONENT).context("Zipf parameters")?)
        };
        Ok(Generator {
            scenario,
            data,
            target,
            rng: SmallRng::seed_from_u64(DATA_SEED ^ worker as u64),
            zipf,
            writes: 0,
            worker,
        })
    }

    pub fn next_request(&mut self) -> Request<Full<Bytes>> {
        let roll = self.rng.random_range(0..100);
        match self.scenario.op(roll) {
            Op::ReadHot => {
                let i = self.hot_rank();
                get(&self.target, self.data.hot[i].clone())
            }
            Op::List => {
                let i = self.rng.random_range(0..self.data.lists.len());
                get(&self.target, self.data.lists[i].clone())
            }
            Op::Search => {
                let i = self.rng.random_range(0..self.data.searches.len());
                get(&self.target, self.data.searches[i].clone())
            }
            Op::Write => self.write_request(),
            Op::Progress => {
                let mut req = get(
                    &self.target,
                    Uri::from_static("/api/v1/cohorts/bench-cohort/progress"),
                );
                if let Some(t) = &self.data.token {
                    req.headers_mut()
                        .insert(http::header::AUTHORIZATION, t.clone());
                }
                req
            }
        }
    }

    /// A 0-based rank: 0 is the hottest note.
    pub fn hot_rank(&mut self) -> usize {
        let n = self.data.hot.len();
        match &self.zipf {
            // The draw is a float in [1, n]; the cast and the bound keep it an index even at
            // the edges of floating-point rounding.
            Some(z) => (self.rng.sample(z) as usize).clamp(1, n) - 1,
            None => 0,
        }
    }

    fn write_request(&mut self) -> Request<Full<Bytes>> {
        self.writes += 1;
        let words = &self.data.words;
        let mut body = String::with_capacity(WRITE_BODY_WORDS * 8);
        for w in 0..WRITE_BODY_WORDS {
            if w > 0 {
                body.push(if w % 12 == 0 { '\n' } else { ' ' });
            }
            body.push_str(&words[self.rng.random_range(0..words.len())]);
        }
        let topic = &self.data.topics[self.rng.random_range(0..self.data.topics.len())];
        // Unique titles give unique slugs at the first try, as most real titles do.
        let title = format!(
            "{} {} {}-{}-{}",
            words[self.rng.random_range(0..words.len())],
            words[self.rng.random_range(0..words.len())],
            uuid::Uuid::now_v7().simple(),
            self.worker,
            self.writes
        );
        let note = serde_json::json!({
            "title": title,
            "kind": "concept",
            "body_md": body,
            "topics": [topic],
        });
        let bytes = serde_json::to_vec(&note).unwrap_or_default();
        let mut req = post_json(
            &self.target,
            Uri::from_static("/api/v1/notes"),
            bytes.into(),
            self.data.token.as_ref(),
        );
        // A well-behaved client makes every POST retryable, and the key costs the server a
        // row: part of what a write costs.
        if let Ok(key) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
            req.headers_mut().insert("idempotency-key", key);
        }
        req
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data_with_notes(n: usize) -> Arc<Data> {
        Arc::new(Data {
            hot: (0..n)
                .map(|i| parse_uri(format!("/api/v1/notes/n-{i}")).unwrap())
                .collect(),
            lists: vec![Uri::from_static("/api/v1/notes?topic=t&limit=20")],
            searches: vec![Uri::from_static("/api/v1/search?q=a%20b&limit=10")],
            topics: vec!["t".to_owned()],
            words: vec!["alpha".to_owned(), "beta".to_owned()],
            token: Some(HeaderValue::from_static("Bearer x")),
        })
    }

    fn target() -> Target {
        Target {
            addr: "127.0.0.1:9".parse().unwrap(),
            host: HeaderValue::from_static("127.0.0.1:9"),
        }
    }

    #[test]
    fn the_hot_draw_stays_in_range_and_favours_the_first_ranks() {
        let n = 1_000;
        let mut g = Generator::new(Scenario::ReadHot, data_with_notes(n), target(), 0).unwrap();
        let mut counts = vec![0u32; n];
        let draws = 100_000;
        for _ in 0..draws {
            let r = g.hot_rank();
            assert!(r < n, "rank {r} out of range");
            counts[r] += 1;
        }
        // Zipf(1.1) over 1,000 gives the first ten ranks about half of all draws (uniform
        // would give them 1%), and rank 0 the most of any.
        let top10: u32 = counts[..10].iter().sum();
        assert!(
            f64::from(top10) / f64::from(draws) > 0.35,
            "top 10 had {top10} of {draws}"
        );
        assert_eq!(counts.iter().max(), Some(&counts[0]));
        assert!(counts[0] > 20 * counts[n - 1].max(1));
        // Yet the tail is reached: a hot set alone would let a small cache carry everything.
        assert!(counts[n / 2..].iter().any(|&c| c > 0));
    }

    #[test]
    fn the_mix_is_ninety_five_four_one() {
        let ops: Vec<Op> = (0..100).map(|r| Scenario::Mixed.op(r)).collect();
        let count = |op| ops.iter().filter(|o| **o == op).count();
        assert_eq!(
            (
                count(Op::ReadHot),
                count(Op::List),
                count(Op::Search),
                count(Op::Write)
            ),
            (90, 5, 4, 1)
        );
        assert!((0..100).all(|r| Scenario::Search.op(r) == Op::Search));
    }

    #[test]
    fn search_uses_ten_thousand_distinct_pairs_of_seed_words() {
        let words = seed_vocabulary();
        assert_eq!(words.len(), crate::seed::VOCABULARY_SIZE);
        let pairs = search_queries(&words, SEARCH_QUERIES, DATA_SEED);
        let distinct: HashSet<_> = pairs.iter().collect();
        assert!(distinct.len() >= 10_000, "{} distinct", distinct.len());
        let vocabulary: HashSet<&String> = words.iter().collect();
        for (a, b) in &pairs {
            assert_ne!(a, b);
            assert!(vocabulary.contains(a) && vocabulary.contains(b));
            // Plain letters: the query needs no escaping beyond the space.
            assert!(a.bytes().chain(b.bytes()).all(|c| c.is_ascii_lowercase()));
        }
        assert_eq!(
            pairs,
            search_queries(&words, SEARCH_QUERIES, DATA_SEED),
            "repeatable"
        );
    }

    #[test]
    fn seeded_titles_are_recognised_and_others_are_not() {
        let words = seed_vocabulary();
        let title = format!("{} {} 42", words[3], words[4_000]);
        assert!(title_is_from(&title, &words));
        // What the write scenario creates passes too, so a run can follow a write run.
        let written = format!("{} {} 01a2014-15-5", words[9], words[10]);
        assert!(title_is_from(&written, &words));
        assert!(!title_is_from("CAP theorem", &words));
        assert!(!title_is_from("42", &words));
    }

    #[test]
    fn a_tiny_vocabulary_gives_every_pair_once_rather_than_looping() {
        let words = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        assert_eq!(search_queries(&words, 100, 1).len(), 6);
    }

    #[test]
    fn writes_are_authenticated_posts_with_distinct_titles_and_keys() {
        let mut g = Generator::new(Scenario::Write, data_with_notes(3), target(), 7).unwrap();
        let a = g.next_request();
        let b = g.next_request();
        assert_eq!(a.method(), http::Method::POST);
        assert_eq!(a.uri(), "/api/v1/notes");
        assert_eq!(a.headers()["authorization"], "Bearer x");
        assert_ne!(
            a.headers()["idempotency-key"],
            b.headers()["idempotency-key"]
        );
        let title = |r: &Request<Full<Bytes>>| {
            let body = futures_body(r);
            serde_json::from_slice::<serde_json::Value>(&body).unwrap()["title"].clone()
        };
        assert_ne!(title(&a), title(&b));
    }

    fn futures_body(r: &Request<Full<Bytes>>) -> Bytes {
        use http_body_util::BodyExt;
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(r.body().clone().collect()).unwrap().to_bytes()
    }
}
