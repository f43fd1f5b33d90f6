//! CSV answers (RFC 4180) beside JSON, for tables people open in a spreadsheet.
//!
//! A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage
//! return before one) as a formula, so a display name such as `=HYPERLINK(…)` would run
//! on a mentor's machine. Text cells that come from users go through [`text`], which
//! puts a `'` in front of such a start; numbers written by Nexus are left as they are.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Whether the client asked for CSV: `text/csv` in `Accept` with a non-zero quality.
pub fn wanted(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|range| {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            media.eq_ignore_ascii_case("text/csv") && !refused
        })
}

/// A cell of user text, safe to open in a spreadsheet.
pub fn text(s: &str) -> String {
    let risky = s
        .trim_start_matches(['\t', '\r', ' '])
        .starts_with(['=', '+', '-', '@'])
        || s.starts_with(['\t', '\r']);
    if risky { format!("'{s}") } else { s.to_owned() }
}

/// The rows as CSV: fields quoted where RFC 4180 needs it, CRLF line ends.
pub fn encode(rows: &[Vec<String>]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for row in rows {
        // Writing to a Vec cannot fail for I/O; a record is any list of strings.
        let _ = w.write_record(row);
    }
    w.into_inner().unwrap_or_default()
}

/// A `200 text/csv` answer, offered for download as `filename`.
pub fn response(rows: &[Vec<String>], filename: &str) -> Response {
    let mut resp = (StatusCode::OK, encode(rows)).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8; header=present"),
    );
    let safe: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_a_spreadsheet_would_run_get_a_quote_in_front() {
        assert_eq!(text("=1+1"), "'=1+1");
        assert_eq!(text("+33 1 23"), "'+33 1 23");
        assert_eq!(text("-2"), "'-2");
        assert_eq!(text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(text("\t=cmd"), "'\t=cmd");
        assert_eq!(text("  =x"), "'  =x");
        assert_eq!(text("Ada Lovelace"), "Ada Lovelace");
        assert_eq!(text("a=b"), "a=b");
        assert_eq!(text(""), "");
    }

    #[test]
    fn fields_are_quoted_where_rfc_4180_needs_it_with_crlf_line_ends() {
        let rows = vec![
            vec!["a".to_owned(), "b,c".to_owned()],
            vec!["say \"hi\"".to_owned(), "two\nlines".to_owned()],
        ];
        assert_eq!(
            String::from_utf8(encode(&rows)).unwrap(),
            "a,\"b,c\"\r\n\"say \"\"hi\"\"\",\"two\nlines\"\r\n"
        );
    }

    #[test]
    fn csv_is_wanted_only_when_accept_names_it_with_a_positive_quality() {
        let accept = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
            wanted(&h)
        };
        assert!(accept("text/csv"));
        assert!(accept("application/json;q=0.5, TEXT/CSV"));
        assert!(!accept("text/csv;q=0"));
        assert!(!accept("application/json"));
        assert!(!accept("*/*"));
        assert!(!wanted(&HeaderMap::new()));
    }
}
