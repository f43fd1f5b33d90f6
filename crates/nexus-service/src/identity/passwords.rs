//! Password hashing with argon2id at OWASP's recommended parameters (19 MiB, t=2, p=1).
//!
//! One hash costs tens of milliseconds of CPU, so it runs on tokio's blocking pool, and a
//! semaphore sized to the cores bounds how many run at once: a burst of logins queues
//! instead of starving every other request of CPU and memory.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    /// A real hash of a random password, verified against when an email is unknown so that
    /// the answer takes as long as for a wrong password.
    dummy_hash: Arc<String>,
}

fn argon2() -> Argon2<'static> {
    // OWASP Password Storage Cheat Sheet: m=19456 KiB, t=2, p=1.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

fn verify_blocking(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

impl Passwords {
    pub fn new() -> anyhow::Result<Passwords> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let dummy = super::secrets::random_token()?;
        Ok(Passwords {
            permits: Arc::new(Semaphore::new(cores)),
            dummy_hash: Arc::new(hash_blocking(&dummy)?),
        })
    }

    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let _permit = self.permits.acquire().await?;
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || hash_blocking(&password)).await?
    }

    /// Verifies against `hash`, or against the dummy hash when there is none, so that both
    /// cases cost the same.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> anyhow::Result<bool> {
        let _permit = self.permits.acquire().await?;
        let password = password.to_owned();
        let (hash, real) = match hash {
            Some(h) => (h.to_owned(), true),
            None => (self.dummy_hash.as_str().to_owned(), false),
        };
        let ok = tokio::task::spawn_blocking(move || verify_blocking(&password, &hash)).await?;
        Ok(ok && real)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_use_argon2id_at_owasp_parameters() {
        let p = Passwords::new().unwrap();
        let hash = p.hash("correct horse battery staple").await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            p.verify("correct horse battery staple", Some(&hash))
                .await
                .unwrap()
        );
        assert!(
            !p.verify("wrong horse battery staple", Some(&hash))
                .await
                .unwrap()
        );
        assert!(!p.verify("anything at all", None).await.unwrap());
    }
}
