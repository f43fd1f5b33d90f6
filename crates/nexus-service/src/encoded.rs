//! A value together with its JSON encoding, made at most once.
//!
//! A cached first page is held as `Arc<Encoded<…>>`, so it is serialised once per cached
//! value instead of once per request (criterion `serialise/list_page_20`: ~21 µs,
//! `cargo bench -p nexus-service --bench answers`), and a page read from Redis keeps the
//! bytes it arrived as. A note read from the database is encoded once for both its cache
//! entry and the answer to the write that read it.

use std::fmt;
use std::ops::Deref;
use std::sync::OnceLock;

use bytes::Bytes;
use serde::{Serialize, Serializer};

pub struct Encoded<T> {
    value: T,
    json: OnceLock<Bytes>,
}

impl<T: Serialize> Encoded<T> {
    pub fn new(value: T) -> Self {
        Encoded {
            value,
            json: OnceLock::new(),
        }
    }

    /// `json` must be an encoding of `value` (as when both came from the same string).
    pub fn with_json(value: T, json: Bytes) -> Self {
        Encoded {
            value,
            json: OnceLock::from(json),
        }
    }

    /// The JSON of the value; a cheap clone after the first call.
    pub fn json(&self) -> Result<Bytes, serde_json::Error> {
        if let Some(done) = self.json.get() {
            return Ok(done.clone());
        }
        let made = Bytes::from(serde_json::to_vec(&self.value)?);
        // Two first callers may both encode; either result is the same bytes.
        Ok(self.json.get_or_init(|| made).clone())
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
    fn known_bytes_are_kept() {
        let e = Encoded::with_json(1u8, Bytes::from_static(b"1"));
        assert_eq!(e.json().unwrap(), Bytes::from_static(b"1"));
    }
}
