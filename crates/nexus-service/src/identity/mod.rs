//! Accounts and access: registration, email verification, sign-in, refresh-token rotation,
//! sign-out, password change and reset, profiles, personal access tokens, and admin user
//! management.
//!
//! Answers never reveal whether an email has an account: register, login and reset answer
//! the same, and cost about the same (an argon2 verification runs whether or not the
//! account exists).
//!
//! # Layout
//! Callers reach the domain through its facade, [`Identity`] (from
//! [`Services::identity`]), one group of use cases per accessor:
//! - [`accounts`] ([`Identity::accounts`]): register, verify an email, reset or change a
//!   password, the caller's own account (`me`, profile, email preferences), public profiles.
//! - [`sessions`] ([`Identity::sessions`]): login, refresh, logout, and `authenticate` (a
//!   bearer credential to the user behind it).
//! - [`tokens`] ([`Identity::tokens`]): personal access tokens.
//! - [`admin`] ([`Identity::users`]): user administration by an admin.
//! - [`operator`] ([`Identity::operator`]): the `nexus user` commands; no actor, the
//!   operator is trusted.
//!
//! Beside the groups: [`model`] (request and response types, re-exported here), [`rules`]
//! (validation, each rule written once), [`events`] (what the domain emits), and the
//! machinery: [`secrets`] (random tokens, their hashes, JWTs), [`passwords`] (argon2) and
//! [`throttle`] (the login lock-out).
//!
//! A new identity use case goes in the file of its group; a new group is a new file and
//! one accessor on the facade.

pub mod accounts;
pub mod admin;
pub mod events;
pub mod model;
pub mod operator;
pub mod passwords;
pub mod rules;
pub mod secrets;
pub mod sessions;
pub mod throttle;
pub mod tokens;

use nexus_core::{AppError, error::AppResult};
use nexus_db::Db;
use nexus_db::identity as repo;
use uuid::Uuid;

pub use accounts::Accounts;
pub use admin::Users;
pub use model::{
    Accepted, AdminUser, AdminUserPatch, AdminUserQuery, ChangePassword, Client, CreateToken,
    CreatedToken, EmailPreferences, LoginRequest, Me, PublicProfile, RefreshRequest,
    RegisterRequest, ResetConfirm, ResetRequest, TokenInfo, TokenPair, TokenRequest, TokenScope,
    UpdateEmailPreferences, UpdateMe,
};
pub use operator::Operator;
pub use sessions::Sessions;
pub use tokens::Tokens;

use crate::Services;

/// The identity domain's facade: [`Services::identity`] returns it, and each group of use
/// cases hangs off it.
#[derive(Clone, Copy)]
pub struct Identity<'a> {
    services: &'a Services,
}

impl<'a> Identity<'a> {
    pub(crate) fn new(services: &'a Services) -> Self {
        Identity { services }
    }

    pub fn services(&self) -> &'a Services {
        self.services
    }

    /// Registration, email verification, passwords, the caller's own account and public
    /// profiles.
    pub fn accounts(&self) -> Accounts<'a> {
        Accounts(self.services)
    }

    /// Sign-in, refresh, sign-out, and resolving a bearer credential.
    pub fn sessions(&self) -> Sessions<'a> {
        Sessions(self.services)
    }

    /// The caller's personal access tokens.
    pub fn tokens(&self) -> Tokens<'a> {
        Tokens(self.services)
    }

    /// User administration, for admins.
    pub fn users(&self) -> Users<'a> {
        Users(self.services)
    }

    /// The operator's commands (`nexus user …`), with no actor.
    pub fn operator(&self) -> Operator<'a> {
        Operator(self.services)
    }
}

// ---- what the groups share ------------------------------------------------------------

fn no_such_user() -> AppError {
    AppError::not_found("no such user")
}

fn no_user_named(handle: &str) -> AppError {
    AppError::not_found(format!("no user `{handle}`"))
}

/// The user with this id; 404 when there is none.
async fn user_with_id(db: &Db, id: Uuid) -> AppResult<repo::UserRow> {
    repo::user_by_id(db, id).await?.ok_or_else(no_such_user)
}

/// The user with this handle, as given; 404 when there is none.
async fn user_named(db: &Db, handle: &str) -> AppResult<repo::UserRow> {
    repo::user_by_handle(db, handle)
        .await?
        .ok_or_else(|| no_user_named(handle))
}
