//! Authentication extractors: the bearer credential of a request, resolved through the
//! service layer on every request.
//!
//! - [`Caller`]: anyone; anonymous without an `Authorization` header. A header that is
//!   present but invalid is still a 401, never silently anonymous.
//! - [`Authed`]: a signed-in user or a personal access token; 401 otherwise.
//! - [`ClientIp`]: the client address (trusted-proxy aware), for throttling and limits.
//!
//! The safety middleware ([`crate::safety`]) resolves the principal once, before rate
//! limiting, and leaves it in the request as [`Resolved`]; the extractors reuse it rather
//! than authenticating the same request twice.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use ipnet::IpNet;
use nexus_core::AppError;
use nexus_service::actor::{AuthUser, Principal};

use crate::AppState;
use crate::problem::ApiError;

pub struct Caller(pub Principal);

/// A user already authenticated for this request by the safety middleware.
#[derive(Debug, Clone)]
pub struct Resolved(pub AuthUser);

const X_FORWARDED_FOR: &str = "x-forwarded-for";

pub struct Authed(pub AuthUser);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(Resolved(user)) = parts.extensions.get::<Resolved>() {
            return Ok(Caller(Principal::User(user.clone())));
        }
        let Some(token) = bearer_token(&parts.headers)? else {
            return Ok(Caller(Principal::Anonymous));
        };
        let user = state
            .services
            .identity()
            .sessions()
            .authenticate(token)
            .await?;
        Ok(Caller(Principal::User(user)))
    }
}

/// The bearer token of `Authorization`, `None` without the header; a header that is not
/// `Bearer <token>` is a 401.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
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
    Ok(Some(token.trim()))
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

/// The address of the client: the connected peer, or, when the peer is a trusted proxy
/// (`http.trusted_proxies`), the nearest untrusted address in `X-Forwarded-For`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(ip) = parts.extensions.get::<ClientIp>() {
            return Ok(*ip);
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(ClientIp(client_ip(
            peer,
            &parts.headers,
            &state.trusted_proxies,
        )))
    }
}

/// The client address of a request that arrived from `peer`. Proxies append the address
/// they received from, so the list is read from the right: every hop added by a trusted
/// proxy is believed, and the first address not itself a trusted proxy is the client.
/// Anything left of it was written by the client and could be forged.
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer.unwrap_or(IpAddr::from([127, 0, 0, 1])).to_canonical();
    if !is_trusted(&client) {
        return client;
    }
    let hops: Vec<&str> = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.iter().rev() {
        let parsed = hop
            .parse::<IpAddr>()
            .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()));
        let Ok(ip) = parsed else {
            // Garbage from a proxy we trust: the last good address is all we know.
            break;
        };
        client = ip.to_canonical();
        if !is_trusted(&client) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append(X_FORWARDED_FOR, v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let xff = headers(&["6.6.6.6, 203.0.113.7"]);
        assert_eq!(
            client_ip(Some(ip("198.51.100.1")), &xff, &trusted),
            ip("198.51.100.1")
        );
        assert_eq!(
            client_ip(Some(ip("10.0.0.2")), &xff, &trusted),
            ip("203.0.113.7")
        );
        let chain = headers(&["6.6.6.6", "203.0.113.7, 10.1.1.1"]);
        assert_eq!(
            client_ip(Some(ip("10.0.0.2")), &chain, &trusted),
            ip("203.0.113.7")
        );
        assert_eq!(
            client_ip(Some(ip("10.0.0.2")), &headers(&[]), &trusted),
            ip("10.0.0.2")
        );
        let garbage = headers(&["203.0.113.7, nonsense"]);
        assert_eq!(
            client_ip(Some(ip("10.0.0.2")), &garbage, &trusted),
            ip("10.0.0.2")
        );
        assert_eq!(
            client_ip(Some(ip("::ffff:10.0.0.2")), &xff, &trusted),
            ip("203.0.113.7")
        );
    }
}
