//! The identity domain's request and response types, and how stored rows become them.
//!
//! The `#[schema]` bounds repeat the rules of [`super::rules`] as literals (utoipa takes no
//! constants there); a test in `rules` checks that the two agree.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use nexus_core::identity::{Role, Track};
use nexus_db::identity as repo;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

// ---- inputs and outputs ---------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// An address mail can be sent to, at most 254 characters. The pattern is the plain
    /// form every mail system takes; the server accepts some rarer forms too.
    #[schema(
        example = "ada@example.com",
        max_length = 254,
        pattern = r"^[A-Za-z0-9_%+-]{1,32}(\.[A-Za-z0-9_%+-]{1,31})?@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?){1,3}$"
    )]
    pub email: String,
    /// 3-30 characters of a-z, 0-9 and -.
    #[schema(
        example = "ada-lovelace",
        min_length = 3,
        max_length = 30,
        pattern = "^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$"
    )]
    pub handle: String,
    #[schema(
        example = "Ada Lovelace",
        min_length = 1,
        max_length = 80,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
    )]
    pub display_name: String,
    /// 12 to 128 characters.
    #[schema(
        example = "correct horse battery staple",
        min_length = 12,
        max_length = 128
    )]
    pub password: String,
}

/// The answer to a registration, the same whether or not the email was already taken.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    #[schema(example = "accepted")]
    pub status: &'static str,
    #[schema(example = "If the address can be used, a message has been sent to it.")]
    pub message: &'static str,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(example = "ada@example.com", max_length = 254)]
    pub email: String,
    #[schema(example = "correct horse battery staple", max_length = 128)]
    pub password: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenPair {
    /// A JWT for `Authorization: Bearer …`.
    pub access_token: String,
    /// Opaque; exchange it once at `/auth/refresh` for a new pair.
    pub refresh_token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    pub expires_in: u64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// Any string: one this service did not issue is unknown (401 to a refresh; a logout
    /// has nothing to end).
    pub refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The code from the email.
    #[schema(max_length = 256)]
    pub token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    /// Any string: the answer is the same whether or not it is an address with an
    /// account.
    #[schema(example = "ada@example.com")]
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirm {
    #[schema(max_length = 256)]
    pub token: String,
    #[schema(min_length = 12, max_length = 128)]
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    #[schema(max_length = 128)]
    pub current_password: String,
    #[schema(min_length = 12, max_length = 128)]
    pub new_password: String,
}

/// The caller's own account, private fields included.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Me {
    pub id: Uuid,
    pub email: String,
    pub handle: String,
    pub display_name: String,
    pub bio: String,
    pub track: Track,
    pub role: Role,
    pub email_verified: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMe {
    #[schema(
        min_length = 1,
        max_length = 80,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
    )]
    pub display_name: Option<String>,
    #[schema(max_length = 2000, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub bio: Option<String>,
    pub track: Option<Track>,
}

/// Which optional emails the caller gets. Verification and password-reset emails are
/// essential and always sent, whatever these say.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"notifications": true, "digest": false, "learning_digest": true}))]
pub struct EmailPreferences {
    /// An email when someone comments on, or proposes an edit to, one of the caller's notes.
    pub notifications: bool,
    /// The weekly digest of new notes in the topics the caller follows.
    pub digest: bool,
    /// The weekly learning digests: a mentor's per cohort (hand-ins awaiting review,
    /// learners at risk, late work) and a learner's (deadlines ahead, reviews received,
    /// reviews to do, and, while `digest` is on, new notes in followed topics).
    pub learning_digest: bool,
}

/// A change to the email preferences; a field left out (or `null`) keeps its value, as
/// in `PATCH /api/v1/me`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"digest": false}))]
pub struct UpdateEmailPreferences {
    /// Comment and edit-proposal notifications.
    pub notifications: Option<bool>,
    /// The weekly digest.
    pub digest: Option<bool>,
    /// The weekly mentor and learner digests.
    pub learning_digest: Option<bool>,
}

/// What anyone may see of a user.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PublicProfile {
    pub handle: String,
    pub display_name: String,
    pub bio: String,
    pub track: Track,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

/// A user as an admin sees it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AdminUser {
    pub id: Uuid,
    pub email: String,
    pub handle: String,
    pub display_name: String,
    pub track: Track,
    pub role: Role,
    pub email_verified: bool,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Default)]
pub struct AdminUserQuery {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    pub handle_prefix: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminUserPatch {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TokenScope {
    Read,
    Write,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// What the token is for, to recognise it later.
    #[schema(
        example = "CI export script",
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
    )]
    pub name: String,
    pub scope: TokenScope,
    /// Days until it expires; absent means it does not expire.
    #[schema(example = 90, minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<u32>,
}

/// A personal access token as listed (the secret itself is never shown again).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenInfo {
    pub id: Uuid,
    pub name: String,
    /// The first characters of the token, to tell tokens apart.
    #[schema(example = "nxp_Xk3f")]
    pub prefix: String,
    pub scope: TokenScope,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A new personal access token: the only time its secret is shown.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: TokenInfo,
    /// Use as `Authorization: Bearer <token>`. Store it now: it cannot be shown again.
    pub token: String,
}

/// Where a request came from, for throttling.
#[derive(Debug, Clone, Copy)]
pub struct Client {
    pub ip: IpAddr,
}

impl TokenScope {
    /// How the scope is stored.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::Write => "write",
        }
    }

    /// The scope of a stored token; anything but `write` reads only.
    pub fn of_stored(s: &str) -> TokenScope {
        if s == TokenScope::Write.as_str() {
            TokenScope::Write
        } else {
            TokenScope::Read
        }
    }
}

/// The one answer of register and password-reset requests, whatever happened.
pub(super) const ACCEPTED: Accepted = Accepted {
    status: "accepted",
    message: "If the address can be used, a message has been sent to it.",
};

// ---- conversions ----------------------------------------------------------------------

pub(super) fn me_of(u: repo::UserRow) -> Me {
    Me {
        role: u.role,
        track: u.track,
        id: u.id,
        email: u.email,
        handle: u.handle,
        display_name: u.display_name,
        bio: u.bio,
        email_verified: u.email_verified_at.is_some(),
        created_at: u.created_at,
        updated_at: u.updated_at,
    }
}

pub(super) fn public_profile_of(u: repo::UserRow) -> PublicProfile {
    PublicProfile {
        role: u.role,
        track: u.track,
        handle: u.handle,
        display_name: u.display_name,
        bio: u.bio,
        created_at: u.created_at,
    }
}

pub(super) fn admin_view(u: repo::UserRow) -> AdminUser {
    AdminUser {
        role: u.role,
        track: u.track,
        id: u.id,
        email: u.email,
        handle: u.handle,
        display_name: u.display_name,
        email_verified: u.email_verified_at.is_some(),
        disabled: u.disabled_at.is_some(),
        created_at: u.created_at,
    }
}

pub(super) fn token_info(t: repo::PatRow) -> TokenInfo {
    TokenInfo {
        id: t.id,
        name: t.name,
        prefix: t.token_prefix,
        scope: TokenScope::of_stored(&t.scope),
        created_at: t.created_at,
        expires_at: t.expires_at,
        last_used_at: t.last_used_at,
    }
}
