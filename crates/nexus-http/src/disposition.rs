//! `Content-Disposition` (RFC 6266): the file name a client sends with an upload, and the
//! header a download answers with.
//!
//! A name travels in one of two parameters: `filename`, a token or a quoted string, and
//! `filename*` (RFC 8187), `UTF-8''` then the name's bytes percent-encoded, for names
//! beyond ASCII. A sender may give both, `filename` as a fallback for old readers; the
//! extended one wins. Browsers put raw UTF-8 in a quoted `filename`, so its bytes are
//! read as UTF-8 too.

use axum::http::HeaderValue;

/// The file name in a `Content-Disposition` value: `Ok(None)` when it names none, `Err`
/// saying why when the value is malformed.
pub fn filename(value: &[u8]) -> Result<Option<String>, String> {
    let mut p = Parser { s: value, at: 0 };
    p.blanks();
    if p.token().is_empty() {
        return Err("must start with a disposition type, e.g. `attachment`".into());
    }
    let (mut plain, mut extended) = (None, None);
    loop {
        p.blanks();
        if p.done() {
            break;
        }
        if !p.eat(b';') {
            return Err(format!("expected `;` at byte {}", p.at));
        }
        p.blanks();
        if p.done() {
            break;
        }
        let name = p.token().to_ascii_lowercase();
        if name.is_empty() {
            return Err(format!("expected a parameter name at byte {}", p.at));
        }
        p.blanks();
        if !p.eat(b'=') {
            return Err(format!(
                "expected `=` after `{}`",
                String::from_utf8_lossy(&name)
            ));
        }
        p.blanks();
        let value = if p.peek() == Some(b'"') {
            p.quoted()?
        } else {
            p.token().to_vec()
        };
        let slot = match name.as_slice() {
            b"filename" => &mut plain,
            b"filename*" => &mut extended,
            _ => continue,
        };
        if slot.is_some() {
            return Err(format!(
                "`{}` is given twice",
                String::from_utf8_lossy(&name)
            ));
        }
        *slot = Some(value);
    }
    if let Some(ext) = extended {
        return decode_extended(&ext).map(Some);
    }
    plain
        .map(|bytes| {
            String::from_utf8(bytes).map_err(|_| "`filename` is not valid UTF-8".to_owned())
        })
        .transpose()
}

/// `attachment` with the name in both forms: an ASCII `filename` for readers that know
/// only it (other characters as `_`), and the exact name as `filename*=UTF-8''…`.
pub fn attachment(name: &str) -> HeaderValue {
    let fallback: String = name
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::with_capacity(name.len() * 3);
    for b in name.bytes() {
        if is_attr_char(b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// RFC 8187 `attr-char`: what an extended value carries as it is.
fn is_attr_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b)
}

/// `charset'language'value` with the value percent-encoded; UTF-8 or ISO-8859-1.
fn decode_extended(raw: &[u8]) -> Result<String, String> {
    let bad = |why: &str| format!("`filename*` {why}; expected UTF-8''name with %XX escapes");
    let mut parts = raw.splitn(3, |&b| b == b'\'');
    let (Some(charset), Some(_language), Some(value)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("has no charset"));
    };
    let mut bytes = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        match value[i] {
            b'%' => {
                let hex = value
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| bad("has a broken %-escape"))?;
                bytes.push(hex);
                i += 3;
            }
            b if is_attr_char(b) => {
                bytes.push(b);
                i += 1;
            }
            _ => return Err(bad("has a character that must be %-escaped")),
        }
    }
    if charset.eq_ignore_ascii_case(b"utf-8") {
        String::from_utf8(bytes).map_err(|_| bad("is not valid UTF-8"))
    } else if charset.eq_ignore_ascii_case(b"iso-8859-1") {
        Ok(bytes.into_iter().map(char::from).collect())
    } else {
        Err(bad("names a charset other than UTF-8 or ISO-8859-1"))
    }
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl<'a> Parser<'a> {
    fn done(&self) -> bool {
        self.at >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }

    /// A run of bytes up to a separator. Wider than RFC 9110's `token`: unquoted names
    /// with bytes beyond ASCII are read, as clients send them.
    fn token(&mut self) -> &'a [u8] {
        let start = self.at;
        while let Some(b) = self.peek() {
            if b <= b' ' || b == 0x7F || b"();=\"".contains(&b) {
                break;
            }
            self.at += 1;
        }
        &self.s[start..self.at]
    }

    /// A quoted string, without its quotes and with its `\` escapes undone.
    fn quoted(&mut self) -> Result<Vec<u8>, String> {
        self.at += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err("a quoted value is not closed".into()),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.at += 1;
                    let escaped = self
                        .peek()
                        .ok_or_else(|| "a quoted value ends in `\\`".to_owned())?;
                    out.push(escaped);
                    self.at += 1;
                }
                Some(b) => {
                    out.push(b);
                    self.at += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(value: &str) -> Result<Option<String>, String> {
        filename(value.as_bytes())
    }

    #[test]
    fn names_come_from_either_parameter_and_the_extended_one_wins() {
        assert_eq!(
            name("attachment; filename=report.pdf").unwrap().unwrap(),
            "report.pdf"
        );
        assert_eq!(
            name("attachment; filename=\"week 3 \\\"final\\\".md\"")
                .unwrap()
                .unwrap(),
            "week 3 \"final\".md"
        );
        assert_eq!(
            name("attachment; filename=\"fallback.txt\"; filename*=UTF-8''%E2%82%AC%20rates.txt")
                .unwrap()
                .unwrap(),
            "€ rates.txt"
        );
        assert_eq!(
            name("inline;filename*=utf-8'de'%C3%9Cbung.md")
                .unwrap()
                .unwrap(),
            "Übung.md"
        );
        assert_eq!(
            name("attachment; filename*=ISO-8859-1''%E9t%E9.csv")
                .unwrap()
                .unwrap(),
            "été.csv"
        );
        assert_eq!(
            filename("form-data; name=\"file\"; filename=\"课程.txt\"".as_bytes())
                .unwrap()
                .unwrap(),
            "课程.txt"
        );
        assert_eq!(name("attachment").unwrap(), None);
        assert_eq!(name("attachment; size=12;").unwrap(), None);
    }

    #[test]
    fn malformed_values_say_what_is_wrong() {
        for (value, says) in [
            ("", "disposition type"),
            ("; filename=a.txt", "disposition type"),
            ("attachment filename=a.txt", "`;`"),
            ("attachment; filename", "`=`"),
            ("attachment; filename=\"open", "not closed"),
            ("attachment; filename*=a.txt", "charset"),
            ("attachment; filename*=UTF-8''%E2%82", "not valid UTF-8"),
            ("attachment; filename*=UTF-8''%ZZ.txt", "%-escape"),
            ("attachment; filename*=UTF-8''a b.txt", "`;`"),
            ("attachment; filename*=KOI8-R''a.txt", "charset"),
            ("attachment; filename=a.txt; filename=b.txt", "twice"),
        ] {
            let err = name(value).unwrap_err();
            assert!(err.contains(says), "{value:?}: {err}");
        }
        assert!(filename(b"attachment; filename=\"\xFF.txt\"").is_err());
    }

    #[test]
    fn answers_carry_an_ascii_fallback_and_the_exact_name() {
        assert_eq!(
            attachment("report.pdf"),
            "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
        );
        assert_eq!(
            attachment("€ \"rates\".txt"),
            "attachment; filename=\"_ _rates_.txt\"; filename*=UTF-8''%E2%82%AC%20%22rates%22.txt"
        );
        for n in [
            "Übung 3 – Lösung.md",
            "课程笔记.txt",
            "a;b=c,d.csv",
            "100% sure.json",
        ] {
            let header = attachment(n);
            let back = filename(header.as_bytes()).unwrap().unwrap();
            assert_eq!(back, n);
        }
    }
}
