//! Sessions: sign-in, refresh-token rotation, sign-out, and resolving a bearer credential
//! (a session's JWT or a personal access token) to the user behind it.

use chrono::{DateTime, Duration, Utc};
use nexus_core::{AppError, error::AppResult};
use nexus_db::identity as repo;
use uuid::Uuid;

use super::model::{Client, LoginRequest, RefreshRequest, TokenPair, TokenScope};
use super::rules;
use super::secrets::{self, PAT_PREFIX};
use crate::actor::{AuthUser, Credential};
use crate::safety::OpClass;

use_case_group! {
    /// Sign-in, refresh, sign-out, and resolving a bearer credential:
    /// [`super::Identity::sessions`].
    Sessions
}

fn invalid_credentials() -> AppError {
    AppError::Unauthenticated("the email or password is not right".into())
}

impl Sessions<'_> {
    pub async fn login(&self, input: LoginRequest, client: Client) -> AppResult<TokenPair> {
        self.charge(OpClass::Auth("login")).await?;
        if rules::beyond_any_email(&input.email) || rules::beyond_any_password(&input.password) {
            return Err(invalid_credentials());
        }
        let normalized = input.email.trim().to_lowercase();
        let account_key = format!("acct:{normalized}");
        let ip_key = format!("ip:{}", client.ip);
        let keys = [account_key.as_str(), ip_key.as_str()];
        if let Some(secs) = self.login_throttle.retry_after(&keys, self.clock.now()) {
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
                self.login_throttle.record_failure(&keys, self.clock.now());
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
        let now = self.clock.now();
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
            // Wall-clock time, not `self.clock`: jsonwebtoken checks `exp` against the
            // system time, and clients read `iat`/`exp` with theirs.
            access_token: self.tokens.issue(user_id, session, Utc::now())?,
            refresh_token: refresh,
            token_type: "Bearer".into(),
            expires_in: self.tokens.ttl_secs,
        })
    }

    /// Exchanges a refresh token for a new pair. A token that was already exchanged means
    /// it leaked (or a client misbehaves): the whole session is revoked, so the thief's
    /// and the owner's newest tokens both stop working.
    pub async fn refresh(&self, input: RefreshRequest) -> AppResult<TokenPair> {
        self.charge(OpClass::Write).await?;
        let unauth = || AppError::Unauthenticated("the refresh token is not valid".into());
        if !rules::token_shaped(&input.refresh_token) {
            return Err(unauth());
        }
        let hash = secrets::hash_token(&input.refresh_token);
        let now = self.clock.now();
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
        self.charge(OpClass::Write).await?;
        if !rules::token_shaped(&input.refresh_token) {
            return Ok(());
        }
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        if let Some(found) =
            repo::find_refresh_token(&mut tx, &secrets::hash_token(&input.refresh_token)).await?
        {
            repo::revoke_session(&mut tx, found.session_id, "logout", now).await?;
        }
        tx.commit().await
    }

    /// Resolves a bearer credential to the user behind it, checking on every request that
    /// the account is enabled and the session or token still live.
    pub async fn authenticate(&self, bearer: &str) -> AppResult<AuthUser> {
        let unauth = |why: &str| AppError::Unauthenticated(why.to_owned());
        if bearer.len() > 4096 {
            return Err(unauth("the bearer token is not valid"));
        }
        let now = self.clock.now();
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
                role: t.role,
                id: t.id,
                handle: t.handle,
                verified: t.email_verified_at.is_some(),
                credential: Credential::Token {
                    id: t.token_id,
                    write: TokenScope::of_stored(&t.scope) == TokenScope::Write,
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
            role: s.role,
            id: s.id,
            handle: s.handle,
            verified: s.email_verified_at.is_some(),
            credential: Credential::Session(claims.sid),
        })
    }
}
