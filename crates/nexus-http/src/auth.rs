//! Authentication extractors: the bearer credential of a request, resolved through the
//! service layer on every request.
//!
//! - [`Caller`]: anyone; anonymous without an `Authorization` header. A header that is
//!   present but invalid is still a 401, never silently anonymous.
//! - [`Authed`]: a signed-in user or a personal access token; 401 otherwise.
//! - [`ClientIp`]: the peer address, for throttling.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use nexus_core::AppError;
use nexus_service::actor::{AuthUser, Principal};

use crate::AppState;
use crate::problem::ApiError;

pub struct Caller(pub Principal);

pub struct Authed(pub AuthUser);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(Caller(Principal::Anonymous));
        };
        let bad = || {
            ApiError(AppError::Unauthenticated(
                "expected `Authorization: Bearer <token>`".into(),
            ))
        };
        let value = value.to_str().map_err(|_| bad())?;
        let (scheme, token) = value.split_once(' ').ok_or_else(bad)?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(bad());
        }
        let user = state.services.authenticate(token.trim()).await?;
        Ok(Caller(Principal::User(user)))
    }
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Caller(principal) = Caller::from_request_parts(parts, state).await?;
        match principal {
            Principal::User(user) => Ok(Authed(user)),
            Principal::Anonymous => Err(ApiError(AppError::Unauthenticated(
                "this needs `Authorization: Bearer <token>`".into(),
            ))),
        }
    }
}

/// The address of the connected peer. (Trusted-proxy `X-Forwarded-For` handling arrives
/// with the rate-limiting issue.)
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        Ok(ClientIp(ip))
    }
}
