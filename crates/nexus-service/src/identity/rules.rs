//! The identity domain's validation rules, each written once: every use case that takes a
//! display name, a bio, a new account, a token name or an opaque code checks it here.
//!
//! The email, handle and password rules themselves are the newtypes of
//! [`nexus_core::identity`]; this file says which of them a use case applies, and adds the
//! bounds that belong to the service (free text, tokens).

use nexus_core::identity::{Checker, Email, Handle, Password, bounded_text};
use nexus_core::{AppError, FieldError, error::AppResult};

use crate::mail;

/// A display name: 1 to 80 characters.
pub const DISPLAY_NAME_LEN: (usize, usize) = (1, 80);
/// A bio: up to 2000 characters.
pub const BIO_LEN: (usize, usize) = (0, 2000);
/// A personal access token's name: 1 to 100 characters.
pub const TOKEN_NAME_LEN: (usize, usize) = (1, 100);
/// How many days a personal access token may live, when it expires at all.
pub const TOKEN_DAYS: std::ops::RangeInclusive<u32> = 1..=3650;
/// Opaque tokens longer than this are not ours; refusing them early bounds the work.
pub const MAX_TOKEN_LEN: usize = 256;

pub fn display_name(raw: &str) -> Result<String, FieldError> {
    bounded_text("display_name", raw, DISPLAY_NAME_LEN)
}

pub fn bio(raw: &str) -> Result<String, FieldError> {
    bounded_text("bio", raw, BIO_LEN)
}

pub fn token_name(raw: &str) -> Result<String, FieldError> {
    bounded_text("name", raw, TOKEN_NAME_LEN)
}

/// `expires_in_days`: absent (never expires) or within [`TOKEN_DAYS`].
pub fn token_days(days: Option<u32>) -> Result<Option<u32>, FieldError> {
    match days {
        Some(d) if !TOKEN_DAYS.contains(&d) => Err(FieldError::new(
            "expires_in_days",
            format!(
                "must be between {} and {}",
                TOKEN_DAYS.start(),
                TOKEN_DAYS.end()
            ),
        )),
        _ => Ok(days),
    }
}

/// Whether `token` could be an opaque token (refresh, email code) this service issued.
pub fn token_shaped(token: &str) -> bool {
    !token.is_empty() && token.len() <= MAX_TOKEN_LEN
}

/// [`token_shaped`] as a 422 on `field`.
pub fn check_token_shape(token: &str, field: &str) -> AppResult<()> {
    if token_shaped(token) {
        Ok(())
    } else {
        Err(AppError::invalid(
            field,
            "is not a token this service issued",
        ))
    }
}

/// Longer than any password can be: refused before hashing, which would cost CPU for an
/// answer known in advance.
pub fn beyond_any_password(raw: &str) -> bool {
    raw.chars().count() > Password::MAX
}

/// Longer than any email can be, before trimming.
pub fn beyond_any_email(raw: &str) -> bool {
    raw.len() > Email::MAX
}

/// A new account's fields, each parsed by its rule.
#[derive(Debug)]
pub struct NewAccount {
    pub email: Email,
    pub handle: Handle,
    pub display_name: String,
    pub password: Password,
}

impl NewAccount {
    /// A sign-up's fields; the address will be written to, so it must be one mail can be
    /// sent to.
    pub fn signup(
        email: &str,
        handle: &str,
        display_name: &str,
        password: String,
    ) -> AppResult<NewAccount> {
        Self::parse(email, handle, Some(display_name), password, true)
    }

    /// An operator's account (`nexus user create`): verified at once and never mailed to
    /// on creation; without a display name the handle stands in.
    pub fn by_operator(
        email: &str,
        handle: &str,
        display_name: Option<&str>,
        password: String,
    ) -> AppResult<NewAccount> {
        Self::parse(email, handle, display_name, password, false)
    }

    /// Every bad field is reported in one 422, in field order.
    fn parse(
        email: &str,
        handle: &str,
        display_name: Option<&str>,
        password: String,
        mailed: bool,
    ) -> AppResult<NewAccount> {
        let mut check = Checker::default();
        let email = check.check(Email::parse("email", email));
        let handle = check.check(Handle::parse("handle", handle));
        let name = display_name.unwrap_or(handle.as_ref().map_or("user", Handle::as_str));
        let name = check.check(self::display_name(name));
        let password = check.check(Password::parse("password", password));
        if mailed
            && let Some(e) = &email
            && !mail::deliverable(&e.display)
        {
            check.push(FieldError::new(
                "email",
                "is not an address mail can be sent to",
            ));
        }
        check.finish()?;
        let (Some(email), Some(handle), Some(display_name), Some(password)) =
            (email, handle, name, password)
        else {
            return Err(AppError::Internal(anyhow::anyhow!(
                "validated inputs missing"
            )));
        };
        Ok(NewAccount {
            email,
            handle,
            display_name,
            password,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use utoipa::PartialSchema;

    use super::*;
    use crate::identity::{ChangePassword, CreateToken, RegisterRequest, ResetConfirm, UpdateMe};

    fn fields(e: AppError) -> Vec<String> {
        match e {
            AppError::Validation(fields) => fields.into_iter().map(|f| f.field).collect(),
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    #[test]
    fn a_new_account_reports_every_bad_field_in_order() {
        let err = NewAccount::signup("nope", "-x-", "", "short".into()).unwrap_err();
        assert_eq!(fields(err), ["email", "handle", "display_name", "password"]);
    }

    #[test]
    fn the_operator_may_leave_out_the_display_name() {
        let account =
            NewAccount::by_operator(" ada@example.com ", "ada", None, "x".repeat(12)).unwrap();
        assert_eq!(account.display_name, "ada");
        assert_eq!(account.email.normalized, "ada@example.com");
        let err =
            NewAccount::by_operator("ada@example.com", "a", None, "x".repeat(12)).unwrap_err();
        assert_eq!(fields(err), ["handle"]);
    }

    #[test]
    fn bounds_hold_at_their_edges() {
        assert!(display_name(&"n".repeat(80)).is_ok());
        assert!(display_name(&"n".repeat(81)).is_err());
        assert!(display_name("  ").is_err());
        assert_eq!(bio("").unwrap(), "");
        assert!(bio(&"b".repeat(2001)).is_err());
        assert!(token_name(&"t".repeat(101)).is_err());
        assert_eq!(token_days(None).unwrap(), None);
        assert!(token_days(Some(0)).is_err());
        assert_eq!(token_days(Some(3650)).unwrap(), Some(3650));
        assert!(!token_shaped(""));
        assert!(token_shaped(&"t".repeat(MAX_TOKEN_LEN)));
        assert!(!token_shaped(&"t".repeat(MAX_TOKEN_LEN + 1)));
        assert!(beyond_any_password(&"p".repeat(Password::MAX + 1)));
        assert!(!beyond_any_password(&"p".repeat(Password::MAX)));
    }

    /// `(minLength, maxLength)` of one property of a request type's OpenAPI schema.
    fn schema_bounds<T: PartialSchema>(property: &str) -> (Option<u64>, Option<u64>) {
        let schema = serde_json::to_value(T::schema()).unwrap();
        let p: &Value = &schema["properties"][property];
        assert!(p.is_object(), "no property `{property}` in {schema}");
        (p["minLength"].as_u64(), p["maxLength"].as_u64())
    }

    fn bounds(b: (usize, usize)) -> (Option<u64>, Option<u64>) {
        (Some(b.0 as u64), Some(b.1 as u64))
    }

    #[test]
    fn the_published_schemas_state_the_same_bounds_as_the_rules() {
        let password = bounds((Password::MIN, Password::MAX));
        assert_eq!(
            schema_bounds::<RegisterRequest>("display_name"),
            bounds(DISPLAY_NAME_LEN)
        );
        assert_eq!(
            schema_bounds::<UpdateMe>("display_name"),
            bounds(DISPLAY_NAME_LEN)
        );
        assert_eq!(
            schema_bounds::<UpdateMe>("bio"),
            (None, Some(BIO_LEN.1 as u64))
        );
        assert_eq!(schema_bounds::<CreateToken>("name"), bounds(TOKEN_NAME_LEN));
        assert_eq!(schema_bounds::<RegisterRequest>("password"), password);
        assert_eq!(schema_bounds::<ResetConfirm>("password"), password);
        assert_eq!(schema_bounds::<ChangePassword>("new_password"), password);
        assert_eq!(
            schema_bounds::<RegisterRequest>("email"),
            (None, Some(Email::MAX as u64))
        );
        assert_eq!(
            schema_bounds::<ResetConfirm>("token"),
            (None, Some(MAX_TOKEN_LEN as u64))
        );
        let days = serde_json::to_value(CreateToken::schema()).unwrap();
        let days = &days["properties"]["expires_in_days"];
        assert_eq!(
            days["minimum"].as_u64(),
            Some(u64::from(*TOKEN_DAYS.start()))
        );
        assert_eq!(days["maximum"].as_u64(), Some(u64::from(*TOKEN_DAYS.end())));
    }
}
