//! Dashboard passwords: argon2id hashes, and the links that reset a forgotten one.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};

use super::Invalid;
use super::secrets::{LinkPurpose, LinkToken};

/// How long a "Forgot password?" link works: 30 minutes.
pub const PASSWORD_RESET_LIFETIME_MS: i64 = 30 * 60 * 1000;

/// Hashes a password (argon2id, default parameters, random salt).
pub fn hash_password(password: &str) -> Result<String, Invalid> {
    if password.chars().count() < 10 {
        return Err(Invalid::new("password", "must be at least 10 characters"));
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Invalid::new("password", e.to_string()))
}

/// Whether `password` matches a stored hash.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
}

/// What a password reset link is for.
pub enum PasswordResetLink {}

impl LinkPurpose for PasswordResetLink {
    const DOMAIN: &'static [u8] = b"satchel password reset\0";
    const NAME: &'static str = "PasswordResetToken";
}

/// The secret in a password reset link (`/dashboard/reset-password/{token}`): HMAC-SHA256 of
/// a random salt under the server's key, like the portal's magic links. The database keeps
/// the salt and the token's SHA-256, so neither a copy of it nor the key alone gives a link,
/// and the outbox can derive the token again when it writes the email.
pub type PasswordResetToken = LinkToken<PasswordResetLink>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_round_trip() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("wrong horse battery", &hash));
        assert!(hash_password("short").is_err());
    }

    #[test]
    fn reset_tokens_are_derived_long_and_stored_hashed() {
        let key = [4u8; 32];
        let salt = PasswordResetToken::new_salt();
        let token = PasswordResetToken::derive(&key, &salt);
        assert_eq!(token.expose().len(), 43);
        assert_eq!(PasswordResetToken::derive(&key, &salt).expose(), token.expose(), "the outbox derives it again");
        assert_ne!(PasswordResetToken::derive(&[5u8; 32], &salt).expose(), token.expose());
        let magic = crate::domain::MagicLinkToken::derive(&key, &salt);
        assert_ne!(magic.expose(), token.expose(), "a portal link is never a reset link");
        assert_eq!(PasswordResetToken::parse(token.expose()).unwrap().hash(), token.hash());
        assert_ne!(token.hash().as_str(), token.expose());
        assert!(PasswordResetToken::parse("short").is_none());
        assert!(!format!("{token:?}").contains(token.expose()));
    }
}
