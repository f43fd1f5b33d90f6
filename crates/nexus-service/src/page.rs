//! Cursor pagination: `limit` (default 20, at most 100) and an opaque `cursor`.
//!
//! A cursor is the position after the last item of a page, behind a version tag (`v2.`,
//! `t2.`). Clients treat it as opaque, but its shape is declared in the OpenAPI document
//! ([`ID_CURSOR_PATTERN`], [`TIME_CURSOR_PATTERN`]) and the decoders accept exactly that
//! shape: anything else is a 422 naming `cursor`, and anything of that shape is a valid
//! position (past the end, it is an empty page).

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

/// What an id cursor looks like; the OpenAPI document declares it, and [`decode_id_cursor`]
/// accepts exactly what it matches.
pub const ID_CURSOR_PATTERN: &str = r"^v2\.[0-9a-f]{32}$";

pub fn encode_id_cursor(id: Uuid) -> String {
    format!("v2.{}", id.simple())
}

fn bad_cursor() -> AppError {
    AppError::Validation(vec![FieldError::new(
        "cursor",
        "is not a cursor this API issued",
    )])
}

/// 32 lowercase hex digits: the one spelling of an id in a cursor.
fn cursor_id(hex: &str) -> Option<Uuid> {
    let plain = hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    plain.then(|| Uuid::parse_str(hex).ok()).flatten()
}

pub fn decode_id_cursor(raw: Option<&str>) -> Result<Option<Uuid>, AppError> {
    let Some(raw) = raw else { return Ok(None) };
    raw.strip_prefix("v2.")
        .and_then(cursor_id)
        .map(Some)
        .ok_or_else(bad_cursor)
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

/// What a time cursor looks like: seconds and nanoseconds since the Unix epoch, then the
/// id. Eleven digits of seconds reach past the year 5000, far beyond any stored time.
pub const TIME_CURSOR_PATTERN: &str = r"^t2\.[0-9]{1,11}\.[0-9]{1,9}\.[0-9a-f]{32}$";

/// A cursor for lists ordered by a timestamp and then id (e.g. "recently updated").
pub fn encode_time_cursor(at: chrono::DateTime<chrono::Utc>, id: Uuid) -> String {
    // A leap second is carried in the nanoseconds (up to 1,999,999,999); the cursor keeps
    // to nine digits, a nanosecond early, which changes no order between stored times.
    let nanos = at.timestamp_subsec_nanos().min(999_999_999);
    format!("t2.{}.{nanos}.{}", at.timestamp(), id.simple())
}

fn digits(s: &str, max: usize) -> Option<u64> {
    let plain = (1..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    plain.then(|| s.parse().ok()).flatten()
}

pub fn decode_time_cursor(
    raw: Option<&str>,
) -> Result<Option<(chrono::DateTime<chrono::Utc>, Uuid)>, AppError> {
    let Some(raw) = raw else { return Ok(None) };
    let mut parts = raw.strip_prefix("t2.").ok_or_else(bad_cursor)?.split('.');
    let (Some(secs), Some(nanos), Some(id), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad_cursor());
    };
    let secs = digits(secs, 11).and_then(|s| i64::try_from(s).ok());
    let nanos = digits(nanos, 9).and_then(|n| u32::try_from(n).ok());
    let at = secs
        .zip(nanos)
        .and_then(|(s, n)| chrono::DateTime::from_timestamp(s, n))
        .ok_or_else(bad_cursor)?;
    Ok(Some((at, cursor_id(id).ok_or_else(bad_cursor)?)))
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
        for bad in [
            "",
            "!!!",
            "djE6bm90LWEtdXVpZA",
            "eHl6",
            "v2.0",
            "v2.ABCDEF00000000000000000000000000",
        ] {
            assert!(decode_id_cursor(Some(bad)).is_err(), "{bad}");
        }
        let at = chrono::Utc::now();
        let decoded = decode_time_cursor(Some(&encode_time_cursor(at, id))).unwrap();
        assert_eq!(decoded, Some((at, id)));
        for bad in [
            "t2.1.2",
            "t2.1.2.3.4",
            "t2.-1.0.00000000000000000000000000000000",
            "t2.123456789012.0.00000000000000000000000000000000",
        ] {
            assert!(decode_time_cursor(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_cursor_of_the_declared_shape_decodes() {
        let id = "v2.0123456789abcdef0123456789abcdef";
        assert!(decode_id_cursor(Some(id)).unwrap().is_some());
        let time = "t2.99999999999.999999999.ffffffffffffffffffffffffffffffff";
        assert!(decode_time_cursor(Some(time)).unwrap().is_some());
        assert!(
            decode_time_cursor(Some("t2.0.0.00000000000000000000000000000000"))
                .unwrap()
                .is_some()
        );
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
