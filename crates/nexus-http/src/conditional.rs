//! Versions in HTTP: the `ETag` of a versioned resource (a note, a course), the version an
//! `If-Match` names, and `If-None-Match` for a conditional read. One form everywhere:
//! `"v<version>"`, which the document declares as [`IF_MATCH_PATTERN`].

use axum::http::{HeaderMap, HeaderValue, header};
use nexus_core::AppError;

use crate::problem::ApiError;

/// The one form of an `If-Match` this API accepts: an `ETag` it sent.
pub const IF_MATCH_PATTERN: &str = r#"^"v[0-9]{1,9}"$"#;

pub fn etag(version: i32) -> HeaderValue {
    HeaderValue::from_str(&format!("\"v{version}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("\"v0\""))
}

/// The version named by `If-Match`. Absent is `None` (the service answers 428 where a
/// version is needed); anything but the declared form is malformed, a 400.
pub fn if_match(headers: &HeaderMap) -> Result<Option<i32>, ApiError> {
    let Some(raw) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let version = raw
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("\"v"))
        .and_then(|v| v.strip_suffix('"'))
        .filter(|n| (1..=9).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse().ok());
    match version {
        Some(v) => Ok(Some(v)),
        None => Err(ApiError(AppError::BadRequest(
            "If-Match must be the ETag of a version, as this API sent it, e.g. \"v3\"".into(),
        ))),
    }
}

/// Whether `If-None-Match` names `tag` (weakly: `W/` is ignored), or is `*`.
pub fn not_modified(headers: &HeaderMap, tag: &HeaderValue) -> bool {
    let Some(tags) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    tags.split(',').any(|t| {
        let t = t.trim();
        t == "*" || t.strip_prefix("W/").unwrap_or(t).as_bytes() == tag.as_bytes()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn if_match_takes_only_the_etag_form() {
        assert_eq!(if_match(&HeaderMap::new()).unwrap(), None);
        assert_eq!(
            if_match(&with(header::IF_MATCH, "\"v12\"")).unwrap(),
            Some(12)
        );
        for bad in [
            "v12",
            "\"v\"",
            "\"v1x\"",
            "\"v1234567890\"",
            "*",
            "W/\"v1\"",
        ] {
            assert!(if_match(&with(header::IF_MATCH, bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn if_none_match_matches_the_tag_weakly_or_any() {
        let tag = etag(3);
        assert!(not_modified(&with(header::IF_NONE_MATCH, "\"v3\""), &tag));
        assert!(not_modified(
            &with(header::IF_NONE_MATCH, "\"v1\", W/\"v3\""),
            &tag
        ));
        assert!(not_modified(&with(header::IF_NONE_MATCH, "*"), &tag));
        assert!(!not_modified(&with(header::IF_NONE_MATCH, "\"v2\""), &tag));
        assert!(!not_modified(&HeaderMap::new(), &tag));
    }
}
