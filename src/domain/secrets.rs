//! Bearer secrets (API keys, download tokens): random, shown once, stored only as a hash.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// `bytes` random bytes as unpadded URL-safe base64.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    for chunk in buf.chunks_mut(32) {
        let random: [u8; 32] = rand::random();
        chunk.copy_from_slice(&random[..chunk.len()]);
    }
    URL_SAFE_NO_PAD.encode(buf)
}

/// The stored form of a high-entropy secret: SHA-256 hex. A fast hash is right here because
/// the secret has 256 random bits; passwords use argon2 instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretHash(String);

impl SecretHash {
    /// Hashes a presented secret for lookup.
    pub fn of(secret: &str) -> SecretHash {
        SecretHash(hex::encode(Sha256::digest(secret.as_bytes())))
    }

    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A merchant's API key: `sk_` + 256 random bits.
pub struct ApiKey(String);

impl ApiKey {
    /// A new random key.
    pub fn generate() -> ApiKey {
        ApiKey(format!("sk_{}", random_token(32)))
    }

    /// The key, shown to the merchant once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The first characters, kept so a merchant can tell keys apart.
    pub fn prefix(&self) -> &str {
        &self.0[..10]
    }

    /// What is stored.
    pub fn hash(&self) -> SecretHash {
        SecretHash::of(&self.0)
    }
}

/// An order's download token: 256 random bits in `/d/{token}`.
pub struct DownloadToken(String);

impl DownloadToken {
    /// A new random token.
    pub fn generate() -> DownloadToken {
        DownloadToken(random_token(32))
    }

    /// The token, for links.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What is stored.
    pub fn hash(&self) -> SecretHash {
        SecretHash::of(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let a = DownloadToken::generate();
        let b = DownloadToken::generate();
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), 43); // 32 bytes = 256 bits
        assert_eq!(a.hash(), SecretHash::of(a.expose()));
        assert_ne!(a.hash().as_str(), a.expose());
        assert!(ApiKey::generate().expose().starts_with("sk_"));
    }
}
