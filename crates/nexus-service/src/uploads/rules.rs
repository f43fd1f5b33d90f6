//! The rules of an upload, written once: which media types are taken, and what a file
//! name may be.

use nexus_core::AppError;
use nexus_core::error::AppResult;

/// Longest file name, in bytes of UTF-8: what common file systems take, so the name
/// survives being saved as it is.
pub const FILENAME_MAX_BYTES: usize = 255;

/// The media types an upload may have. Anything else is refused (415): every type here
/// is checked against the bytes' own signature ([`super::sniff`]), and only these are
/// known to be safe to hand back with `Content-Disposition: attachment` and `nosniff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaType {
    Pdf,
    Png,
    Jpeg,
    Gif,
    Webp,
    PlainText,
    Markdown,
    Csv,
    Json,
    Zip,
}

impl MediaType {
    pub const ALL: [MediaType; 10] = [
        MediaType::Pdf,
        MediaType::Png,
        MediaType::Jpeg,
        MediaType::Gif,
        MediaType::Webp,
        MediaType::PlainText,
        MediaType::Markdown,
        MediaType::Csv,
        MediaType::Json,
        MediaType::Zip,
    ];

    /// The type as stored and shown, without parameters.
    pub fn essence(self) -> &'static str {
        match self {
            MediaType::Pdf => "application/pdf",
            MediaType::Png => "image/png",
            MediaType::Jpeg => "image/jpeg",
            MediaType::Gif => "image/gif",
            MediaType::Webp => "image/webp",
            MediaType::PlainText => "text/plain",
            MediaType::Markdown => "text/markdown",
            MediaType::Csv => "text/csv",
            MediaType::Json => "application/json",
            MediaType::Zip => "application/zip",
        }
    }

    /// Text that must be UTF-8 (the bytes are checked to be), as opposed to a binary
    /// format recognised by its leading bytes.
    pub fn is_text(self) -> bool {
        matches!(
            self,
            MediaType::PlainText | MediaType::Markdown | MediaType::Csv | MediaType::Json
        )
    }

    /// The `Content-Type` a download carries: text types say their charset, which every
    /// upload of them was checked to be in.
    pub fn served(self) -> &'static str {
        match self {
            MediaType::PlainText => "text/plain; charset=utf-8",
            MediaType::Markdown => "text/markdown; charset=utf-8",
            MediaType::Csv => "text/csv; charset=utf-8",
            other => other.essence(),
        }
    }

    /// A stored essence back as a type.
    pub fn from_essence(essence: &str) -> Option<MediaType> {
        MediaType::ALL.into_iter().find(|m| m.essence() == essence)
    }

    /// The declared type of an upload (a `Content-Type` value): one of the list, any
    /// parameters ignored except a text type's `charset`, which must be UTF-8 (or its
    /// subset US-ASCII). Missing or anything else: 415.
    pub fn from_declared(declared: Option<&str>) -> AppResult<MediaType> {
        let allowed = || {
            MediaType::ALL
                .iter()
                .map(|m| m.essence())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let Some(declared) = declared.map(str::trim).filter(|d| !d.is_empty()) else {
            return Err(AppError::UnsupportedMediaType(format!(
                "an upload must declare its type; one of {}",
                allowed()
            )));
        };
        let mut parts = declared.split(';');
        let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let Some(media) = MediaType::from_essence(&essence) else {
            return Err(AppError::UnsupportedMediaType(format!(
                "`{essence}` is not a type uploads take; one of {}",
                allowed()
            )));
        };
        if media.is_text() {
            for param in parts {
                let Some((name, value)) = param.split_once('=') else {
                    continue;
                };
                let value = value.trim().trim_matches('"');
                if name.trim().eq_ignore_ascii_case("charset")
                    && !value.eq_ignore_ascii_case("utf-8")
                    && !value.eq_ignore_ascii_case("us-ascii")
                {
                    return Err(AppError::UnsupportedMediaType(format!(
                        "text uploads must be UTF-8, not `{value}`"
                    )));
                }
            }
        }
        Ok(media)
    }
}

/// A file name as given, if it is one: 1 to [`FILENAME_MAX_BYTES`] bytes of UTF-8 with
/// no path separator, no control character, no invisible direction mark (which can make
/// `report\u{202E}fdp.exe` display as `reportexe.pdf`), no blank at either end, and not
/// only dots. Any script is welcome. 422 on `filename` otherwise, naming every fault.
pub fn filename(name: &str) -> AppResult<String> {
    let mut faults = Vec::new();
    if name.is_empty() {
        faults.push("must not be empty".to_owned());
    }
    if name.len() > FILENAME_MAX_BYTES {
        faults.push(format!(
            "must be at most {FILENAME_MAX_BYTES} bytes of UTF-8 (it is {})",
            name.len()
        ));
    }
    if name.contains(['/', '\\']) {
        faults.push("must not contain a path separator (`/` or `\\`)".to_owned());
    }
    if name.chars().any(char::is_control) {
        faults.push("must not contain control characters".to_owned());
    }
    if name.chars().any(is_direction_mark) {
        faults.push("must not contain invisible text-direction marks".to_owned());
    }
    if name.starts_with(char::is_whitespace) || name.ends_with(char::is_whitespace) {
        faults.push("must not begin or end with a blank".to_owned());
    }
    if !name.is_empty() && name.chars().all(|c| c == '.' || c.is_whitespace()) {
        faults.push("must not be only dots".to_owned());
    }
    if faults.is_empty() {
        Ok(name.to_owned())
    } else {
        Err(AppError::invalid("filename", faults.join("; ")))
    }
}

/// Marks that change the order text is shown in without being seen themselves.
fn is_direction_mark(c: char) -> bool {
    matches!(
        c,
        '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_message(err: AppError) -> String {
        match err {
            AppError::Validation(f) => {
                assert_eq!(f[0].field, "filename");
                f[0].message.clone()
            }
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn names_in_any_script_are_kept_as_they_are() {
        for ok in [
            "report.pdf",
            "Übung 3 – Lösung.md",
            "课程笔记.txt",
            "data (final).v2.csv",
            ".env.example",
            "a",
        ] {
            assert_eq!(filename(ok).unwrap(), ok);
        }
        assert!(filename(&"é".repeat(127)).is_ok(), "254 bytes");
    }

    #[test]
    fn bad_names_say_what_is_wrong() {
        for (bad, says) in [
            ("", "empty"),
            ("../etc/passwd", "path separator"),
            ("C:\\boot.ini", "path separator"),
            ("a\u{0}b.txt", "control"),
            ("line\nbreak.txt", "control"),
            ("report\u{202E}fdp.exe", "direction"),
            (" padded.txt", "blank"),
            ("padded.txt ", "blank"),
            ("..", "only dots"),
            (".", "only dots"),
        ] {
            let message = field_message(filename(bad).unwrap_err());
            assert!(message.contains(says), "{bad:?}: {message}");
        }
        let long = "a".repeat(256);
        assert!(field_message(filename(&long).unwrap_err()).contains("255 bytes"));
        let message = field_message(filename("../\u{7}").unwrap_err());
        assert!(message.contains("separator") && message.contains("control"));
    }

    #[test]
    fn declared_types_come_from_the_list_and_text_is_utf8() {
        assert_eq!(
            MediaType::from_declared(Some("image/PNG")).unwrap(),
            MediaType::Png
        );
        assert_eq!(
            MediaType::from_declared(Some("text/plain; charset=\"UTF-8\"")).unwrap(),
            MediaType::PlainText
        );
        assert_eq!(
            MediaType::from_declared(Some("application/pdf; name=x.pdf")).unwrap(),
            MediaType::Pdf
        );
        for bad in [
            None,
            Some(""),
            Some("application/octet-stream"),
            Some("text/html"),
            Some("image/svg+xml"),
            Some("text/plain; charset=latin1"),
        ] {
            let err = MediaType::from_declared(bad).unwrap_err();
            assert!(
                matches!(err, AppError::UnsupportedMediaType(_)),
                "{bad:?}: {err:?}"
            );
        }
        for m in MediaType::ALL {
            assert_eq!(MediaType::from_essence(m.essence()), Some(m));
            assert!(m.served().starts_with(m.essence()));
        }
    }
}
