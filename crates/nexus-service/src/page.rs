//! Cursor pagination: `limit` (default 20, at most 100) and an opaque `cursor`.
//!
//! A cursor is the position after the last item of a page, base64url-encoded with a
//! version tag, so clients treat it as opaque and the format can change without breaking
//! links already handed out.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use nexus_core::{AppError, FieldError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

/// A page of items and the cursor of the next page (absent on the last page).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent when there is none.
    pub next_cursor: Option<String>,
}

pub fn limit(raw: Option<u32>) -> Result<u32, AppError> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(AppError::Validation(vec![FieldError::new(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        )])),
    }
}

pub fn encode_id_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{id}"))
}

pub fn decode_id_cursor(raw: Option<&str>) -> Result<Option<Uuid>, AppError> {
    let Some(raw) = raw else { return Ok(None) };
    let bad = || {
        AppError::Validation(vec![FieldError::new(
            "cursor",
            "is not a cursor this API issued",
        )])
    };
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let id = text.strip_prefix("v1:").ok_or_else(bad)?;
    Uuid::parse_str(id).map(Some).map_err(|_| bad())
}

/// One page asked of a list in id order: how many items, and the id of the last item
/// of the page before (from the client's opaque cursor).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<Uuid>,
}

impl PageRequest {
    /// Checks the client's `limit` and decodes its `cursor`.
    pub fn new(limit: Option<u32>, cursor: Option<&str>) -> Result<Self, AppError> {
        Ok(PageRequest {
            limit: self::limit(limit)?,
            after: decode_id_cursor(cursor)?,
        })
    }

    /// How many rows to fetch: one more than the page holds, whose presence alone tells
    /// that another page follows.
    pub fn fetch(&self) -> u32 {
        self.limit + 1
    }

    /// Splits rows fetched with [`PageRequest::fetch`] into the page's rows and the next
    /// page's cursor, keeping the rows for a conversion that needs more (a query, say).
    pub fn split<R>(
        &self,
        mut rows: Vec<R>,
        id_of: impl Fn(&R) -> Uuid,
    ) -> (Vec<R>, Option<String>) {
        let more = rows.len() > self.limit as usize;
        rows.truncate(self.limit as usize);
        let next_cursor = if more {
            rows.last().map(|r| encode_id_cursor(id_of(r)))
        } else {
            None
        };
        (rows, next_cursor)
    }

    /// The page of rows fetched with [`PageRequest::fetch`], each converted by `view`.
    pub fn page<R, T>(
        &self,
        rows: Vec<R>,
        id_of: impl Fn(&R) -> Uuid,
        view: impl FnMut(R) -> T,
    ) -> Page<T> {
        let (rows, next_cursor) = self.split(rows, id_of);
        Page {
            items: rows.into_iter().map(view).collect(),
            next_cursor,
        }
    }
}

/// A cursor for lists ordered by a timestamp and then id (e.g. "recently updated").
pub fn encode_time_cursor(at: chrono::DateTime<chrono::Utc>, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("t1:{}|{id}", at.to_rfc3339()))
}

pub fn decode_time_cursor(
    raw: Option<&str>,
) -> Result<Option<(chrono::DateTime<chrono::Utc>, Uuid)>, AppError> {
    let Some(raw) = raw else { return Ok(None) };
    let bad = || {
        AppError::Validation(vec![FieldError::new(
            "cursor",
            "is not a cursor this API issued for this order",
        )])
    };
    let text =
        String::from_utf8(URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?).map_err(|_| bad())?;
    let (at, id) = text
        .strip_prefix("t1:")
        .and_then(|r| r.split_once('|'))
        .ok_or_else(bad)?;
    let at = chrono::DateTime::parse_from_rfc3339(at)
        .map_err(|_| bad())?
        .with_timezone(&chrono::Utc);
    Ok(Some((at, Uuid::parse_str(id).map_err(|_| bad())?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let id = Uuid::now_v7();
        assert_eq!(
            decode_id_cursor(Some(&encode_id_cursor(id))).unwrap(),
            Some(id)
        );
        for bad in ["", "!!!", "djE6bm90LWEtdXVpZA", "eHl6"] {
            assert!(decode_id_cursor(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_full_page_points_past_its_last_item_and_a_short_one_nowhere() {
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let want = PageRequest::new(Some(2), None).unwrap();
        assert_eq!(want.fetch(), 3);
        let full = want.page(ids.clone(), |id| *id, |id| id);
        assert_eq!(full.items, ids[..2]);
        assert_eq!(full.next_cursor, Some(encode_id_cursor(ids[1])));
        let short = want.page(ids[..2].to_vec(), |id| *id, |id| id);
        assert_eq!(short.items, ids[..2]);
        assert_eq!(short.next_cursor, None);
    }

    #[test]
    fn limits_default_and_are_bounded() {
        assert_eq!(limit(None).unwrap(), 20);
        assert_eq!(limit(Some(100)).unwrap(), 100);
        assert!(limit(Some(0)).is_err());
        assert!(limit(Some(1_000_000)).is_err());
    }
}
