//! Random tokens and their stored hashes, and access-token (JWT) signing.
//!
//! Opaque tokens (refresh, personal access, email links) are 256 random bits, shown to the
//! client once and stored only as SHA-256: a leaked table cannot be replayed, and a fast
//! hash is enough because the input has full entropy (unlike a password).

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use nexus_core::AppError;
use nexus_core::config::AuthSettings;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The prefix that marks a personal access token, so it is recognisable in a leak scanner
/// and distinguishable from a JWT without parsing.
pub const PAT_PREFIX: &str = "nxp_";

/// 256 random bits, URL-safe base64 (43 characters).
pub fn random_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("system randomness failed: {e}"))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

const ISSUER: &str = "nexus";

#[derive(Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user id.
    pub sub: Uuid,
    /// The session (refresh-token family) this token was issued for.
    pub sid: Uuid,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
}

/// The signing key and the one algorithm accepted. Pinning HS256 in [`Validation`] is what
/// refuses `alg: none` and algorithm-switching tokens: jsonwebtoken rejects any header
/// algorithm not in the list before it looks at the signature.
#[derive(Clone)]
pub struct AccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub ttl_secs: u64,
}

impl AccessTokens {
    pub fn new(secret: &[u8], ttl_secs: u64) -> AccessTokens {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        // Instances' clocks agree to within a few seconds; the 60 s default would keep an
        // expired token alive for a minute.
        validation.leeway = 5;
        AccessTokens {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl_secs,
        }
    }

    /// The key from configuration, or on embedded defaults the one kept in
    /// `{data_dir}/jwt.key`, generated on first start. Instances sharing the data
    /// directory share the key; creation is atomic so two first starts agree.
    pub fn from_settings(auth: &AuthSettings, data_dir: &Path) -> anyhow::Result<AccessTokens> {
        let secret = match &auth.jwt_secret {
            Some(s) => s.expose().as_bytes().to_vec(),
            None => load_or_create_key(&data_dir.join("jwt.key"))?,
        };
        Ok(AccessTokens::new(&secret, auth.access_token_ttl_secs))
    }

    pub fn issue(&self, user: Uuid, session: Uuid, now: DateTime<Utc>) -> anyhow::Result<String> {
        let claims = AccessClaims {
            sub: user,
            sid: session,
            iat: now.timestamp(),
            exp: now.timestamp() + i64::try_from(self.ttl_secs).unwrap_or(900),
            iss: ISSUER.into(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| anyhow::anyhow!("signing an access token: {e}"))
    }

    /// Checks signature, algorithm, issuer and expiry. Every failure is the same 401.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, AppError> {
        jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| AppError::Unauthenticated("the access token is not valid".into()))
    }
}

fn load_or_create_key(path: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Write;
    if let Ok(text) = std::fs::read_to_string(path) {
        return decode_key(&text, path);
    }
    let mut bytes = [0u8; 64];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("system randomness failed: {e}"))?;
    let encoded = STANDARD.encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(encoded.as_bytes())?;
            file.sync_all()?;
            Ok(bytes.to_vec())
        }
        // Another process created it between our read and our create: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(path)?;
            decode_key(&text, path)
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!("creating {}", path.display()))),
    }
}

fn decode_key(text: &str, path: &Path) -> anyhow::Result<Vec<u8>> {
    let key = STANDARD
        .decode(text.trim())
        .map_err(|e| anyhow::anyhow!("{} is not a base64 key: {e}", path.display()))?;
    anyhow::ensure!(
        key.len() >= 32,
        "{} holds a key shorter than 32 bytes",
        path.display()
    );
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashes_stable() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_eq!(hash_token(&a).len(), 64);
    }

    #[test]
    fn access_tokens_round_trip_and_reject_tampering() {
        let keys = AccessTokens::new(&[7u8; 32], 900);
        let (user, session) = (Uuid::now_v7(), Uuid::now_v7());
        // The system time: jsonwebtoken checks `exp` against it, as in production.
        let token = keys.issue(user, session, Utc::now()).unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!((claims.sub, claims.sid), (user, session));

        let other = AccessTokens::new(&[8u8; 32], 900);
        assert!(
            other.verify(&token).is_err(),
            "another key's signature is refused"
        );
        let expired = keys
            .issue(user, session, Utc::now() - chrono::Duration::seconds(3600))
            .unwrap();
        assert!(keys.verify(&expired).is_err());
    }

    #[test]
    fn the_generated_key_is_kept_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwt.key");
        let first = load_or_create_key(&path).unwrap();
        let second = load_or_create_key(&path).unwrap();
        assert_eq!(first, second);
        assert!(first.len() >= 32);
    }
}
