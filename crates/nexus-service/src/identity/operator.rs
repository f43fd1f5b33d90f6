//! Operator commands (the `nexus user` CLI), with no actor: the operator is trusted.

use nexus_core::error::AppResult;
use nexus_core::identity::Role;
use nexus_db::identity as repo;
use uuid::Uuid;

use super::admin::set_role_and_disabled;
use super::rules::NewAccount;
use super::user_named;

use_case_group! {
    /// The operator's commands: [`super::Identity::operator`].
    Operator
}

impl Operator<'_> {
    /// Creates a verified account with a role, for `nexus user create`.
    pub async fn create_user(
        &self,
        email: &str,
        handle: &str,
        display_name: Option<&str>,
        password: String,
        role: Role,
    ) -> AppResult<Uuid> {
        let account = NewAccount::by_operator(email, handle, display_name, password)?;
        let hash = self.passwords.hash(account.password.expose()).await?;
        let now = self.clock.now();
        let id = Uuid::now_v7();
        let mut tx = self.db.begin().await?;
        repo::insert_user(
            &mut tx,
            &repo::NewUser {
                id,
                email: &account.email.display,
                email_normalized: &account.email.normalized,
                handle: account.handle.as_str(),
                display_name: &account.display_name,
                role,
                password_hash: &hash,
                verified_at: Some(now),
                now,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn set_role(&self, handle: &str, role: Role) -> AppResult<()> {
        let user = user_named(&self.db, handle).await?;
        set_role_and_disabled(self, user.id, Some(role), None).await
    }

    pub async fn set_disabled(&self, handle: &str, disabled: bool) -> AppResult<()> {
        let user = user_named(&self.db, handle).await?;
        set_role_and_disabled(self, user.id, None, Some(disabled)).await
    }
}
