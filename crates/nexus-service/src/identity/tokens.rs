//! Personal access tokens: long-lived bearer credentials for scripts, made from a signed-in
//! session, listed without their secrets, revoked by their owner.

use chrono::Duration;
use nexus_core::identity::Checker;
use nexus_core::{AppError, error::AppResult};
use nexus_db::identity as repo;
use uuid::Uuid;

use super::model::{CreateToken, CreatedToken, TokenInfo, token_info};
use super::rules;
use super::secrets::{self, PAT_PREFIX};
use crate::actor::AuthUser;
use crate::safety::OpClass;

use_case_group! {
    /// The caller's personal access tokens: [`super::Identity::tokens`].
    Tokens
}

impl Tokens<'_> {
    pub async fn create(&self, actor: &AuthUser, input: CreateToken) -> AppResult<CreatedToken> {
        self.charge(OpClass::Write).await?;
        // A retry whose first attempt committed answers with the same token: its secret
        // exists nowhere else in the clear.
        if let Some(created) = self.committed_before::<CreatedToken>()? {
            return Ok(created);
        }
        actor.require_session()?;
        let mut check = Checker::default();
        let name = check.check(rules::token_name(&input.name));
        let days = check.check(rules::token_days(input.expires_in_days));
        check.finish()?;
        let (Some(name), Some(days)) = (name, days) else {
            return Err(AppError::Internal(anyhow::anyhow!(
                "validated name missing"
            )));
        };
        let now = self.clock.now();
        let token = format!("{PAT_PREFIX}{}", secrets::random_token()?);
        let prefix: String = token.chars().take(PAT_PREFIX.len() + 4).collect();
        let id = Uuid::now_v7();
        let expires_at = days.map(|d| now + Duration::days(i64::from(d)));
        let mut tx = self.db.begin().await?;
        repo::insert_pat(
            &mut tx,
            &repo::NewPat {
                id,
                user_id: actor.id,
                name: &name,
                token_hash: &secrets::hash_token(&token),
                token_prefix: &prefix,
                scope: input.scope.as_str(),
                now,
                expires_at,
            },
        )
        .await?;
        let created = CreatedToken {
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
        };
        self.commit(tx, created).await
    }

    pub async fn list(&self, actor: &AuthUser) -> AppResult<Vec<TokenInfo>> {
        self.charge(OpClass::Read).await?;
        Ok(repo::list_pats(&self.db, actor.id)
            .await?
            .into_iter()
            .map(token_info)
            .collect())
    }

    /// Revokes one of the caller's tokens; someone else's token is "not found".
    pub async fn revoke(&self, actor: &AuthUser, id: Uuid) -> AppResult<()> {
        self.charge(OpClass::Write).await?;
        actor.require_write()?;
        if repo::revoke_pat(&self.db, id, actor.id, self.clock.now()).await? {
            Ok(())
        } else {
            Err(AppError::not_found("no such token"))
        }
    }
}
