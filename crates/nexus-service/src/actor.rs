//! Who is asking, and what they may do.

use nexus_core::AppError;
use nexus_core::identity::Role;
use uuid::Uuid;

/// How the caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// An access token from a sign-in; carries full rights.
    Session(Uuid),
    /// A personal access token with its scope.
    Token { id: Uuid, write: bool },
}

/// An authenticated user, as resolved for this request (never cached across requests, so
/// a disabled account or revoked session stops working at once).
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: Uuid,
    pub handle: String,
    pub role: Role,
    pub verified: bool,
    pub credential: Credential,
}

/// The caller of a use case.
#[derive(Debug, Clone)]
pub enum Principal {
    Anonymous,
    User(AuthUser),
}

impl Principal {
    pub fn user(&self) -> Result<&AuthUser, AppError> {
        match self {
            Principal::User(u) => Ok(u),
            Principal::Anonymous => Err(AppError::Unauthenticated(
                "this needs a bearer token".into(),
            )),
        }
    }
}

impl AuthUser {
    /// Changes need a session or a write-scoped token.
    pub fn require_write(&self) -> Result<(), AppError> {
        match self.credential {
            Credential::Token { write: false, .. } => {
                Err(AppError::Forbidden("this token has read scope only".into()))
            }
            _ => Ok(()),
        }
    }

    /// Account security (password, tokens) needs a signed-in session: a leaked script
    /// token must not be able to mint more tokens or change the password.
    pub fn require_session(&self) -> Result<Uuid, AppError> {
        match self.credential {
            Credential::Session(sid) => Ok(sid),
            Credential::Token { .. } => Err(AppError::Forbidden(
                "this needs a signed-in session, not a personal access token".into(),
            )),
        }
    }

    pub fn require_role(&self, role: Role) -> Result<(), AppError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!("this needs the {role} role")))
        }
    }

    /// Publishing and commenting need a verified email address.
    pub fn require_verified(&self) -> Result<(), AppError> {
        if self.verified {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "verify your email address first".into(),
            ))
        }
    }

    pub fn session_id(&self) -> Option<Uuid> {
        match self.credential {
            Credential::Session(sid) => Some(sid),
            Credential::Token { .. } => None,
        }
    }
}
