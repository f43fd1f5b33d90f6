//! Extractors that fail with problems, not with the framework's plain-text answers.
//!
//! [`JsonBody`] reads the body itself (within the body limit), checks the media type and
//! deserialises through `serde_path_to_error`, so a wrong-shaped value is reported as a 422
//! naming the field, and malformed JSON as a 400 naming the line and column.
//!
//! [`QueryParams`] does the same for the query string: a parameter of the wrong type, out
//! of its enum or longer than its [`Bounded`] length is a 422 naming it.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use bytes::Bytes;
use nexus_core::{AppError, FieldError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

use crate::problem::ApiError;

/// A JSON request body of type `T`.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

fn is_json_content_type(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| {
            m.type_() == mime::APPLICATION
                && (m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON))
        })
}

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json_content_type(&req) {
            return Err(AppError::UnsupportedMediaType(
                "expected a body with Content-Type: application/json".into(),
            )
            .into());
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError(AppError::PayloadTooLarge)
            } else {
                ApiError(AppError::BadRequest(
                    "the request body could not be read".into(),
                ))
            }
        })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// The query parameters of a request as a `T`.
#[derive(Debug, Clone)]
pub struct QueryParams<T>(pub T);

impl<S, T> FromRequestParts<S> for QueryParams<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(QueryParams)
            .map_err(|err| {
                let path = err.path().to_string();
                let message = err.into_inner().to_string();
                // A missing parameter is reported at the top; its name is in the message.
                let missing = message
                    .strip_prefix("missing field `")
                    .and_then(|rest| rest.strip_suffix('`'));
                let field = match (path.as_str(), missing) {
                    (".", Some(name)) => name.to_owned(),
                    (".", None) => "query".to_owned(),
                    _ => path,
                };
                ApiError(AppError::Validation(vec![FieldError::new(field, message)]))
            })
    }
}

/// A text parameter of at most `MAX` characters. Its schema states the same bound (used
/// with `#[param(inline)]`), so the document and the check are one declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounded<const MAX: usize>(pub String);

impl<const MAX: usize> Bounded<MAX> {
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl<'de, const MAX: usize> Deserialize<'de> for Bounded<MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.chars().count() > MAX {
            return Err(serde::de::Error::custom(format!(
                "must be at most {MAX} characters"
            )));
        }
        Ok(Bounded(s))
    }
}

impl<const MAX: usize> utoipa::PartialSchema for Bounded<MAX> {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(MAX))
            .into()
    }
}

impl<const MAX: usize> utoipa::ToSchema for Bounded<MAX> {}

/// Deserialises `bytes`, classifying failures as 400 (not JSON) or 422 (wrong shape).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.is_empty() {
        return Err(AppError::BadRequest("the request body is empty; expected JSON".into()).into());
    }
    if nested_deeper_than(bytes, MAX_DEPTH) {
        return Err(AppError::BadRequest(format!(
            "malformed JSON: nested deeper than {MAX_DEPTH} levels"
        ))
        .into());
    }
    // serde's derived structs also accept an array of their fields in order, so
    // `[true, false]` would pass for `{"notifications": true, "digest": false}`. Every
    // Nexus body is an object; a well-formed array is the wrong shape (malformed text
    // still goes to the parser below, for its 400).
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
        && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok()
    {
        return Err(AppError::Validation(vec![FieldError::new(
            "body",
            "invalid type: array, expected a JSON object",
        )])
        .into());
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = match serde_path_to_error::deserialize(&mut de) {
        Err(err) if err.inner().classify() == serde_json::error::Category::Data => {
            // The retry reads the whole text as one value, trailing data included.
            match with_integral_numbers(bytes) {
                Some(Ok(value)) => return Ok(value),
                Some(Err(retried)) => Err(retried),
                None => Err(err),
            }
        }
        other => other,
    };
    let value = value.map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            // A shape error found before a syntax error later in the text: the input is
            // still malformed, and that is what the client must fix first.
            serde_json::error::Category::Data
                if serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_err() =>
            {
                ApiError(AppError::BadRequest(
                    "malformed JSON: the body is not a single valid JSON value".into(),
                ))
            }
            serde_json::error::Category::Data => {
                let field = if path == "." { "body".to_owned() } else { path };
                ApiError(AppError::Validation(vec![FieldError::new(
                    field,
                    strip_position(&inner.to_string()),
                )]))
            }
            // serde_json reports a number, a boolean or null where an enum's name belongs
            // as a syntax error ("expected ident"), though the text is valid JSON: for the
            // client that is a value of the wrong type, so a 422 naming the field.
            serde_json::error::Category::Syntax
                // As a `Value`, not `IgnoredAny`: `Value` keeps serde_json's nesting limit,
                // so a body nested past it stays malformed (400) rather than a wrong type.
                if serde_json::from_slice::<serde_json::Value>(bytes).is_ok() =>
            {
                let field = if path == "." { "body".to_owned() } else { path };
                ApiError(AppError::Validation(vec![FieldError::new(
                    field,
                    "invalid type: expected a string, one of the names this field takes",
                )]))
            }
            _ => ApiError(AppError::BadRequest(format!("malformed JSON: {inner}"))),
        }
    })?;
    de.end().map_err(|e| {
        ApiError(AppError::BadRequest(format!(
            "malformed JSON: unexpected data after the value: {e}"
        )))
    })?;
    Ok(value)
}

/// JSON has one number type, and JSON Schema counts `3.0` as an integer: a body that
/// failed to fit only because an integer field was spelled with a zero fraction is read
/// again with such numbers as integers. `None` when the body has none (the first error
/// stands), so the common path parses once.
fn with_integral_numbers<T: DeserializeOwned>(
    bytes: &[u8],
) -> Option<Result<T, serde_path_to_error::Error<serde_json::Error>>> {
    fn integral(v: &mut serde_json::Value) -> bool {
        match v {
            serde_json::Value::Number(n) => match n.as_f64() {
                // Within ±2^53 every f64 is exact, so the integer is the number written.
                Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 => {
                    #[allow(clippy::cast_possible_truncation)]
                    let i = f as i64;
                    *n = i.into();
                    true
                }
                _ => false,
            },
            // Every element is visited (no short circuit): all of them are rewritten.
            serde_json::Value::Array(items) => {
                let mut changed = false;
                for item in items {
                    changed |= integral(item);
                }
                changed
            }
            serde_json::Value::Object(map) => {
                let mut changed = false;
                for item in map.values_mut() {
                    changed |= integral(item);
                }
                changed
            }
            _ => false,
        }
    }
    let mut value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    integral(&mut value).then(|| serde_path_to_error::deserialize(value))
}

/// Deepest nesting of arrays and objects accepted. No Nexus input needs more than a few
/// levels. serde_json refuses beyond 128 only where it recurses, and a wrong-shaped value
/// is rejected (422) before the depth is ever reached, so a deep body is refused here,
/// up front, as malformed: a body is never worth parsing at that depth.
const MAX_DEPTH: usize = 64;

/// Whether `bytes` open more than `max` arrays or objects at once, ignoring brackets
/// inside strings. One pass, no allocation; malformed input is left to the parser.
fn nested_deeper_than(bytes: &[u8], max: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// serde_json appends "at line 1 column 17" to data errors; the field path says more.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nexus_core::ErrorKind;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Shape {
        name: String,
        inner: Inner,
    }
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
    }

    fn kind(r: Result<Shape, ApiError>) -> (ErrorKind, String) {
        let e = r.unwrap_err().0;
        let fields = match &e {
            AppError::Validation(f) => f[0].field.clone(),
            _ => String::new(),
        };
        (e.kind(), fields)
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        assert_eq!(kind(parse_json(b"{\"name\":")).0, ErrorKind::BadRequest);
        assert_eq!(kind(parse_json(b"")).0, ErrorKind::BadRequest);
        assert_eq!(kind(parse_json(b"{} {}")).0, ErrorKind::BadRequest);
        assert_eq!(kind(parse_json(b"\xff\xfe")).0, ErrorKind::BadRequest);
    }

    #[test]
    fn a_wrong_shape_names_the_field() {
        let (k, field) = kind(parse_json(br#"{"name":"x","inner":{"count":"three"}}"#));
        assert_eq!(k, ErrorKind::Validation);
        assert_eq!(field, "inner.count");
        let (k, field) = kind(parse_json(br#""just a string""#));
        assert_eq!(k, ErrorKind::Validation);
        assert_eq!(field, "body");
    }

    #[test]
    fn a_number_for_an_enum_is_a_wrong_type_not_malformed_json() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Choice {
            pick: Pick,
        }
        #[derive(serde::Deserialize, Debug)]
        #[serde(rename_all = "lowercase")]
        enum Pick {
            One,
        }
        for body in [
            &br#"{"pick":1}"#[..],
            br#"{"pick":true}"#,
            br#"{"pick":null}"#,
        ] {
            let e = parse_json::<Choice>(body).unwrap_err().0;
            assert_eq!(e.kind(), ErrorKind::Validation, "{e:?}");
            let AppError::Validation(fields) = e else {
                unreachable!()
            };
            assert_eq!(fields[0].field, "pick");
        }
        let e = parse_json::<Choice>(br#"{"pick":1"#).unwrap_err().0;
        assert_eq!(e.kind(), ErrorKind::BadRequest);
    }

    #[test]
    fn an_integer_may_have_a_zero_fraction() {
        let shape: Shape = parse_json(br#"{"name":"x","inner":{"count":3.0}}"#).unwrap();
        assert_eq!(shape.inner.count, 3);
        let (k, field) = kind(parse_json(br#"{"name":"x","inner":{"count":3.5}}"#));
        assert_eq!(k, ErrorKind::Validation);
        assert_eq!(field, "inner.count");
    }

    #[test]
    fn an_array_is_not_taken_for_an_object() {
        // serde would read this as `Shape { name: "x", inner: Inner { count: 3 } }`.
        let (k, field) = kind(parse_json(br#" ["x", {"count": 3}]"#));
        assert_eq!(k, ErrorKind::Validation);
        assert_eq!(field, "body");
        assert_eq!(kind(parse_json(b"[\"x\",")).0, ErrorKind::BadRequest);
    }

    #[test]
    fn nesting_is_counted_outside_strings_only() {
        let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
        assert!(nested_deeper_than(deep.as_bytes(), 64));
        assert!(!nested_deeper_than(br#"{"a":"[[[[[[\"[[[[","b":[{}]}"#, 3));
        let balanced = format!("{{\"name\":{}{}}}", "[".repeat(1000), "]".repeat(1000));
        assert_eq!(
            kind(parse_json(balanced.as_bytes())).0,
            ErrorKind::BadRequest
        );
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = "[".repeat(100_000);
        assert_eq!(kind(parse_json(deep.as_bytes())).0, ErrorKind::BadRequest);
    }
}
