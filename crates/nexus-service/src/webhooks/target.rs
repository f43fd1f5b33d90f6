//! Where a webhook may point. A delivery is a request the server makes on a user's
//! behalf, so without a guard a user could aim it at the metadata service, the database
//! or anything else on the internal network (server-side request forgery).
//!
//! The guard runs twice: when an endpoint is registered (a clear 422 for the user), and
//! on every delivery inside the HTTP client's resolver, so the address checked is the
//! address connected to — a name that resolved to a public address at registration and
//! to a private one later (DNS rebinding) is refused then. Redirects are not followed.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Whether `ip` is an ordinary address on the public internet. Written here because
/// `IpAddr::is_global` is not stable; the ranges are those of the IANA special-purpose
/// registries that must not be reached from a server on a user's say-so.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (first == 0x2001 && v6.segments()[1] == 0x0db8) // documentation
                || first == 0x0064 && v6.segments()[1] == 0xff9b) // NAT64 to anything
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

/// Checks a URL's form: absolute http(s), a host, no credentials. Returns the problem
/// in words a user can act on.
pub fn check_form(raw: &str) -> Result<Url, String> {
    if raw.len() > 2_000 {
        return Err("must be at most 2000 characters".into());
    }
    let url = Url::parse(raw).map_err(|e| format!("is not a valid URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http or https URL".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must name a host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials; deliveries are signed instead".into());
    }
    Ok(url)
}

/// Resolves the URL's host and refuses it unless every address is public (or private
/// targets are allowed). Used at registration.
pub async fn check_reachable(url: &Url, allow_private: bool) -> Result<(), String> {
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs = resolve(host, port)
        .await
        .map_err(|e| format!("host `{host}` does not resolve ({e})"))?;
    if allow_private {
        return Ok(());
    }
    match addrs.iter().find(|a| !is_public(a.ip())) {
        Some(bad) => Err(format!(
            "resolves to {}, which is not a public address",
            bad.ip()
        )),
        None => Ok(()),
    }
}

async fn resolve(host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
    // Brackets of an IPv6 literal are part of the URL's syntax, not of the address.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let found: Vec<SocketAddr> = tokio::net::lookup_host((bare, port)).await?.collect();
    if found.is_empty() {
        return Err(std::io::Error::other("no addresses"));
    }
    Ok(found)
}

/// The literal IP of a URL whose host is one: the resolver is not asked about those, so
/// the delivery path checks them itself.
pub fn literal_ip(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        url::Host::Domain(_) => None,
    }
}

/// reqwest's resolver for deliveries: the system's answer, with every non-public address
/// removed unless private targets are allowed; no address left is an error.
#[derive(Clone)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let found = resolve(name.as_str(), 0).await?;
            let kept: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if kept.is_empty() {
                return Err(
                    format!("`{}` resolves only to non-public addresses", name.as_str()).into(),
                );
            }
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

pub fn resolver(allow_private: bool) -> Arc<GuardedResolver> {
    Arc::new(GuardedResolver { allow_private })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn internal_addresses_are_not_public() {
        for s in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(!is_public(ip(s)), "{s} must be refused");
        }
    }

    #[test]
    fn ordinary_internet_addresses_are_public() {
        for s in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(ip(s)), "{s} must be allowed");
        }
    }

    #[test]
    fn only_plain_http_urls_with_a_host_pass_the_form_check() {
        assert!(check_form("https://hooks.example.com/nexus").is_ok());
        assert!(check_form("http://127.0.0.1:8080/x").is_ok());
        for bad in [
            "",
            "hooks.example.com",
            "ftp://example.com/",
            "https://user:pw@example.com/",
            "file:///etc/passwd",
            "javascript:alert(1)",
        ] {
            assert!(check_form(bad).is_err(), "{bad} must be refused");
        }
        assert!(check_form(&format!("https://e.com/{}", "a".repeat(2_000))).is_err());
    }

    #[tokio::test]
    async fn registration_refuses_loopback_unless_allowed() {
        let url = check_form("http://127.0.0.1:9/hook").unwrap();
        assert!(check_reachable(&url, false).await.is_err());
        assert!(check_reachable(&url, true).await.is_ok());
        let v6 = check_form("http://[::1]:9/hook").unwrap();
        assert!(check_reachable(&v6, false).await.is_err());
        assert_eq!(literal_ip(&v6), Some(ip("::1")));
    }
}
