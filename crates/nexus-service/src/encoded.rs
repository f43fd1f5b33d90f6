//! A value together with its JSON encoding, made at most once.
//!
//! The read caches hold typed values (every transport reads the same cached data), and
//! keep each one's JSON beside it so that REST does not serialise it again per request:
//! a cached first page is held as `Arc<Encoded<…>>`, serialised once per cached value
//! (criterion `serialise/list_page_20`: ~21 µs, `cargo bench -p nexus-service --bench
//! answers`), and a page read from Redis keeps the bytes it arrived as. A cached note keeps
//! its JSON LZ4-compressed ([`Encoded::packed`]): a note carries its text twice (Markdown
//! and HTML), and expanding it costs about a microsecond per read (`note_cache/unpack`).

use std::fmt;
use std::ops::Deref;
use std::sync::OnceLock;

use bytes::Bytes;
use serde::{Serialize, Serializer};

pub struct Encoded<T> {
    value: T,
    json: Json,
}

enum Json {
    /// Made on first use, then shared.
    Once(OnceLock<Bytes>),
    /// LZ4 with the size first (`lz4_flex`'s size-prepended form), expanded per use.
    Packed(Bytes),
}

/// Larger than any answer Nexus keeps: a packed encoding that claims more is damaged (or
/// hostile, on the shared level) and is not expanded.
const MAX_PACKED_JSON: u32 = 32 * 1024 * 1024;

/// The JSON of a packed encoding, or `None` when `packed` is not one. The stated size is
/// checked before anything is allocated for it.
pub fn unpack(packed: &[u8]) -> Option<Vec<u8>> {
    let (size, _) = packed.split_first_chunk::<4>()?;
    if u32::from_le_bytes(*size) > MAX_PACKED_JSON {
        return None;
    }
    lz4_flex::decompress_size_prepended(packed).ok()
}

/// The packed form of `json`, for [`Encoded::packed`] and the shared cache level.
pub fn pack(json: &[u8]) -> Bytes {
    Bytes::from(lz4_flex::compress_prepend_size(json))
}

impl<T: Serialize> Encoded<T> {
    pub fn new(value: T) -> Self {
        Encoded {
            value,
            json: Json::Once(OnceLock::new()),
        }
    }

    /// `json` must be an encoding of `value` (as when both came from the same string).
    pub fn with_json(value: T, json: Bytes) -> Self {
        Encoded {
            value,
            json: Json::Once(OnceLock::from(json)),
        }
    }

    /// `packed` must be [`pack`] of an encoding of `value`: for values held long, where
    /// memory counts for more than expanding the JSON on each use.
    pub fn packed(value: T, packed: Bytes) -> Self {
        Encoded {
            value,
            json: Json::Packed(packed),
        }
    }

    /// The JSON of the value; a cheap clone after the first call (an expansion, for a
    /// packed one).
    pub fn json(&self) -> anyhow::Result<Bytes> {
        match &self.json {
            Json::Once(once) => {
                if let Some(done) = once.get() {
                    return Ok(done.clone());
                }
                let made = Bytes::from(serde_json::to_vec(&self.value)?);
                // Two first callers may both encode; either result is the same bytes.
                Ok(once.get_or_init(|| made).clone())
            }
            Json::Packed(packed) => unpack(packed)
                .map(Bytes::from)
                .ok_or_else(|| anyhow::anyhow!("a packed encoding does not expand")),
        }
    }

    /// Bytes the kept encoding holds (0 before a lazy one is made).
    pub fn encoding_len(&self) -> usize {
        match &self.json {
            Json::Once(once) => once.get().map_or(0, Bytes::len),
            Json::Packed(packed) => packed.len(),
        }
    }
}

impl<T> Deref for Encoded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: Serialize> Serialize for Encoded<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

impl<T: fmt::Debug> fmt::Debug for Encoded<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_encoding_is_made_once_and_matches_serde() {
        let e = Encoded::new(serde_json::json!({"a": [1, 2], "b": "ü"}));
        let first = e.json().unwrap();
        assert_eq!(first, serde_json::to_vec(&*e).unwrap());
        let second = e.json().unwrap();
        assert_eq!(
            first.as_ptr(),
            second.as_ptr(),
            "the same bytes, not a new encoding"
        );
    }

    #[test]
    fn a_packed_encoding_expands_to_the_json_it_was_made_from() {
        let value = serde_json::json!({"body": "borrow ".repeat(200)});
        let json = serde_json::to_vec(&value).unwrap();
        let e = Encoded::packed(value, pack(&json));
        assert_eq!(e.json().unwrap(), json);
        assert!(
            e.encoding_len() * 4 < json.len(),
            "repetitive text packs small"
        );
    }

    #[test]
    fn bytes_that_are_not_packed_json_do_not_expand() {
        for junk in [
            &b""[..],
            b"abc",
            b"\xff\xff\xff\xff\x00",
            b"\x05\x00\x00\x00\xff\xff",
        ] {
            assert_eq!(unpack(junk), None, "{junk:?}");
        }
        let e = Encoded::packed(1u8, Bytes::from_static(b"\x01\x00\x00\x00"));
        assert!(e.json().is_err());
    }

    #[test]
    fn known_bytes_are_kept() {
        let e = Encoded::with_json(1u8, Bytes::from_static(b"1"));
        assert_eq!(e.json().unwrap(), Bytes::from_static(b"1"));
    }
}
