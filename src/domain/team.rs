//! Several people per shop: their roles, and the links that invite someone by email.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::secrets::keyed_digest;
use super::stored::stored_enum;
use super::{SecretHash, random_token};

/// How long an invite link works: 7 days (people read their mail later than a reset's).
pub const INVITE_LIFETIME_MS: i64 = 7 * 24 * 3600 * 1000;

stored_enum! {
    /// What a dashboard user may do in their shop.
    pub enum TeamRole {
        /// Created the shop: everything, and alone manages who has access (the team, API
        /// keys, payment webhook secrets).
        Owner = "owner",
        /// Invited by the owner: the shop's day-to-day work, nothing that grants access.
        Member = "member",
    }
}

impl TeamRole {
    /// The role as the Team page names it.
    pub fn label(self) -> &'static str {
        match self {
            TeamRole::Owner => "Owner",
            TeamRole::Member => "Member",
        }
    }
}

/// The secret in an invite link (`/dashboard/join/{token}`): HMAC-SHA256 of a random salt
/// under the server's key, in its own domain so a reset or portal link is never an invite.
/// The database keeps the salt and the token's SHA-256; the outbox derives the token again.
pub struct InviteToken(String);

impl std::fmt::Debug for InviteToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InviteToken(********)")
    }
}

impl InviteToken {
    /// A fresh salt (256 random bits) for a new invite.
    pub fn new_salt() -> String {
        random_token(32)
    }

    /// The token of the invite with `salt`.
    pub fn derive(server_key: &[u8], salt: &str) -> InviteToken {
        InviteToken(URL_SAFE_NO_PAD.encode(keyed_digest(server_key, b"satchel team invite\0", salt)))
    }

    /// Reads a token from a URL: 43 base64url characters, else None (no lookup needed).
    pub fn parse(raw: &str) -> Option<InviteToken> {
        let ok = raw.len() == 43 && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| InviteToken(raw.to_owned()))
    }

    /// The token, for the link.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What is stored to find the invite again.
    pub fn hash(&self) -> SecretHash {
        SecretHash::of(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_tokens_are_derived_in_their_own_domain() {
        let key = [4u8; 32];
        let salt = InviteToken::new_salt();
        let token = InviteToken::derive(&key, &salt);
        assert_eq!(token.expose().len(), 43);
        assert_eq!(InviteToken::derive(&key, &salt).expose(), token.expose(), "the outbox derives it again");
        let reset = crate::domain::PasswordResetToken::derive(&key, &salt);
        assert_ne!(reset.expose(), token.expose(), "a reset link is never an invite");
        assert_eq!(InviteToken::parse(token.expose()).unwrap().hash(), token.hash());
        assert!(InviteToken::parse("short").is_none());
        assert!(!format!("{token:?}").contains(token.expose()));
        assert_eq!(TeamRole::parse("role", "member").unwrap(), TeamRole::Member);
    }
}
