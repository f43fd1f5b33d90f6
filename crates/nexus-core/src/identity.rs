//! Identity domain types: who a user is, and the inputs that create or change one.
//!
//! Values are parsed into newtypes whose constructors reject bad input, so an invalid email
//! or handle cannot reach the service layer. Each constructor reports the field it was
//! given, ready for a 422 listing.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::FieldError;

named_enum! {
    /// What a user may do across the whole service, in increasing order of rights.
    /// Per-cohort mentor rights come later.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
    pub enum Role {
        Learner = "learner",
        Mentor = "mentor",
        Admin = "admin",
    }
}

named_enum! {
    /// The part of the stack a learner works on; used for collaborator matching.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
    pub enum Track {
        Backend = "backend",
        Frontend = "frontend",
        Fullstack = "fullstack",
        #[default]
        Other = "other",
    }
}

/// An email address, trimmed, with its normalised form (lowercased) used for uniqueness,
/// so `Ada@Example.com` and `ada@example.com` are one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub display: String,
    pub normalized: String,
}

impl Email {
    /// The longest address, in bytes (RFC 5321's path limit less the angle brackets).
    pub const MAX: usize = 254;

    pub fn parse(field: &str, raw: &str) -> Result<Email, FieldError> {
        let s = raw.trim();
        let bad = |m: &str| Err(FieldError::new(field, m));
        if s.is_empty() {
            return bad("must not be empty");
        }
        if s.len() > Self::MAX {
            return bad("must be at most 254 characters");
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return bad("must be an email address like name@example.com");
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && local
                .chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && c != '<' && c != '>');
        if !domain_ok || !local_ok {
            return bad("must be an email address like name@example.com");
        }
        Ok(Email {
            display: s.to_owned(),
            normalized: s.to_lowercase(),
        })
    }
}

/// A public handle: 3-30 of `a-z`, `0-9` and `-`, not starting or ending with `-`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Handle(String);

impl Handle {
    pub fn parse(field: &str, raw: &str) -> Result<Handle, FieldError> {
        let s = raw.trim();
        let ok = (3..=30).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if ok {
            Ok(Handle(s.to_owned()))
        } else {
            Err(FieldError::new(
                field,
                "must be 3-30 characters of a-z, 0-9 and -, not starting or ending with -",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A password as typed: 12 to 128 characters (counted as Unicode scalar values).
pub struct Password(String);

impl Password {
    pub const MIN: usize = 12;
    pub const MAX: usize = 128;

    pub fn parse(field: &str, raw: String) -> Result<Password, FieldError> {
        let n = raw.chars().count();
        if n < Self::MIN {
            return Err(FieldError::new(field, "must be at least 12 characters"));
        }
        if n > Self::MAX {
            return Err(FieldError::new(field, "must be at most 128 characters"));
        }
        Ok(Password(raw))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(REDACTED)")
    }
}

/// Free text with a length bound and no control characters (tab and newline aside),
/// trimmed. The bound and the control characters are judged on the text as sent, so that
/// they mean what the API document's `maxLength` and `pattern` say; the minimum counts
/// what is left after trimming (blank is empty).
pub fn bounded_text(
    field: &str,
    raw: &str,
    (min, max): (usize, usize),
) -> Result<String, FieldError> {
    if raw
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    if raw.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    let s = raw.trim();
    if s.chars().count() < min {
        return Err(FieldError::new(
            field,
            if min <= 1 {
                "must not be empty".to_owned()
            } else {
                format!("must be at least {min} characters")
            },
        ));
    }
    Ok(s.to_owned())
}

/// Collects field errors across several parses and turns them into one 422.
#[derive(Default)]
pub struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors.push(e);
                None
            }
        }
    }

    /// Checks a field the client may leave out: absent stays absent, unchecked.
    pub fn check_given<T>(
        &mut self,
        value: Option<&str>,
        rule: impl FnOnce(&str) -> Result<T, FieldError>,
    ) -> Option<T> {
        value.and_then(|v| self.check(rule(v)))
    }

    /// Checks a field an edit may leave out: absent keeps `current`.
    pub fn check_or_keep<T: Clone>(
        &mut self,
        value: Option<&str>,
        rule: impl FnOnce(&str) -> Result<T, FieldError>,
        current: &T,
    ) -> Option<T> {
        match value {
            Some(v) => self.check(rule(v)),
            None => Some(current.clone()),
        }
    }

    pub fn push(&mut self, error: FieldError) {
        self.errors.push(error);
    }

    /// `Ok` when nothing failed; the caller then unwraps its `Option`s with `expect`-free
    /// pattern matching.
    pub fn finish(self) -> Result<(), crate::AppError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(crate::AppError::Validation(self.errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_for_uniqueness() {
        let e = Email::parse("email", "  Ada.Lovelace@Example.COM ").unwrap();
        assert_eq!(e.display, "Ada.Lovelace@Example.COM");
        assert_eq!(e.normalized, "ada.lovelace@example.com");
        for bad in [
            "",
            "ada",
            "ada@",
            "@x.io",
            "ada@localhost",
            "a b@x.io",
            "ada@x..io",
            "ada@.x.io",
        ] {
            assert!(Email::parse("email", bad).is_err(), "{bad}");
        }
        assert!(Email::parse("email", &format!("{}@x.io", "a".repeat(300))).is_err());
        assert!(Email::parse("email", "jürgen@bücher.de").is_ok());
    }

    #[test]
    fn handles_follow_the_rules() {
        for good in ["ada", "ada-lovelace", "a1b2c3", &"x".repeat(30)] {
            assert!(Handle::parse("handle", good).is_ok(), "{good}");
        }
        for bad in [
            "ab",
            "Ada",
            "ada_l",
            "-ada",
            "ada-",
            "adà",
            &"x".repeat(31),
            "",
        ] {
            assert!(Handle::parse("handle", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_are_12_to_128_characters() {
        assert!(Password::parse("password", "short".into()).is_err());
        assert!(Password::parse("password", "x".repeat(12)).is_ok());
        assert!(Password::parse("password", "é".repeat(128)).is_ok());
        assert!(Password::parse("password", "x".repeat(129)).is_err());
        let p = Password::parse("password", "correct horse battery".into()).unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }

    #[test]
    fn text_is_trimmed_bounded_and_free_of_control_characters() {
        assert_eq!(bounded_text("f", "  hi  ", (1, 10)).unwrap(), "hi");
        assert!(bounded_text("f", "   ", (1, 10)).is_err());
        assert!(bounded_text("f", "abcdefghijk", (1, 10)).is_err());
        assert!(bounded_text("f", "a\u{0}b", (1, 10)).is_err());
        assert!(bounded_text("f", "名前🦀", (1, 3)).is_ok());
        // As sent: the surrounding blanks count towards the bound, and a control
        // character is refused even where trimming would have removed it.
        assert!(bounded_text("f", " abcdefghij ", (1, 10)).is_err());
        assert!(bounded_text("f", "hi\r", (1, 10)).is_err());
    }
}
