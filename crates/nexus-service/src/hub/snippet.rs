//! Search snippets made in the process from a note's plain text.
//!
//! PostgreSQL's `ts_headline` re-parses the whole document for each hit and was about
//! 450 µs per hit, most of a search's cost (BENCHMARKS.md); this is the same job
//! in microseconds. Words are matched the way the index matched them: lowercased and
//! reduced by the Snowball English stemmer, which is what PostgreSQL's `english`
//! configuration uses, so `borrowing` in the text is marked for a search of `borrowed`.
//! SQLite's FTS5 `snippet()` is cheap and stays.
//!
//! No crate makes snippets without also being the index (tantivy's generator needs its
//! own index), so the window choice is written here; stemming comes from rust-stemmers.

use std::collections::HashSet;
use std::sync::OnceLock;

use nexus_core::hub::{SearchQuery, SearchTerm};
use rust_stemmers::{Algorithm, Stemmer};

use crate::mail::escape_html;

/// Words in a snippet, as `ts_headline`'s `MaxWords` was.
pub const SNIPPET_WORDS: usize = 24;

fn stemmer() -> &'static Stemmer {
    static STEMMER: OnceLock<Stemmer> = OnceLock::new();
    STEMMER.get_or_init(|| Stemmer::create(Algorithm::English))
}

/// The stems a text is matched against: every word the query asks for (not the excluded
/// ones, which cannot occur in a hit).
pub struct Terms {
    stems: HashSet<String>,
    /// First letters of the stems. Snowball keeps a word's first letter, so a word that
    /// starts with none of these cannot match and is not stemmed at all.
    initials: HashSet<char>,
}

impl Terms {
    pub fn of(query: &SearchQuery) -> Terms {
        let stems: HashSet<String> = query
            .any_of
            .iter()
            .flatten()
            .flat_map(|t| match t {
                SearchTerm::Word(w) => std::slice::from_ref(w),
                SearchTerm::Phrase(ws) => ws.as_slice(),
            })
            .map(|w| stem(w))
            .collect();
        let initials = stems.iter().filter_map(|s| s.chars().next()).collect();
        Terms { stems, initials }
    }

    fn matches(&self, word: &str) -> bool {
        let Some(first) = word.chars().next().and_then(|c| c.to_lowercase().next()) else {
            return false;
        };
        self.initials.contains(&first) && self.stems.contains(&stem(word))
    }
}

fn stem(word: &str) -> String {
    stemmer().stem(&word.to_lowercase()).into_owned()
}

/// About [`SNIPPET_WORDS`] words of `text` around the densest run of matched words, HTML
/// escaped, with each matched word in `<mark>` and `…` where the text was cut. Without a
/// match in the text (the title matched), its first words.
pub fn snippet(text: &str, terms: &Terms, max_words: usize) -> String {
    // Words as the text search parser sees them: runs of letters and digits.
    let mut words: Vec<(usize, usize, bool)> = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain([(text.len(), ' ')]) {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                words.push((s, i, terms.matches(&text[s..i])));
                start = None;
            }
            _ => {}
        }
    }
    if words.is_empty() || max_words == 0 {
        return String::new();
    }
    let width = max_words.min(words.len());
    // The window with the most matches, the earliest of equals (a sliding count).
    let mut count = words[..width].iter().filter(|w| w.2).count();
    let (mut best, mut best_count) = (0, count);
    for first in 1..=words.len() - width {
        count = count + usize::from(words[first + width - 1].2) - usize::from(words[first - 1].2);
        if count > best_count {
            (best, best_count) = (first, count);
        }
    }
    // Start a little before the first match, so it reads in context, when the window
    // keeps every match it had.
    if let Some(first_hit) = (best..best + width).find(|&i| words[i].2) {
        let last_hit = (best..best + width)
            .rev()
            .find(|&i| words[i].2)
            .unwrap_or(first_hit);
        let lead = first_hit
            .saturating_sub(3)
            .max((last_hit + 1).saturating_sub(width));
        best = lead.min(words.len() - width);
    }
    let window = &words[best..best + width];
    let mut out = String::with_capacity(text.len().min(400));
    if best > 0 {
        out.push('…');
    }
    let mut pos = window[0].0;
    for &(s, e, hit) in window {
        out.push_str(&escape_html(&text[pos..s]));
        if hit {
            out.push_str("<mark>");
            out.push_str(&escape_html(&text[s..e]));
            out.push_str("</mark>");
        } else {
            out.push_str(&escape_html(&text[s..e]));
        }
        pos = e;
    }
    if best + width < words.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snip(text: &str, q: &str, n: usize) -> String {
        snippet(text, &Terms::of(&SearchQuery::parse(q)), n)
    }

    #[test]
    fn marks_every_form_of_a_searched_word_through_the_stemmer() {
        let s = snip(
            "We borrowed it. Borrowing is fine; borrows too.",
            "borrow",
            24,
        );
        assert_eq!(
            s,
            "We <mark>borrowed</mark> it. <mark>Borrowing</mark> is fine; <mark>borrows</mark> too"
        );
    }

    #[test]
    fn picks_the_window_with_most_matches_and_shows_the_cuts() {
        let text = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu \
                    tokio runtime spawns tasks while tokio schedules them nu xi omicron pi";
        let s = snip(text, "tokio tasks", 8);
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert_eq!(s.matches("<mark>").count(), 3, "{s}");
        assert!(
            s.contains("<mark>tokio</mark> runtime spawns <mark>tasks</mark>"),
            "{s}"
        );
        assert_eq!(s.trim_matches('…').split_whitespace().count(), 8, "{s}");
    }

    #[test]
    fn leads_into_the_first_match_with_a_few_words_of_context() {
        let text = "one two three four five six seven eight nine ten eleven twelve needle \
                    thirteen fourteen";
        let s = snip(text, "needle", 6);
        assert_eq!(
            s,
            "…ten eleven twelve <mark>needle</mark> thirteen fourteen"
        );
    }

    #[test]
    fn a_text_without_the_words_gives_its_opening() {
        assert_eq!(snip("short text here", "absent", 24), "short text here");
        assert_eq!(snip("a b c d e", "absent", 2), "a b…");
        assert_eq!(snip("", "absent", 24), "");
        assert_eq!(snip("?! …", "absent", 24), "");
    }

    #[test]
    fn escapes_the_text_and_only_adds_mark() {
        let s = snip("<script>alert(1)</script> & tokio \"quoted\"", "tokio", 24);
        assert_eq!(
            s,
            "script&gt;alert(1)&lt;/script&gt; &amp; <mark>tokio</mark> &quot;quoted"
        );
    }

    #[test]
    fn matches_unicode_words_and_phrase_words() {
        let s = snip(
            "Überblick über Café-Kultur und Straße",
            "\"café kultur\" straße",
            24,
        );
        assert_eq!(
            s,
            "Überblick über <mark>Café</mark>-<mark>Kultur</mark> und <mark>Straße</mark>"
        );
    }
}
