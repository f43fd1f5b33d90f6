//! Full-text search over published notes, with a highlighted snippet per hit ([`snippet`]).

use nexus_core::error::AppResult;
use nexus_core::hub::SearchQuery;
use nexus_db::hub as repo;

use super::model::{SearchHit, SearchParams, SearchResults};
use super::rules;
use super::snippet;
use crate::page;
use crate::safety::OpClass;

use_case_group! {
    /// Search: [`super::Hub::search`].
    Search
}

impl Search<'_> {
    /// Best match first (title matches above body matches).
    pub async fn run(&self, p: SearchParams) -> AppResult<SearchResults> {
        self.charge(OpClass::Search).await?;
        rules::search_query(&p.q)?;
        let limit = page::limit(p.limit)?;
        let query = SearchQuery::parse(&p.q);
        if query.is_empty() {
            return Ok(SearchResults { items: Vec::new() });
        }
        let hits = repo::search(
            &self.db,
            &repo::SearchFilter {
                fts5: &query.to_fts5(),
                websearch: &query.to_websearch(),
                topic: p.topic.as_deref(),
                kind: p.kind,
                limit,
            },
        )
        .await?;
        let terms = snippet::Terms::of(&query);
        Ok(SearchResults {
            items: hits
                .into_iter()
                .map(|h| SearchHit {
                    snippet: match &h.excerpt {
                        repo::Excerpt::Marked(s) => sanitize_snippet(s),
                        repo::Excerpt::Text(t) => {
                            snippet::snippet(t, &terms, snippet::SNIPPET_WORDS)
                        }
                    },
                    slug: h.slug,
                    title: h.title,
                    score: h.score,
                })
                .collect(),
        })
    }
}

/// The snippet comes from plain text with `<mark>` added by the engine; escape everything
/// else so a note's text can never become markup in a client that renders the snippet.
fn sanitize_snippet(s: &str) -> String {
    crate::mail::escape_html(s)
        .replace("&lt;mark&gt;", "<mark>")
        .replace("&lt;/mark&gt;", "</mark>")
}
