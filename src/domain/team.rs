//! Several people per shop: their roles, and the links that invite someone by email.

use super::secrets::{LinkPurpose, LinkToken};
use super::stored::stored_enum;

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

/// What a team invite link is for.
pub enum InviteLink {}

impl LinkPurpose for InviteLink {
    const DOMAIN: &'static [u8] = b"satchel team invite\0";
    const NAME: &'static str = "InviteToken";
}

/// The secret in an invite link (`/dashboard/join/{token}`): HMAC-SHA256 of a random salt
/// under the server's key, in its own domain so a reset or portal link is never an invite.
/// The database keeps the salt and the token's SHA-256; the outbox derives the token again.
pub type InviteToken = LinkToken<InviteLink>;

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
