//! REST handlers, one module per area. Each handler extracts, calls one service function
//! and shapes the answer; nothing else.

pub mod cohorts;
pub mod collaboration;
pub mod discussion;
pub mod hub;
pub mod identity;
pub mod jobs;
pub mod learning;
pub mod portfolios;
pub mod progress;
pub mod submissions;
pub mod uploads;
pub mod webhooks;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use serde::Deserialize;
use utoipa::IntoParams;

/// The query of a list paged by id and nothing else (the lists with filters declare
/// these two fields beside their own).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size, 1-100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(schema_with = crate::openapi::id_cursor)]
    pub cursor: Option<String>,
}

/// The operations that read their request body as a stream and bound it themselves, by
/// method and route template: `http.body_limit_bytes` does not apply to them, and an
/// `Idempotency-Key` does not make the safety guard buffer their body
/// ([`crate::safety`]).
const STREAMED_BODIES: [(Method, &str); 1] = [(Method::POST, uploads::PATH)];

/// Whether `req` is to one of [`STREAMED_BODIES`].
pub fn streams_body(req: &Request) -> bool {
    req.extensions().get::<MatchedPath>().is_some_and(|p| {
        STREAMED_BODIES
            .iter()
            .any(|(m, path)| m == req.method() && *path == p.as_str())
    })
}
