//! Knowledge-hub domain: note kinds and states, slugs, Markdown rendering and sanitising,
//! cross-reference extraction, and the search query language.
//!
//! Everything here is a pure function of its input, so it is unit-tested and benchmarked
//! without a database.

use std::collections::BTreeSet;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd, html};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::FieldError;

named_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub enum NoteKind {
        Concept = "concept",
        Challenge = "challenge",
        Practice = "practice",
        Guide = "guide",
        Takeaway = "takeaway",
    }
}

named_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub enum NoteStatus {
        Draft = "draft",
        Published = "published",
        Archived = "archived",
    }
}

named_enum! {
    /// Where an edit proposal stands.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub enum ProposalStatus {
        Open = "open",
        Accepted = "accepted",
        Rejected = "rejected",
    }
}

named_enum! {
    /// Where an inaccuracy report stands.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub enum ReportStatus {
        Open = "open",
        Resolved = "resolved",
    }
}

/// The longest slug (of a note, a topic, or in a path or link), in characters.
pub const SLUG_MAX_CHARS: usize = 80;

/// A URL slug: lowercase ASCII letters, digits and single hyphens, at most
/// [`SLUG_MAX_CHARS`] characters. Non-ASCII text is transliterated (`Ünïcödé` → `unicode`)
/// so titles in any script give a readable slug; a title with nothing transliterable gives
/// `note`.
pub fn slugify(text: &str) -> String {
    let ascii = deunicode::deunicode(text).to_ascii_lowercase();
    let mut slug = String::with_capacity(ascii.len().min(SLUG_MAX_CHARS));
    let mut hyphen = false;
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            if hyphen && !slug.is_empty() {
                slug.push('-');
            }
            hyphen = false;
            slug.push(c);
            if slug.len() >= SLUG_MAX_CHARS {
                break;
            }
        } else {
            hyphen = true;
        }
    }
    if slug.is_empty() {
        "note".to_owned()
    } else {
        slug
    }
}

/// The slug a note titled `title` gets when no other note has it: the title's slug cut to
/// 70 characters, which leaves room for the `-2` or id suffix added when it is taken.
pub fn note_slug(title: &str) -> String {
    let base = slugify(title);
    let cut: String = base.chars().take(70).collect();
    cut.trim_end_matches('-').to_owned()
}

/// Whether `s` is already a well-formed slug (as accepted in paths and `[[links]]`).
pub fn is_slug(s: &str) -> bool {
    is_slug_within(s, SLUG_MAX_CHARS)
}

/// The slug rule, written once: 1 to `max` (at most [`SLUG_MAX_CHARS`]) lowercase ASCII
/// letters, digits and single hyphens, neither first nor last.
pub fn is_slug_within(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max.min(SLUG_MAX_CHARS)
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

/// `raw` as a slug of at most `max` characters, or the field error that says what a slug
/// is. No trimming or case folding: callers that accept loose input normalise it first.
pub fn parse_slug(field: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    if is_slug_within(raw, max) {
        Ok(raw.to_owned())
    } else {
        Err(FieldError::new(
            field,
            format!(
                "must be 1-{} characters of a-z, 0-9 and single -",
                max.min(SLUG_MAX_CHARS)
            ),
        ))
    }
}

/// A Markdown body rendered for storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Sanitised HTML, safe to embed in a page.
    pub html: String,
    /// The text without markup, for search and summaries.
    pub text: String,
    /// Slugs this body links to: `[[slug]]`, `[[Title]]` (slugified), `[label](/notes/slug)`.
    pub links: BTreeSet<String>,
}

/// How long a derived summary may be, in characters.
pub const SUMMARY_CHARS: usize = 240;

/// Renders CommonMark (with tables and strikethrough) to sanitised HTML, after turning
/// `[[target]]` and `[[target|label]]` into links to `/notes/{slug}`.
///
/// Sanitising is ammonia's allowlist: no `<script>`, no event-handler attributes, no
/// `javascript:` or other non-web URL schemes, and `rel="noopener noreferrer"` on links.
pub fn render_markdown(body: &str) -> Rendered {
    let mut links = BTreeSet::new();
    let expanded = expand_wikilinks(body, &mut links);
    let parser = Parser::new_ext(
        &expanded,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    );
    let mut text = String::new();
    let events: Vec<Event<'_>> = parser
        .inspect(|event| match event {
            Event::Text(t) | Event::Code(t) => text.push_str(t),
            Event::SoftBreak
            | Event::HardBreak
            | Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item) => text.push(' '),
            Event::Start(Tag::Link { dest_url, .. }) => {
                if let Some(slug) = note_slug_of_url(dest_url) {
                    links.insert(slug);
                }
            }
            _ => {}
        })
        .collect();
    let mut raw_html = String::with_capacity(expanded.len() * 3 / 2);
    html::push_html(&mut raw_html, events.into_iter());
    let html = ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&raw_html)
        .to_string();
    Rendered {
        html,
        text: collapse_whitespace(&text),
        links,
    }
}

/// The first sentence-ish stretch of `text`, cut at a word boundary.
pub fn summarize(text: &str) -> String {
    if text.chars().count() <= SUMMARY_CHARS {
        return text.to_owned();
    }
    let cut: String = text.chars().take(SUMMARY_CHARS).collect();
    let end = cut.rfind(' ').unwrap_or(cut.len());
    format!("{}…", cut[..end].trim_end())
}

fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `/notes/slug`, `/api/v1/notes/slug` (relative, or absolute on any host) → `slug`.
fn note_slug_of_url(url: &str) -> Option<String> {
    let path = match url.find("://") {
        Some(i) => {
            let rest = &url[i + 3..];
            &rest[rest.find('/')?..]
        }
        None => url,
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    let slug = path
        .strip_prefix("/api/v1/notes/")
        .or_else(|| path.strip_prefix("/notes/"))?
        .trim_end_matches('/');
    is_slug(slug).then(|| slug.to_owned())
}

/// Replaces `[[target]]` / `[[target|label]]` with Markdown links and records the slugs.
/// Inside code spans and blocks the brackets are left alone by rendering anyway, since a
/// link there is not parsed; we only rewrite outside backticks to keep code samples exact.
fn expand_wikilinks(body: &str, links: &mut BTreeSet<String>) -> String {
    let mut out = String::with_capacity(body.len());
    let mut in_code = false;
    let mut rest = body;
    while !rest.is_empty() {
        if rest.starts_with('`') {
            in_code = !in_code;
            out.push('`');
            rest = &rest[1..];
            continue;
        }
        if !in_code
            && rest.starts_with("[[")
            && let Some(end) = rest[2..].find("]]")
        {
            let inner = &rest[2..2 + end];
            if !inner.contains('\n')
                && !inner.contains('[')
                && !inner.trim().is_empty()
                && inner.len() <= 200
            {
                let (target, label) = match inner.split_once('|') {
                    Some((t, l)) => (t.trim(), l.trim()),
                    None => (inner.trim(), inner.trim()),
                };
                let slug = slugify(target);
                links.insert(slug.clone());
                let label = label.replace(['[', ']'], "");
                out.push_str(&format!("[{label}](/notes/{slug})"));
                rest = &rest[2 + end + 2..];
                continue;
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// One element of a parsed search query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchTerm {
    Word(String),
    Phrase(Vec<String>),
}

/// A search query: groups joined by OR, each group a conjunction of terms, plus terms that
/// must not occur. `"exact phrase" word -excluded a OR b`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchQuery {
    pub any_of: Vec<Vec<SearchTerm>>,
    pub none_of: Vec<SearchTerm>,
}

/// The longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 500;

fn words_of(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect()
}

impl SearchQuery {
    /// Parses the query language. Punctuation is ignored, so `?!*` is an empty query, and
    /// nothing a user types can reach the engine as syntax.
    pub fn parse(raw: &str) -> SearchQuery {
        let mut q = SearchQuery::default();
        let mut group = Vec::new();
        let mut chars = raw.chars().peekable();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                chars.next();
                continue;
            }
            let negated = c == '-';
            if negated {
                chars.next();
            }
            let phrase = chars.peek() == Some(&'"');
            let term_text: String = if phrase {
                chars.next();
                chars.by_ref().take_while(|&c| c != '"').collect()
            } else {
                chars.by_ref().take_while(|c| !c.is_whitespace()).collect()
            };
            if !phrase && !negated && term_text == "OR" {
                if !group.is_empty() {
                    q.any_of.push(std::mem::take(&mut group));
                }
                continue;
            }
            let words = words_of(&term_text);
            let term = match words.len() {
                0 => continue,
                1 if !phrase => SearchTerm::Word(words.into_iter().next().unwrap_or_default()),
                _ => SearchTerm::Phrase(words),
            };
            if negated {
                q.none_of.push(term);
            } else {
                group.push(term);
            }
        }
        if !group.is_empty() {
            q.any_of.push(group);
        }
        q
    }

    /// Nothing to look for (only exclusions or punctuation): the answer is empty.
    pub fn is_empty(&self) -> bool {
        self.any_of.is_empty()
    }

    /// The query in SQLite FTS5 syntax. Every term is a quoted string, so no user text is
    /// interpreted as FTS5 operators.
    pub fn to_fts5(&self) -> String {
        let term = |t: &SearchTerm| match t {
            SearchTerm::Word(w) => format!("\"{w}\""),
            SearchTerm::Phrase(ws) => format!("\"{}\"", ws.join(" ")),
        };
        let groups: Vec<String> = self
            .any_of
            .iter()
            .map(|g| format!("({})", g.iter().map(term).collect::<Vec<_>>().join(" AND ")))
            .collect();
        let mut out = format!("({})", groups.join(" OR "));
        for t in &self.none_of {
            out = format!("{out} NOT {}", term(t));
        }
        out
    }

    /// The query in PostgreSQL `websearch_to_tsquery` syntax, rebuilt from the parsed terms
    /// so the two backends agree on its meaning. tsquery binds AND tighter than OR and a
    /// `-term` only to its own group, so every exclusion is repeated in every group.
    pub fn to_websearch(&self) -> String {
        let term = |t: &SearchTerm| match t {
            SearchTerm::Word(w) => w.clone(),
            SearchTerm::Phrase(ws) => format!("\"{}\"", ws.join(" ")),
        };
        let exclusions: Vec<String> = self
            .none_of
            .iter()
            .map(|t| format!("-{}", term(t)))
            .collect();
        self.any_of
            .iter()
            .map(|g| {
                g.iter()
                    .map(term)
                    .chain(exclusions.iter().cloned())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
            .join(" or ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_readable_and_bounded() {
        assert_eq!(slugify("Hello, World!"), "hello-world");
        assert_eq!(slugify("  Rust & SQL: JOINs  "), "rust-sql-joins");
        assert_eq!(slugify("Ünïcödé Straße"), "unicode-strasse");
        assert_eq!(slugify("!!!"), "note");
        assert_eq!(slugify(&"a".repeat(500)).len(), 80);
        assert!(is_slug(&slugify("名前 とは")));
    }

    #[test]
    fn the_slug_rule_bounds_length_and_shape() {
        assert!(is_slug(&"a".repeat(SLUG_MAX_CHARS)));
        assert!(!is_slug(&"a".repeat(SLUG_MAX_CHARS + 1)));
        for bad in ["", "-a", "a-", "a--b", "A", "a_b", "ä"] {
            assert!(!is_slug(bad), "{bad}");
        }
        assert!(is_slug_within("rust-async", 10));
        assert!(!is_slug_within("rust-async", 9));
        assert_eq!(parse_slug("slug", "rust", 80).unwrap(), "rust");
        let e = parse_slug("tags[1]", &"x".repeat(41), 40).unwrap_err();
        assert_eq!(e.field, "tags[1]");
        assert_eq!(
            e.message,
            "must be 1-40 characters of a-z, 0-9 and single -"
        );
        let e = parse_slug("slug", "Not A Slug", SLUG_MAX_CHARS).unwrap_err();
        assert_eq!(
            e.message,
            "must be 1-80 characters of a-z, 0-9 and single -"
        );
    }

    #[test]
    fn wikilinks_and_note_links_become_links_and_are_recorded() {
        let r = render_markdown(
            "See [[cap-theorem]], [[Eventual Consistency|this]] and [that](/notes/raft) \
             or [api](https://nexus.example/api/v1/notes/paxos?x=1). Not `[[code]]`.",
        );
        let links: Vec<&str> = r.links.iter().map(String::as_str).collect();
        assert_eq!(
            links,
            ["cap-theorem", "eventual-consistency", "paxos", "raft"]
        );
        assert!(
            r.html.contains(r#"href="/notes/cap-theorem""#),
            "{}",
            r.html
        );
        assert!(r.html.contains(">this</a>"), "{}", r.html);
        assert!(r.html.contains("[[code]]"), "{}", r.html);
    }

    #[test]
    fn sanitising_removes_scripts_handlers_and_dangerous_urls() {
        let payloads = [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "<a href=\"javascript:alert(1)\">x</a>",
            "[x](javascript:alert(1))",
            "<svg onload=alert(1)>",
            "<iframe src=\"https://evil.example\"></iframe>",
            "<div style=\"background:url(javascript:alert(1))\">x</div>",
            "<a href=\"JaVaScRiPt:alert(1)\">x</a>",
            "<body onload=alert(1)>",
            "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
            "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
            "<form action=\"javascript:alert(1)\"><button>x</button></form>",
        ];
        for p in payloads {
            let html = render_markdown(p).html.to_lowercase();
            for bad in [
                "<script",
                "onerror",
                "onload",
                "javascript:",
                "<iframe",
                "<svg",
                "data:text",
                "<form",
                "style=",
            ] {
                assert!(!html.contains(bad), "{p} → {html}");
            }
        }
        let ok = render_markdown("**bold** [site](https://example.com)").html;
        assert!(ok.contains("<strong>bold</strong>"));
        assert!(ok.contains("rel=\"noopener noreferrer nofollow\""), "{ok}");
    }

    #[test]
    fn summaries_are_plain_text_cut_at_a_word() {
        let r = render_markdown("# Title\n\nSome *emphasis* and `code`.");
        assert_eq!(r.text, "Title Some emphasis and code.");
        let long = "word ".repeat(100);
        let s = summarize(&long);
        assert!(s.chars().count() <= SUMMARY_CHARS + 1);
        assert!(s.ends_with("word…"));
    }

    #[test]
    fn the_query_language_parses_phrases_exclusions_and_or() {
        let q = SearchQuery::parse(r#""borrow checker" lifetimes -unsafe tokio OR async"#);
        assert_eq!(
            q.any_of,
            vec![
                vec![
                    SearchTerm::Phrase(vec!["borrow".into(), "checker".into()]),
                    SearchTerm::Word("lifetimes".into()),
                    SearchTerm::Word("tokio".into())
                ],
                vec![SearchTerm::Word("async".into())],
            ]
        );
        assert_eq!(q.none_of, vec![SearchTerm::Word("unsafe".into())]);
        assert_eq!(
            q.to_fts5(),
            r#"(("borrow checker" AND "lifetimes" AND "tokio") OR ("async")) NOT "unsafe""#
        );
        assert_eq!(
            q.to_websearch(),
            r#""borrow checker" lifetimes tokio -unsafe or async -unsafe"#
        );
        assert!(SearchQuery::parse("?!* ... \"\" -").is_empty());
        assert!(SearchQuery::parse("-only").is_empty());
        let injected = SearchQuery::parse("a\" OR NEAR(x y) *");
        assert!(
            !injected.to_fts5().contains("NEAR("),
            "{}",
            injected.to_fts5()
        );
    }
}
