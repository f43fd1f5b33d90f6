//! Accounts and access: registration, email verification, sign-in, refresh-token rotation,
//! sign-out, password change and reset, profiles, personal access tokens, and admin user
//! management.
//!
//! Answers never reveal whether an email has an account: register, login and reset answer
//! the same, and cost about the same (an argon2 verification runs whether or not the
//! account exists).

pub mod events;

use std::net::IpAddr;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use nexus_core::identity::{Checker, Email, Handle, Password, Role, Track, bounded_text};
use nexus_core::{AppError, FieldError, Unique, error::AppResult};
use nexus_db::identity as repo;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::Services;
use crate::actor::{AuthUser, Credential};
use crate::mail::send::{EMAIL_SEND, email_payload};
use crate::mail::{self, templates};
use crate::page::{self, Page};
use crate::secrets::{self, PAT_PREFIX};

// ---- inputs and outputs ---------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    #[schema(example = "ada@example.com", max_length = 254)]
    pub email: String,
    /// 3-30 characters of a-z, 0-9 and -.
    #[schema(
        example = "ada-lovelace",
        min_length = 3,
        max_length = 30,
        pattern = "^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$"
    )]
    pub handle: String,
    #[schema(example = "Ada Lovelace", min_length = 1, max_length = 80)]
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
    #[schema(max_length = 256)]
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
    #[schema(example = "ada@example.com", max_length = 254)]
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
    #[schema(min_length = 1, max_length = 80)]
    pub display_name: Option<String>,
    #[schema(max_length = 2000)]
    pub bio: Option<String>,
    pub track: Option<Track>,
}

/// Which optional emails the caller gets. Verification and password-reset emails are
/// essential and always sent, whatever these say.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"notifications": true, "digest": false}))]
pub struct EmailPreferences {
    /// An email when someone comments on, or proposes an edit to, one of the caller's notes.
    pub notifications: bool,
    /// The weekly digest of new notes in the topics the caller follows.
    pub digest: bool,
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
    #[schema(example = "CI export script", min_length = 1, max_length = 100)]
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

// ---- conversions ----------------------------------------------------------------------

fn role_of(s: &str) -> AppResult<Role> {
    Role::parse(s)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("unknown role `{s}` in the database")))
}

fn track_of(s: &str) -> Track {
    Track::parse(s).unwrap_or_default()
}

fn me_of(u: repo::UserRow) -> AppResult<Me> {
    Ok(Me {
        role: role_of(&u.role)?,
        track: track_of(&u.track),
        id: u.id,
        email: u.email,
        handle: u.handle,
        display_name: u.display_name,
        bio: u.bio,
        email_verified: u.email_verified_at.is_some(),
        created_at: u.created_at,
        updated_at: u.updated_at,
    })
}

fn admin_view(u: repo::UserRow) -> AppResult<AdminUser> {
    Ok(AdminUser {
        role: role_of(&u.role)?,
        track: track_of(&u.track),
        id: u.id,
        email: u.email,
        handle: u.handle,
        display_name: u.display_name,
        email_verified: u.email_verified_at.is_some(),
        disabled: u.disabled_at.is_some(),
        created_at: u.created_at,
    })
}

fn token_info(t: repo::PatRow) -> TokenInfo {
    TokenInfo {
        id: t.id,
        name: t.name,
        prefix: t.token_prefix,
        scope: if t.scope == "write" {
            TokenScope::Write
        } else {
            TokenScope::Read
        },
        created_at: t.created_at,
        expires_at: t.expires_at,
        last_used_at: t.last_used_at,
    }
}

fn invalid_credentials() -> AppError {
    AppError::Unauthenticated("the email or password is not right".into())
}

const ACCEPTED: Accepted = Accepted {
    status: "accepted",
    message: "If the address can be used, a message has been sent to it.",
};

/// Opaque tokens longer than this are not ours; refusing them early bounds the work.
const MAX_TOKEN_LEN: usize = 256;

fn check_token_shape(token: &str, field: &str) -> AppResult<()> {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Err(AppError::invalid(
            field,
            "is not a token this service issued",
        ));
    }
    Ok(())
}

// ---- use cases ------------------------------------------------------------------------

impl Services {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    /// Creates an account and sends a verification email; if the email is taken, tells its
    /// owner instead. The answer is the same either way.
    pub async fn register(&self, input: RegisterRequest) -> AppResult<Accepted> {
        let mut check = Checker::default();
        let email = check.check(Email::parse("email", &input.email));
        let handle = check.check(Handle::parse("handle", &input.handle));
        let name = check.check(bounded_text("display_name", &input.display_name, 1, 80));
        let password = check.check(Password::parse("password", input.password));
        if let Some(e) = &email
            && !mail::deliverable(&e.display)
        {
            check.push(FieldError::new(
                "email",
                "is not an address mail can be sent to",
            ));
        }
        check.finish()?;
        let (Some(email), Some(handle), Some(name), Some(password)) =
            (email, handle, name, password)
        else {
            return Err(AppError::Internal(anyhow::anyhow!(
                "validated inputs missing"
            )));
        };
        // Hash before looking the email up, so a taken address costs the same time.
        let hash = self.passwords.hash(password.expose()).await?;
        if repo::user_by_email(&self.db, &email.normalized)
            .await?
            .is_some()
        {
            self.send_signup_attempt(&email.display).await;
            return Ok(ACCEPTED);
        }
        let now = self.now();
        let user_id = Uuid::now_v7();
        let mut tx = self.db.begin().await?;
        let inserted = repo::insert_user(
            &mut tx,
            &repo::NewUser {
                id: user_id,
                email: &email.display,
                email_normalized: &email.normalized,
                handle: handle.as_str(),
                display_name: &name,
                role: Role::Learner.as_str(),
                password_hash: &hash,
                verified_at: None,
                now,
            },
        )
        .await;
        match inserted {
            Ok(()) => {}
            Err(AppError::Duplicate(Unique::AccountEmail)) => {
                // A concurrent registration took the address between check and insert.
                drop(tx);
                self.send_signup_attempt(&email.display).await;
                return Ok(ACCEPTED);
            }
            Err(AppError::Duplicate(Unique::AccountHandle)) => {
                return Err(AppError::Conflict(format!(
                    "the handle `{}` is taken",
                    handle.as_str()
                )));
            }
            Err(e) => return Err(e),
        }
        let hours = self.settings.auth.verify_token_ttl_hours;
        let ttl = Duration::hours(i64::try_from(hours).unwrap_or(48));
        let token = issue_email_token(&mut tx, user_id, "verify", now, ttl).await?;
        let link = self.link("verify-email", &token);
        let message = templates::verify(&email.display, &name, &link, &token, hours);
        self.queue_email(&mut tx, message, user_id).await?;
        self.queue
            .emit(
                &mut tx,
                &events::UserRegistered {
                    user: user_id,
                    handle: handle.as_str().to_owned(),
                },
            )
            .await?;
        tx.commit().await?;
        self.queue.wake();
        Ok(ACCEPTED)
    }

    /// Tells an address's owner that someone tried to register with it. A failure to
    /// enqueue is logged, never shown: the answer must not differ for taken addresses.
    async fn send_signup_attempt(&self, to: &str) {
        let message = templates::signup_attempt(to, &self.settings.public_url);
        let payload = email_payload(message, true, None);
        if let Err(e) = self
            .queue
            .enqueue(EMAIL_SEND, &payload, &Default::default())
            .await
        {
            tracing::error!(error = %e, "queueing a sign-up notice failed");
        }
    }

    /// Queues an essential email (verification, reset) in the transaction that made its
    /// code, so the code and the message that carries it exist together or not at all.
    async fn queue_email(
        &self,
        tx: &mut nexus_db::DbTx,
        message: mail::OutgoingEmail,
        user: Uuid,
    ) -> AppResult<()> {
        let payload = email_payload(message, true, Some(user));
        self.queue
            .enqueue_tx(tx, EMAIL_SEND, &payload, &Default::default())
            .await?;
        Ok(())
    }

    pub async fn verify_email(&self, input: TokenRequest) -> AppResult<()> {
        check_token_shape(&input.token, "token")?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let user =
            repo::consume_email_token(&mut tx, &secrets::hash_token(&input.token), "verify", now)
                .await?
                .ok_or_else(|| {
                    AppError::invalid("token", "is not valid, already used or expired")
                })?;
        repo::mark_verified(&mut tx, user, now).await?;
        tx.commit().await
    }

    pub async fn login(&self, input: LoginRequest, client: Client) -> AppResult<TokenPair> {
        if input.email.len() > 254 || input.password.chars().count() > Password::MAX {
            return Err(invalid_credentials());
        }
        let normalized = input.email.trim().to_lowercase();
        let account_key = format!("acct:{normalized}");
        let ip_key = format!("ip:{}", client.ip);
        let keys = [account_key.as_str(), ip_key.as_str()];
        if let Some(secs) = self.login_throttle.retry_after(&keys, Instant::now()) {
            return Err(AppError::RateLimited {
                retry_after_secs: secs,
            });
        }
        let user = repo::user_by_email(&self.db, &normalized).await?;
        let ok = self
            .passwords
            .verify(
                &input.password,
                user.as_ref().map(|u| u.password_hash.as_str()),
            )
            .await?;
        let user = match user {
            Some(u) if ok && u.disabled_at.is_none() => u,
            _ => {
                self.login_throttle.record_failure(&keys, Instant::now());
                return Err(invalid_credentials());
            }
        };
        self.login_throttle.record_success(&account_key);
        let mut tx = self.db.begin().await?;
        let pair = self.start_session(&mut tx, user.id).await?;
        tx.commit().await?;
        Ok(pair)
    }

    async fn start_session(&self, tx: &mut nexus_db::DbTx, user_id: Uuid) -> AppResult<TokenPair> {
        let now = self.now();
        let session = Uuid::now_v7();
        let days = i64::try_from(self.settings.auth.refresh_token_ttl_days).unwrap_or(30);
        repo::insert_session(&mut *tx, session, user_id, now, now + Duration::days(days)).await?;
        self.issue_pair(tx, user_id, session, now).await
    }

    async fn issue_pair(
        &self,
        tx: &mut nexus_db::DbTx,
        user_id: Uuid,
        session: Uuid,
        now: DateTime<Utc>,
    ) -> AppResult<TokenPair> {
        let refresh = secrets::random_token()?;
        repo::insert_refresh_token(tx, &secrets::hash_token(&refresh), session, now).await?;
        Ok(TokenPair {
            access_token: self.tokens.issue(user_id, session, now)?,
            refresh_token: refresh,
            token_type: "Bearer".into(),
            expires_in: self.tokens.ttl_secs,
        })
    }

    /// Exchanges a refresh token for a new pair. A token that was already exchanged means
    /// it leaked (or a client misbehaves): the whole session is revoked, so the thief's
    /// and the owner's newest tokens both stop working.
    pub async fn refresh(&self, input: RefreshRequest) -> AppResult<TokenPair> {
        let unauth = || AppError::Unauthenticated("the refresh token is not valid".into());
        if input.refresh_token.is_empty() || input.refresh_token.len() > MAX_TOKEN_LEN {
            return Err(unauth());
        }
        let hash = secrets::hash_token(&input.refresh_token);
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let Some(found) = repo::find_refresh_token(&mut tx, &hash).await? else {
            return Err(unauth());
        };
        if found.session_revoked_at.is_some() || found.session_expires_at <= now {
            return Err(unauth());
        }
        if found.rotated_at.is_some() || !repo::rotate_refresh_token(&mut tx, &hash, now).await? {
            repo::revoke_session(&mut tx, found.session_id, "refresh token reused", now).await?;
            tx.commit().await?;
            tracing::warn!(session = %found.session_id, "refresh token reuse; session revoked");
            return Err(unauth());
        }
        let user = repo::user_by_id(&self.db, found.user_id).await?;
        if user.is_none_or(|u| u.disabled_at.is_some()) {
            return Err(unauth());
        }
        let pair = self
            .issue_pair(&mut tx, found.user_id, found.session_id, now)
            .await?;
        tx.commit().await?;
        Ok(pair)
    }

    /// Ends the session a refresh token belongs to. Unknown tokens are accepted silently:
    /// logging out twice is not an error.
    pub async fn logout(&self, input: RefreshRequest) -> AppResult<()> {
        if input.refresh_token.is_empty() || input.refresh_token.len() > MAX_TOKEN_LEN {
            return Ok(());
        }
        let now = self.now();
        let mut tx = self.db.begin().await?;
        if let Some(found) =
            repo::find_refresh_token(&mut tx, &secrets::hash_token(&input.refresh_token)).await?
        {
            repo::revoke_session(&mut tx, found.session_id, "logout", now).await?;
        }
        tx.commit().await
    }

    /// Sends a reset link if the account exists; answers the same either way.
    pub async fn request_password_reset(&self, input: ResetRequest) -> AppResult<Accepted> {
        let Ok(email) = Email::parse("email", &input.email) else {
            return Ok(ACCEPTED);
        };
        let Some(user) = repo::user_by_email(&self.db, &email.normalized).await? else {
            return Ok(ACCEPTED);
        };
        if user.disabled_at.is_some() {
            return Ok(ACCEPTED);
        }
        let now = self.now();
        let minutes = self.settings.auth.reset_token_ttl_minutes;
        let mut tx = self.db.begin().await?;
        repo::void_email_tokens(&mut tx, user.id, "reset", now).await?;
        let ttl = Duration::minutes(i64::try_from(minutes).unwrap_or(60));
        let token = issue_email_token(&mut tx, user.id, "reset", now, ttl).await?;
        let link = self.link("reset-password", &token);
        let message = templates::reset(&user.email, &user.display_name, &link, &token, minutes);
        self.queue_email(&mut tx, message, user.id).await?;
        tx.commit().await?;
        self.queue.wake();
        Ok(ACCEPTED)
    }

    /// Sets a new password with a reset token (once), and signs out every session.
    pub async fn confirm_password_reset(&self, input: ResetConfirm) -> AppResult<()> {
        check_token_shape(&input.token, "token")?;
        let password = Password::parse("password", input.password)
            .map_err(|e| AppError::Validation(vec![e]))?;
        let hash = self.passwords.hash(password.expose()).await?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let user =
            repo::consume_email_token(&mut tx, &secrets::hash_token(&input.token), "reset", now)
                .await?
                .ok_or_else(|| {
                    AppError::invalid("token", "is not valid, already used or expired")
                })?;
        repo::set_password_hash(&mut tx, user, &hash, now).await?;
        // Whoever could read the mailbox proved ownership; that also verifies the address.
        repo::mark_verified(&mut tx, user, now).await?;
        repo::revoke_other_sessions(&mut tx, user, None, "password reset", now).await?;
        tx.commit().await
    }

    /// Resolves a bearer credential to the user behind it, checking on every request that
    /// the account is enabled and the session or token still live.
    pub async fn authenticate(&self, bearer: &str) -> AppResult<AuthUser> {
        let unauth = |why: &str| AppError::Unauthenticated(why.to_owned());
        if bearer.len() > 4096 {
            return Err(unauth("the bearer token is not valid"));
        }
        let now = self.now();
        if let Some(rest) = bearer.strip_prefix(PAT_PREFIX) {
            if rest.is_empty() {
                return Err(unauth("the bearer token is not valid"));
            }
            let Some(t) = repo::pat_user(&self.db, &secrets::hash_token(bearer)).await? else {
                return Err(unauth("the bearer token is not valid"));
            };
            if t.revoked_at.is_some()
                || t.expires_at.is_some_and(|e| e <= now)
                || t.disabled_at.is_some()
            {
                return Err(unauth("the bearer token is revoked or expired"));
            }
            if let Err(e) = repo::touch_pat(&self.db, t.token_id, now).await {
                tracing::warn!(error = %e, "recording token use failed");
            }
            return Ok(AuthUser {
                role: role_of(&t.role)?,
                id: t.id,
                handle: t.handle,
                verified: t.email_verified_at.is_some(),
                credential: Credential::Token {
                    id: t.token_id,
                    write: t.scope == "write",
                },
            });
        }
        let claims = self.tokens.verify(bearer)?;
        let Some(s) = repo::session_user(&self.db, claims.sid, claims.sub).await? else {
            return Err(unauth("the session has ended"));
        };
        if s.session_revoked_at.is_some() || s.session_expires_at <= now || s.disabled_at.is_some()
        {
            return Err(unauth("the session has ended"));
        }
        Ok(AuthUser {
            role: role_of(&s.role)?,
            id: s.id,
            handle: s.handle,
            verified: s.email_verified_at.is_some(),
            credential: Credential::Session(claims.sid),
        })
    }

    pub async fn me(&self, actor: &AuthUser) -> AppResult<Me> {
        let user = repo::user_by_id(&self.db, actor.id)
            .await?
            .ok_or_else(|| AppError::not_found("no such user"))?;
        me_of(user)
    }

    pub async fn update_me(&self, actor: &AuthUser, input: UpdateMe) -> AppResult<Me> {
        actor.require_write()?;
        let mut check = Checker::default();
        let name = match &input.display_name {
            Some(n) => check.check(bounded_text("display_name", n, 1, 80)),
            None => None,
        };
        let bio = match &input.bio {
            Some(b) => check.check(bounded_text("bio", b, 0, 2000)),
            None => None,
        };
        check.finish()?;
        let mut tx = self.db.begin().await?;
        repo::update_profile(
            &mut tx,
            actor.id,
            &repo::ProfileChange {
                display_name: name.as_deref(),
                bio: bio.as_deref(),
                track: input.track.map(Track::as_str),
            },
            self.now(),
        )
        .await?;
        tx.commit().await?;
        if name.is_some() {
            // Notes show their author's display name.
            self.cache.everything_changed().await;
        }
        self.me(actor).await
    }

    pub async fn email_preferences(&self, actor: &AuthUser) -> AppResult<EmailPreferences> {
        let prefs = repo::email_preferences(&self.db, actor.id)
            .await?
            .ok_or_else(|| AppError::not_found("no such user"))?;
        Ok(EmailPreferences {
            notifications: prefs.email_notifications,
            digest: prefs.email_digest,
        })
    }

    /// Applies the fields given; the handlers of notification and digest jobs read the
    /// stored values when they run, so a change also covers emails already queued.
    pub async fn update_email_preferences(
        &self,
        actor: &AuthUser,
        input: UpdateEmailPreferences,
    ) -> AppResult<EmailPreferences> {
        actor.require_write()?;
        let mut tx = self.db.begin().await?;
        repo::update_email_preferences(
            &mut tx,
            actor.id,
            input.notifications,
            input.digest,
            self.now(),
        )
        .await?;
        tx.commit().await?;
        self.email_preferences(actor).await
    }

    /// Changes the password and signs out every other session.
    pub async fn change_password(&self, actor: &AuthUser, input: ChangePassword) -> AppResult<()> {
        let session = actor.require_session()?;
        let new = Password::parse("new_password", input.new_password)
            .map_err(|e| AppError::Validation(vec![e]))?;
        let user = repo::user_by_id(&self.db, actor.id)
            .await?
            .ok_or_else(|| AppError::not_found("no such user"))?;
        if input.current_password.chars().count() > Password::MAX
            || !self
                .passwords
                .verify(&input.current_password, Some(&user.password_hash))
                .await?
        {
            return Err(AppError::invalid("current_password", "is not right"));
        }
        let hash = self.passwords.hash(new.expose()).await?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        repo::set_password_hash(&mut tx, actor.id, &hash, now).await?;
        repo::revoke_other_sessions(&mut tx, actor.id, Some(session), "password changed", now)
            .await?;
        tx.commit().await
    }

    pub async fn public_profile(&self, handle: &str) -> AppResult<PublicProfile> {
        let user = match Handle::parse("handle", handle) {
            Ok(h) => repo::user_by_handle(&self.db, h.as_str()).await?,
            Err(_) => None,
        };
        let user = user
            .filter(|u| u.disabled_at.is_none())
            .ok_or_else(|| AppError::not_found(format!("no user `{handle}`")))?;
        Ok(PublicProfile {
            role: role_of(&user.role)?,
            track: track_of(&user.track),
            handle: user.handle,
            display_name: user.display_name,
            bio: user.bio,
            created_at: user.created_at,
        })
    }

    pub async fn admin_list_users(
        &self,
        actor: &AuthUser,
        q: AdminUserQuery,
    ) -> AppResult<Page<AdminUser>> {
        actor.require_role(Role::Admin)?;
        let limit = page::limit(q.limit)?;
        let after = page::decode_id_cursor(q.cursor.as_deref())?;
        let rows = repo::list_users(
            &self.db,
            &repo::UserFilter {
                role: q.role.map(Role::as_str),
                disabled: q.disabled,
                handle_prefix: q.handle_prefix.as_deref(),
                after,
                limit: limit + 1,
            },
        )
        .await?;
        let more = rows.len() > limit as usize;
        let mut items = Vec::with_capacity(rows.len());
        let mut last = None;
        for row in rows.into_iter().take(limit as usize) {
            last = Some(row.id);
            items.push(admin_view(row)?);
        }
        Ok(Page {
            items,
            next_cursor: if more {
                last.map(page::encode_id_cursor)
            } else {
                None
            },
        })
    }

    pub async fn admin_update_user(
        &self,
        actor: &AuthUser,
        handle: &str,
        patch: AdminUserPatch,
    ) -> AppResult<AdminUser> {
        actor.require_role(Role::Admin)?;
        actor.require_write()?;
        let user = repo::user_by_handle(&self.db, handle)
            .await?
            .ok_or_else(|| AppError::not_found(format!("no user `{handle}`")))?;
        if user.id == actor.id
            && (patch.disabled == Some(true) || patch.role.is_some_and(|r| r != Role::Admin))
        {
            return Err(AppError::Conflict(
                "admins cannot disable or demote themselves; ask another admin".into(),
            ));
        }
        self.set_role_and_disabled(user.id, patch.role, patch.disabled)
            .await?;
        let user = repo::user_by_id(&self.db, user.id)
            .await?
            .ok_or_else(|| AppError::not_found("no such user"))?;
        admin_view(user)
    }

    async fn set_role_and_disabled(
        &self,
        user: Uuid,
        role: Option<Role>,
        disabled: Option<bool>,
    ) -> AppResult<()> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        repo::set_role_and_disabled(&mut tx, user, role.map(Role::as_str), disabled, now).await?;
        if disabled == Some(true) {
            repo::revoke_other_sessions(&mut tx, user, None, "account disabled", now).await?;
        }
        tx.commit().await
    }

    pub async fn create_token(
        &self,
        actor: &AuthUser,
        input: CreateToken,
    ) -> AppResult<CreatedToken> {
        actor.require_session()?;
        let mut check = Checker::default();
        let name = check.check(bounded_text("name", &input.name, 1, 100));
        if let Some(days) = input.expires_in_days
            && !(1..=3650).contains(&days)
        {
            check.push(FieldError::new(
                "expires_in_days",
                "must be between 1 and 3650",
            ));
        }
        check.finish()?;
        let Some(name) = name else {
            return Err(AppError::Internal(anyhow::anyhow!(
                "validated name missing"
            )));
        };
        let now = self.now();
        let token = format!("{PAT_PREFIX}{}", secrets::random_token()?);
        let prefix: String = token.chars().take(PAT_PREFIX.len() + 4).collect();
        let id = Uuid::now_v7();
        let expires_at = input
            .expires_in_days
            .map(|d| now + Duration::days(i64::from(d)));
        let scope = match input.scope {
            TokenScope::Read => "read",
            TokenScope::Write => "write",
        };
        let mut tx = self.db.begin().await?;
        repo::insert_pat(
            &mut tx,
            &repo::NewPat {
                id,
                user_id: actor.id,
                name: &name,
                token_hash: &secrets::hash_token(&token),
                token_prefix: &prefix,
                scope,
                now,
                expires_at,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(CreatedToken {
            info: TokenInfo {
                id,
                name,
                prefix,
                scope: input.scope,
                created_at: now,
                expires_at,
                last_used_at: None,
            },
            token,
        })
    }

    pub async fn list_tokens(&self, actor: &AuthUser) -> AppResult<Vec<TokenInfo>> {
        Ok(repo::list_pats(&self.db, actor.id)
            .await?
            .into_iter()
            .map(token_info)
            .collect())
    }

    /// Revokes one of the caller's tokens; someone else's token is "not found".
    pub async fn revoke_token(&self, actor: &AuthUser, id: Uuid) -> AppResult<()> {
        actor.require_write()?;
        let mut tx = self.db.begin().await?;
        let done = repo::revoke_pat(&mut tx, id, actor.id, self.now()).await?;
        tx.commit().await?;
        if done {
            Ok(())
        } else {
            Err(AppError::not_found("no such token"))
        }
    }

    // ---- operator commands (CLI), no actor: the operator is trusted ------------------

    /// Creates a verified account with a role, for `nexus user create`.
    pub async fn create_user_as_operator(
        &self,
        email: &str,
        handle: &str,
        display_name: Option<&str>,
        password: String,
        role: Role,
    ) -> AppResult<Uuid> {
        let mut check = Checker::default();
        let email = check.check(Email::parse("email", email));
        let handle = check.check(Handle::parse("handle", handle));
        let name = check.check(bounded_text(
            "display_name",
            display_name.unwrap_or(handle_or(&handle)),
            1,
            80,
        ));
        let password = check.check(Password::parse("password", password));
        check.finish()?;
        let (Some(email), Some(handle), Some(name), Some(password)) =
            (email, handle, name, password)
        else {
            return Err(AppError::Internal(anyhow::anyhow!(
                "validated inputs missing"
            )));
        };
        let hash = self.passwords.hash(password.expose()).await?;
        let now = self.now();
        let id = Uuid::now_v7();
        let mut tx = self.db.begin().await?;
        repo::insert_user(
            &mut tx,
            &repo::NewUser {
                id,
                email: &email.display,
                email_normalized: &email.normalized,
                handle: handle.as_str(),
                display_name: &name,
                role: role.as_str(),
                password_hash: &hash,
                verified_at: Some(now),
                now,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn set_role_as_operator(&self, handle: &str, role: Role) -> AppResult<()> {
        let user = repo::user_by_handle(&self.db, handle)
            .await?
            .ok_or_else(|| AppError::not_found(format!("no user `{handle}`")))?;
        self.set_role_and_disabled(user.id, Some(role), None).await
    }

    pub async fn set_disabled_as_operator(&self, handle: &str, disabled: bool) -> AppResult<()> {
        let user = repo::user_by_handle(&self.db, handle)
            .await?
            .ok_or_else(|| AppError::not_found(format!("no user `{handle}`")))?;
        self.set_role_and_disabled(user.id, None, Some(disabled))
            .await
    }
}

/// A single-use code for an email link: 256 random bits, stored hashed.
async fn issue_email_token(
    tx: &mut nexus_db::DbTx,
    user: Uuid,
    purpose: &str,
    now: DateTime<Utc>,
    ttl: Duration,
) -> AppResult<String> {
    let token = secrets::random_token()?;
    repo::insert_email_token(
        tx,
        &secrets::hash_token(&token),
        user,
        purpose,
        now,
        now + ttl,
    )
    .await?;
    Ok(token)
}

impl Services {
    /// A link into the web front end carrying a code, for emails.
    fn link(&self, page: &str, token: &str) -> String {
        format!(
            "{}/{page}?token={token}",
            self.settings.public_url.trim_end_matches('/')
        )
    }
}

fn handle_or(handle: &Option<Handle>) -> &str {
    handle.as_ref().map_or("user", Handle::as_str)
}
