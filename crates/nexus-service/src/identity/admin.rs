//! User administration by an admin: listing users with filters, changing a role, disabling
//! an account.

use nexus_core::identity::Role;
use nexus_core::{AppError, error::AppResult};
use nexus_db::identity as repo;
use uuid::Uuid;

use super::model::{AdminUser, AdminUserPatch, AdminUserQuery, admin_view};
use super::{user_named, user_with_id};
use crate::Services;
use crate::actor::AuthUser;
use crate::page::{Page, PageRequest};
use crate::safety::OpClass;

use_case_group! {
    /// User administration, for admins: [`super::Identity::users`].
    Users
}

impl Users<'_> {
    pub async fn list(&self, actor: &AuthUser, q: AdminUserQuery) -> AppResult<Page<AdminUser>> {
        self.charge(OpClass::Read).await?;
        actor.require_role(Role::Admin)?;
        let want = PageRequest::new(q.limit, q.cursor.as_deref())?;
        let rows = repo::list_users(
            &self.db,
            &repo::UserFilter {
                role: q.role.map(Role::as_str),
                disabled: q.disabled,
                handle_prefix: q.handle_prefix.as_deref(),
                after: want.after,
                limit: want.fetch(),
            },
        )
        .await?;
        Ok(want.page(rows, |r| r.id, admin_view))
    }

    pub async fn update(
        &self,
        actor: &AuthUser,
        handle: &str,
        patch: AdminUserPatch,
    ) -> AppResult<AdminUser> {
        self.charge(OpClass::Write).await?;
        actor.require_role(Role::Admin)?;
        actor.require_write()?;
        let user = user_named(&self.db, handle).await?;
        if user.id == actor.id
            && (patch.disabled == Some(true) || patch.role.is_some_and(|r| r != Role::Admin))
        {
            return Err(AppError::Conflict(
                "admins cannot disable or demote themselves; ask another admin".into(),
            ));
        }
        set_role_and_disabled(self, user.id, patch.role, patch.disabled).await?;
        Ok(admin_view(user_with_id(&self.db, user.id).await?))
    }
}

/// Changes what is given; disabling also ends every session of the account.
pub(super) async fn set_role_and_disabled(
    services: &Services,
    user: Uuid,
    role: Option<Role>,
    disabled: Option<bool>,
) -> AppResult<()> {
    let now = services.clock.now();
    let mut tx = services.db.begin().await?;
    repo::set_role_and_disabled(&mut tx, user, role.map(Role::as_str), disabled, now).await?;
    if disabled == Some(true) {
        repo::revoke_other_sessions(&mut tx, user, None, "account disabled", now).await?;
    }
    tx.commit().await
}
