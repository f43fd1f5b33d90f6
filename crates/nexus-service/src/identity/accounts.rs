//! Accounts: registration, email verification, password reset and change, the caller's own
//! account (`me`, profile, email preferences), and public profiles.

use chrono::{DateTime, Duration, Utc};
use nexus_core::identity::{Checker, Email, Handle, Password, Role};
use nexus_core::{AppError, Unique, error::AppResult};
use nexus_db::identity as repo;
use uuid::Uuid;

use super::model::{
    ACCEPTED, Accepted, ChangePassword, EmailPreferences, Me, PublicProfile, RegisterRequest,
    ResetConfirm, ResetRequest, TokenRequest, UpdateEmailPreferences, UpdateMe, me_of,
    public_profile_of,
};
use super::rules::{self, NewAccount};
use super::{events, no_such_user, no_user_named, secrets, user_with_id};
use crate::actor::AuthUser;
use crate::mail::send::{EMAIL_SEND, email_payload};
use crate::mail::{self, templates};
use crate::safety::OpClass;

use_case_group! {
    /// Registration, email verification, passwords, the caller's own account and public
    /// profiles: [`super::Identity::accounts`].
    Accounts
}

impl Accounts<'_> {
    /// Creates an account and sends a verification email; if the email is taken, tells its
    /// owner instead. The answer is the same either way.
    pub async fn register(&self, input: RegisterRequest) -> AppResult<Accepted> {
        self.charge(OpClass::Auth("register")).await?;
        let NewAccount {
            email,
            handle,
            display_name: name,
            password,
        } = NewAccount::signup(
            &input.email,
            &input.handle,
            &input.display_name,
            input.password,
        )?;
        // Hash before looking the email up, so a taken address costs the same time.
        let hash = self.passwords.hash(password.expose()).await?;
        if repo::user_by_email(&self.db, &email.normalized)
            .await?
            .is_some()
        {
            self.send_signup_attempt(&email.display).await;
            return Ok(ACCEPTED);
        }
        let now = self.clock.now();
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
                role: Role::Learner,
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
                    handle: handle.into_inner(),
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

    /// A link into the web front end carrying a code, for emails.
    fn link(&self, page: &str, token: &str) -> String {
        format!(
            "{}/{page}?token={token}",
            self.settings.public_url.trim_end_matches('/')
        )
    }

    pub async fn verify_email(&self, input: TokenRequest) -> AppResult<()> {
        self.charge(OpClass::Write).await?;
        rules::check_token_shape(&input.token, "token")?;
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        let user = consume_email_token(&mut tx, &input.token, "verify", now).await?;
        repo::mark_verified(&mut tx, user, now).await?;
        tx.commit().await
    }

    /// Sends a reset link if the account exists; answers the same either way.
    pub async fn request_password_reset(&self, input: ResetRequest) -> AppResult<Accepted> {
        self.charge(OpClass::Auth("password-reset")).await?;
        let Ok(email) = Email::parse("email", &input.email) else {
            return Ok(ACCEPTED);
        };
        let Some(user) = repo::user_by_email(&self.db, &email.normalized).await? else {
            return Ok(ACCEPTED);
        };
        if user.disabled_at.is_some() {
            return Ok(ACCEPTED);
        }
        let now = self.clock.now();
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
        self.charge(OpClass::Auth("password-reset-confirm")).await?;
        rules::check_token_shape(&input.token, "token")?;
        let password = Password::parse("password", input.password)
            .map_err(|e| AppError::Validation(vec![e]))?;
        let hash = self.passwords.hash(password.expose()).await?;
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        let user = consume_email_token(&mut tx, &input.token, "reset", now).await?;
        repo::set_password_hash(&mut tx, user, &hash, now).await?;
        // Whoever could read the mailbox proved ownership; that also verifies the address.
        repo::mark_verified(&mut tx, user, now).await?;
        repo::revoke_other_sessions(&mut tx, user, None, "password reset", now).await?;
        tx.commit().await
    }

    /// Changes the password and signs out every other session.
    pub async fn change_password(&self, actor: &AuthUser, input: ChangePassword) -> AppResult<()> {
        self.charge(OpClass::Write).await?;
        let session = actor.require_session()?;
        let new = Password::parse("new_password", input.new_password)
            .map_err(|e| AppError::Validation(vec![e]))?;
        let user = user_with_id(&self.db, actor.id).await?;
        if rules::beyond_any_password(&input.current_password)
            || !self
                .passwords
                .verify(&input.current_password, Some(&user.password_hash))
                .await?
        {
            return Err(AppError::invalid("current_password", "is not right"));
        }
        let hash = self.passwords.hash(new.expose()).await?;
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        repo::set_password_hash(&mut tx, actor.id, &hash, now).await?;
        repo::revoke_other_sessions(&mut tx, actor.id, Some(session), "password changed", now)
            .await?;
        tx.commit().await
    }

    pub async fn me(&self, actor: &AuthUser) -> AppResult<Me> {
        self.charge(OpClass::Read).await?;
        Ok(me_of(user_with_id(&self.db, actor.id).await?))
    }

    pub async fn update_me(&self, actor: &AuthUser, input: UpdateMe) -> AppResult<Me> {
        self.charge(OpClass::Write).await?;
        actor.require_write()?;
        let mut check = Checker::default();
        let name = check.check_given(input.display_name.as_deref(), rules::display_name);
        let bio = check.check_given(input.bio.as_deref(), rules::bio);
        check.finish()?;
        repo::update_profile(
            &self.db,
            actor.id,
            &repo::ProfileChange {
                display_name: name.as_deref(),
                bio: bio.as_deref(),
                track: input.track,
            },
            self.clock.now(),
        )
        .await?;
        if name.is_some() {
            // Notes show their author's display name.
            self.cache.everything_changed().await;
        }
        self.me(actor).await
    }

    pub async fn email_preferences(&self, actor: &AuthUser) -> AppResult<EmailPreferences> {
        self.charge(OpClass::Read).await?;
        let prefs = repo::email_preferences(&self.db, actor.id)
            .await?
            .ok_or_else(no_such_user)?;
        Ok(EmailPreferences {
            notifications: prefs.email_notifications,
            digest: prefs.email_digest,
            learning_digest: prefs.email_learning_digest,
        })
    }

    /// Applies the fields given; the handlers of notification and digest jobs read the
    /// stored values when they run, so a change also covers emails already queued.
    pub async fn update_email_preferences(
        &self,
        actor: &AuthUser,
        input: UpdateEmailPreferences,
    ) -> AppResult<EmailPreferences> {
        self.charge(OpClass::Write).await?;
        actor.require_write()?;
        repo::update_email_preferences(
            &self.db,
            actor.id,
            input.notifications,
            input.digest,
            input.learning_digest,
            self.clock.now(),
        )
        .await?;
        self.email_preferences(actor).await
    }

    pub async fn public_profile(&self, handle: &str) -> AppResult<PublicProfile> {
        self.charge(OpClass::Read).await?;
        let user = match Handle::parse("handle", handle) {
            Ok(h) => repo::user_by_handle(&self.db, h.as_str()).await?,
            Err(_) => None,
        };
        let user = user
            .filter(|u| u.disabled_at.is_none())
            .ok_or_else(|| no_user_named(handle))?;
        Ok(public_profile_of(user))
    }
}

/// Uses the code of an email link for `purpose`, once; the user it was issued to, or 422.
async fn consume_email_token(
    tx: &mut nexus_db::DbTx,
    token: &str,
    purpose: &str,
    now: DateTime<Utc>,
) -> AppResult<Uuid> {
    repo::consume_email_token(tx, &secrets::hash_token(token), purpose, now)
        .await?
        .ok_or_else(|| AppError::invalid("token", "is not valid, already used or expired"))
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
