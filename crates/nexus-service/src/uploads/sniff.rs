//! Whether an upload's bytes are what its declared type says, judged as they stream past:
//! nothing here holds more than a few bytes of the file.
//!
//! - Binary types by their signature, the leading bytes every file of the format starts
//!   with (`%PDF-`, the PNG header, `FF D8 FF`, `GIF87a`/`GIF89a`, `RIFF….WEBP`, a zip
//!   local header or an empty archive's end record).
//! - Text types by being text: valid UTF-8 (a sequence split across chunks is carried
//!   over) with no NUL byte, which no text file has and most binary files do; a leading
//!   byte-order mark is allowed.
//! - JSON, beyond that, by its grammar (RFC 8259), with a push-down automaton that keeps
//!   one byte per open array or object, so a 25 MiB document is validated in constant
//!   memory, without building it.
//!
//! A signature says what a file claims to be, not that the rest of it is well formed: a
//! PNG header followed by garbage passes. That is the point of `nosniff` and
//! `attachment` on the way out: the bytes are never interpreted by Nexus or shown inline
//! by a browser.

use super::rules::MediaType;

/// The check of one upload, fed chunk by chunk.
#[derive(Debug)]
pub struct ContentCheck {
    media: MediaType,
    /// The first bytes, until the signature can be judged.
    head: Vec<u8>,
    /// Whether the signature was judged already.
    judged: bool,
    text: Option<Utf8Check>,
    json: Option<JsonCheck>,
}

/// Why the bytes are not of the declared type, for the client.
pub type Mismatch = String;

/// Longest signature read: a WebP's `RIFF`, size and `WEBP`.
const HEAD: usize = 12;

impl ContentCheck {
    pub fn new(media: MediaType) -> ContentCheck {
        ContentCheck {
            media,
            head: Vec::with_capacity(HEAD),
            judged: media.is_text(),
            text: media.is_text().then(Utf8Check::default),
            json: (media == MediaType::Json).then(JsonCheck::default),
        }
    }

    /// The next bytes of the file.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), Mismatch> {
        if !self.judged {
            let take = (signature_len(self.media) - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
            if self.head.len() == signature_len(self.media) {
                self.judged = true;
                self.judge()?;
            }
        }
        if let Some(text) = &mut self.text {
            text.feed(chunk)?;
        }
        if let Some(json) = &mut self.json {
            json.feed(chunk)?;
        }
        Ok(())
    }

    /// The file ended.
    pub fn finish(&mut self) -> Result<(), Mismatch> {
        if !self.judged {
            return Err(format!(
                "the file is too short to be {} ({} bytes)",
                describe(self.media),
                self.head.len()
            ));
        }
        if let Some(text) = &self.text {
            text.finish()?;
        }
        if let Some(json) = &self.json {
            json.finish()?;
        }
        Ok(())
    }

    fn judge(&self) -> Result<(), Mismatch> {
        let h = self.head.as_slice();
        let ok = match self.media {
            MediaType::Pdf => h.starts_with(b"%PDF-"),
            MediaType::Png => h.starts_with(b"\x89PNG\r\n\x1a\n"),
            MediaType::Jpeg => h.starts_with(b"\xFF\xD8\xFF"),
            MediaType::Gif => h.starts_with(b"GIF87a") || h.starts_with(b"GIF89a"),
            MediaType::Webp => h.starts_with(b"RIFF") && h.get(8..12) == Some(&b"WEBP"[..]),
            MediaType::Zip => h.starts_with(b"PK\x03\x04") || h.starts_with(b"PK\x05\x06"),
            MediaType::PlainText | MediaType::Markdown | MediaType::Csv | MediaType::Json => true,
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "the bytes do not begin as {} does",
                describe(self.media)
            ))
        }
    }
}

/// How many leading bytes judge a binary type.
fn signature_len(media: MediaType) -> usize {
    match media {
        MediaType::Pdf => 5,
        MediaType::Png => 8,
        MediaType::Jpeg => 3,
        MediaType::Gif => 6,
        MediaType::Webp => HEAD,
        MediaType::Zip => 4,
        MediaType::PlainText | MediaType::Markdown | MediaType::Csv | MediaType::Json => 0,
    }
}

fn describe(media: MediaType) -> &'static str {
    match media {
        MediaType::Pdf => "a PDF document",
        MediaType::Png => "a PNG image",
        MediaType::Jpeg => "a JPEG image",
        MediaType::Gif => "a GIF image",
        MediaType::Webp => "a WebP image",
        MediaType::Zip => "a zip archive",
        MediaType::PlainText => "plain text",
        MediaType::Markdown => "Markdown text",
        MediaType::Csv => "CSV text",
        MediaType::Json => "JSON",
    }
}

/// UTF-8 without NUL, across chunk boundaries.
#[derive(Debug, Default)]
struct Utf8Check {
    /// The start of a sequence that the previous chunk ended inside (at most 3 bytes).
    carry: Vec<u8>,
    /// Bytes seen before the current chunk, for the position in messages.
    offset: u64,
}

impl Utf8Check {
    fn feed(&mut self, chunk: &[u8]) -> Result<(), Mismatch> {
        let start = self.offset;
        self.offset += chunk.len() as u64;
        let mut rest = chunk;
        if let Some(&lead) = self.carry.first() {
            let want = sequence_len(lead);
            let take = (want - self.carry.len()).min(rest.len());
            self.carry.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.carry.len() < want {
                return Ok(());
            }
            if std::str::from_utf8(&self.carry).is_err() {
                return Err(not_utf8(start));
            }
            self.carry.clear();
        }
        let at = start + (chunk.len() - rest.len()) as u64;
        if let Some(nul) = rest.iter().position(|&b| b == 0) {
            return Err(format!(
                "the text has a NUL byte at byte {}",
                at + nul as u64
            ));
        }
        match std::str::from_utf8(rest) {
            Ok(_) => Ok(()),
            // The chunk ends inside a sequence: its start waits for the next chunk.
            Err(e) if e.error_len().is_none() => {
                self.carry.extend_from_slice(&rest[e.valid_up_to()..]);
                Ok(())
            }
            Err(e) => Err(not_utf8(at + e.valid_up_to() as u64)),
        }
    }

    fn finish(&self) -> Result<(), Mismatch> {
        if self.carry.is_empty() {
            Ok(())
        } else {
            Err(not_utf8(self.offset - self.carry.len() as u64))
        }
    }
}

fn not_utf8(at: u64) -> Mismatch {
    format!("the text is not valid UTF-8 (at byte {at})")
}

/// The length of the UTF-8 sequence a lead byte starts (one the decoder accepted as the
/// start of an incomplete sequence, so 2 to 4).
fn sequence_len(lead: u8) -> usize {
    match lead {
        0xF0..=0xF7 => 4,
        0xE0..=0xEF => 3,
        _ => 2,
    }
}

/// Deepest nesting of arrays and objects taken. Far beyond any real document, and the
/// bound on this check's memory.
const JSON_MAX_DEPTH: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Json {
    /// Before the document (a byte-order mark, blanks, then a value).
    Start,
    /// The n-th byte of a byte-order mark was seen.
    Bom(u8),
    /// A value must come (after `:` or a `,` in an array).
    Value,
    /// Just after `[`: a value or `]`.
    ArrayStart,
    /// Just after `{`: a key or `}`.
    ObjectStart,
    /// After a `,` in an object: a key.
    Key,
    /// After a key: `:`.
    Colon,
    /// After a value: `,`, the closing bracket, or (at the top) nothing but blanks.
    After,
    /// Inside a string (a key or a value).
    Str { key: bool, escape: Escape },
    /// Inside a number.
    Num(Number),
    /// Inside `true`, `false` or `null`: the word and how much of it was seen.
    Word(&'static [u8], usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    None,
    /// After `\`.
    Backslash,
    /// Inside `\uXXXX`, with this many hex digits to come.
    Hex(u8),
}

/// The parts of `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Number {
    Minus,
    Zero,
    Int,
    Dot,
    Fraction,
    E,
    ESign,
    Exponent,
}

impl Number {
    /// Whether a number may end here.
    fn complete(self) -> bool {
        matches!(
            self,
            Number::Zero | Number::Int | Number::Fraction | Number::Exponent
        )
    }
}

/// The JSON grammar over a stream of bytes (RFC 8259). The bytes inside strings are left
/// to [`Utf8Check`].
#[derive(Debug)]
struct JsonCheck {
    state: Json,
    /// `[` or `{` for each open array or object.
    open: Vec<u8>,
    offset: u64,
}

impl Default for JsonCheck {
    fn default() -> Self {
        JsonCheck {
            state: Json::Start,
            open: Vec::new(),
            offset: 0,
        }
    }
}

fn blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

impl JsonCheck {
    fn feed(&mut self, chunk: &[u8]) -> Result<(), Mismatch> {
        for &b in chunk {
            self.step(b)?;
            self.offset += 1;
        }
        Ok(())
    }

    fn finish(&self) -> Result<(), Mismatch> {
        match self.state {
            Json::After if self.open.is_empty() => Ok(()),
            Json::Num(n) if n.complete() && self.open.is_empty() => Ok(()),
            Json::Start => Err("the file holds no JSON value".into()),
            _ => Err("the JSON ends before its value is complete".into()),
        }
    }

    fn unexpected(&self, b: u8) -> Mismatch {
        let shown = if b.is_ascii_graphic() {
            format!("`{}`", b as char)
        } else {
            format!("byte 0x{b:02X}")
        };
        format!(
            "the file is not valid JSON: unexpected {shown} at byte {}",
            self.offset
        )
    }

    fn step(&mut self, b: u8) -> Result<(), Mismatch> {
        match self.state {
            Json::Start if b == 0xEF && self.offset == 0 => self.state = Json::Bom(1),
            Json::Bom(1) if b == 0xBB => self.state = Json::Bom(2),
            Json::Bom(2) if b == 0xBF => self.state = Json::Start,
            Json::Bom(_) => return Err(self.unexpected(b)),
            Json::Start | Json::Value if blank(b) => {}
            Json::Start | Json::Value => self.value(b)?,
            Json::ArrayStart if blank(b) => {}
            Json::ArrayStart if b == b']' => self.close(b)?,
            Json::ArrayStart => self.value(b)?,
            Json::ObjectStart | Json::Key | Json::Colon if blank(b) => {}
            Json::ObjectStart if b == b'}' => self.close(b)?,
            Json::ObjectStart | Json::Key if b == b'"' => {
                self.state = Json::Str {
                    key: true,
                    escape: Escape::None,
                }
            }
            Json::Colon if b == b':' => self.state = Json::Value,
            Json::ObjectStart | Json::Key | Json::Colon => return Err(self.unexpected(b)),
            Json::After => self.after(b)?,
            Json::Str { key, escape } => self.string(key, escape, b)?,
            Json::Num(n) => self.number(n, b)?,
            Json::Word(word, seen) => {
                if word.get(seen) != Some(&b) {
                    return Err(self.unexpected(b));
                }
                self.state = if seen + 1 == word.len() {
                    Json::After
                } else {
                    Json::Word(word, seen + 1)
                };
            }
        }
        Ok(())
    }

    /// The first byte of a value.
    fn value(&mut self, b: u8) -> Result<(), Mismatch> {
        self.state = match b {
            b'{' | b'[' => {
                if self.open.len() == JSON_MAX_DEPTH {
                    return Err(format!(
                        "the JSON nests deeper than {JSON_MAX_DEPTH} levels (at byte {})",
                        self.offset
                    ));
                }
                self.open.push(b);
                if b == b'{' {
                    Json::ObjectStart
                } else {
                    Json::ArrayStart
                }
            }
            b'"' => Json::Str {
                key: false,
                escape: Escape::None,
            },
            b'-' => Json::Num(Number::Minus),
            b'0' => Json::Num(Number::Zero),
            b'1'..=b'9' => Json::Num(Number::Int),
            b't' => Json::Word(b"true", 1),
            b'f' => Json::Word(b"false", 1),
            b'n' => Json::Word(b"null", 1),
            _ => return Err(self.unexpected(b)),
        };
        Ok(())
    }

    /// After a complete value.
    fn after(&mut self, b: u8) -> Result<(), Mismatch> {
        match (b, self.open.last()) {
            _ if blank(b) => {}
            (b',', Some(b'[')) => self.state = Json::Value,
            (b',', Some(b'{')) => self.state = Json::Key,
            (b']' | b'}', Some(_)) => self.close(b)?,
            (_, None) => {
                return Err(format!(
                    "the file is not valid JSON: more data after the value (at byte {})",
                    self.offset
                ));
            }
            _ => return Err(self.unexpected(b)),
        }
        Ok(())
    }

    /// `]` or `}`, closing the innermost open array or object if it is of that kind.
    fn close(&mut self, b: u8) -> Result<(), Mismatch> {
        let opener = if b == b']' { b'[' } else { b'{' };
        if self.open.last() != Some(&opener) {
            return Err(self.unexpected(b));
        }
        self.open.pop();
        self.state = Json::After;
        Ok(())
    }

    fn string(&mut self, key: bool, escape: Escape, b: u8) -> Result<(), Mismatch> {
        let escape = match escape {
            Escape::None => match b {
                b'"' => {
                    self.state = if key { Json::Colon } else { Json::After };
                    return Ok(());
                }
                b'\\' => Escape::Backslash,
                0x00..=0x1F => return Err(self.unexpected(b)),
                _ => Escape::None,
            },
            Escape::Backslash => match b {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Escape::None,
                b'u' => Escape::Hex(4),
                _ => return Err(self.unexpected(b)),
            },
            Escape::Hex(left) if b.is_ascii_hexdigit() => {
                if left == 1 {
                    Escape::None
                } else {
                    Escape::Hex(left - 1)
                }
            }
            Escape::Hex(_) => return Err(self.unexpected(b)),
        };
        self.state = Json::Str { key, escape };
        Ok(())
    }

    fn number(&mut self, n: Number, b: u8) -> Result<(), Mismatch> {
        let next = match (n, b) {
            (Number::Minus, b'0') => Number::Zero,
            (Number::Minus, b'1'..=b'9') => Number::Int,
            (Number::Int, b'0'..=b'9') => Number::Int,
            (Number::Zero | Number::Int, b'.') => Number::Dot,
            (Number::Dot | Number::Fraction, b'0'..=b'9') => Number::Fraction,
            (Number::Zero | Number::Int | Number::Fraction, b'e' | b'E') => Number::E,
            (Number::E, b'+' | b'-') => Number::ESign,
            (Number::E | Number::ESign | Number::Exponent, b'0'..=b'9') => Number::Exponent,
            // The byte after a complete number belongs to what follows it.
            (n, b) if n.complete() => {
                self.state = Json::After;
                return self.after(b);
            }
            _ => return Err(self.unexpected(b)),
        };
        self.state = Json::Num(next);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks `bytes` as `media` in chunks of every size from 1 to 7, so that each
    /// boundary falls everywhere once: the verdict must not depend on the chunking.
    fn check(media: MediaType, bytes: &[u8]) -> Result<(), Mismatch> {
        let mut verdicts = Vec::new();
        for size in 1..=7 {
            let mut c = ContentCheck::new(media);
            let verdict = bytes
                .chunks(size)
                .try_for_each(|chunk| c.feed(chunk))
                .and_then(|()| c.finish());
            verdicts.push(verdict);
        }
        let whole = {
            let mut c = ContentCheck::new(media);
            c.feed(bytes).and_then(|()| c.finish())
        };
        for v in &verdicts {
            assert_eq!(v.is_ok(), whole.is_ok(), "chunking changed the verdict");
        }
        whole
    }

    #[test]
    fn binary_types_are_known_by_their_signature() {
        let cases: [(MediaType, &[u8]); 7] = [
            (MediaType::Pdf, b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n"),
            (MediaType::Png, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            (MediaType::Jpeg, b"\xFF\xD8\xFF\xE0\0\x10JFIF"),
            (MediaType::Gif, b"GIF89a\x01\0\x01\0"),
            (MediaType::Webp, b"RIFF\x24\0\0\0WEBPVP8 "),
            (MediaType::Zip, b"PK\x03\x04\x14\0\0\0"),
            (
                MediaType::Zip,
                b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
            ),
        ];
        for (media, bytes) in cases {
            assert!(check(media, bytes).is_ok(), "{media:?}");
        }
        let pdf = cases[0].1;
        for media in [
            MediaType::Png,
            MediaType::Jpeg,
            MediaType::Gif,
            MediaType::Webp,
            MediaType::Zip,
        ] {
            let err = check(media, pdf).unwrap_err();
            assert!(err.contains("do not begin as"), "{media:?}: {err}");
        }
        assert!(check(MediaType::Webp, b"RIFF\x24\0\0\0AVI LIST").is_err());
        let err = check(MediaType::Png, b"\x89PN").unwrap_err();
        assert!(err.contains("too short"), "{err}");
    }

    #[test]
    fn text_is_utf8_without_nul_across_chunks() {
        let text = "Grüße, 世界! 🦀\r\nline two\n".as_bytes();
        for media in [MediaType::PlainText, MediaType::Markdown, MediaType::Csv] {
            assert!(check(media, text).is_ok());
        }
        assert!(check(MediaType::PlainText, b"\xEF\xBB\xBFwith a BOM").is_ok());
        let err = check(MediaType::PlainText, b"ab\0cd").unwrap_err();
        assert!(err.contains("NUL byte at byte 2"), "{err}");
        let err = check(MediaType::Csv, b"a,b\n\xFF,c").unwrap_err();
        assert!(err.contains("UTF-8 (at byte 4)"), "{err}");
        // Ends inside a sequence; an overlong encoding; a lone continuation byte.
        for bad in [
            &b"ok \xF0\x9F\xA6"[..],
            b"\xC0\xAF",
            b"\x80",
            b"\xED\xA0\x80",
        ] {
            assert!(check(MediaType::PlainText, bad).is_err(), "{bad:?}");
        }
        // A PDF, with its binary comment line, is not text.
        assert!(check(MediaType::PlainText, b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n").is_err());
    }

    #[test]
    fn json_follows_the_grammar_in_constant_memory() {
        for ok in [
            &br#"{"a": [1, -2.5e+3, 0, 0.25, true, false, null, "x\"y\\u00e9"], "b": {}}"#[..],
            b"  [ ]  ",
            b"\"just a string\"",
            b"42",
            b"-0.5E-7\n",
            b"\xEF\xBB\xBF{\"bom\": 1}",
            "{\"unicode\": \"Grüße 🦀\"}".as_bytes(),
        ] {
            assert!(
                check(MediaType::Json, ok).is_ok(),
                "{}",
                String::from_utf8_lossy(ok)
            );
        }
        for bad in [
            &b""[..],
            b"   ",
            b"{",
            b"[1, 2",
            b"[1,]",
            b"{\"a\" 1}",
            b"{\"a\": 1,}",
            b"{a: 1}",
            b"[01]",
            b"[1.]",
            b"[1e]",
            b"[-]",
            b"[tru]",
            b"[nul]",
            b"\"unterminated",
            b"\"bad \\x escape\"",
            b"\"bad \\u12G4\"",
            b"\"raw\ttab\"",
            b"{} {}",
            b"[1] x",
            b"[}",
            b"{]",
            b"NaN",
            b"'single'",
        ] {
            assert!(
                check(MediaType::Json, bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let deep = format!("{}{}", "[".repeat(1024), "]".repeat(1024));
        assert!(check(MediaType::Json, deep.as_bytes()).is_ok());
        let deeper = format!("{}{}", "[".repeat(1025), "]".repeat(1025));
        let err = check(MediaType::Json, deeper.as_bytes()).unwrap_err();
        assert!(err.contains("deeper than 1024"), "{err}");
        let err = check(MediaType::Json, b"{\"a\": tru e}").unwrap_err();
        assert!(err.ends_with("unexpected byte 0x20 at byte 9"), "{err}");
        let err = check(MediaType::Json, b"[1, 2] ]").unwrap_err();
        assert!(
            err.contains("more data after the value (at byte 7)"),
            "{err}"
        );
    }
}
