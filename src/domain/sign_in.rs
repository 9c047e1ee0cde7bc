//! Signing in to the customer portal by email: a 6-digit code to type and a magic link to
//! click, both carried by one email, both derived from a random salt under the server's key.
//!
//! Six digits are only a million values, so a plain hash of the code would be reversed by
//! trying them all. Here nothing of the code is stored: the database keeps the salt, and the
//! code is HMAC-SHA256(server key, salt) reduced to six digits. Without the key a copy of the
//! database gives no code; with it an attacker could sign URLs anyway.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::secrets::{LinkPurpose, LinkToken, keyed_digest};
use super::{Invalid, Millis, random_token};

/// How long a code and its magic link work: 15 minutes.
pub const SIGN_IN_LIFETIME_MS: i64 = 15 * 60 * 1000;

/// Wrong codes allowed per code; the next try (even with the right code) is refused.
pub const MAX_WRONG_CODES: i64 = 5;

/// A fresh salt (256 random bits) for a new sign-in.
pub fn new_sign_in_salt() -> String {
    random_token(32)
}

/// The 6-digit code a customer types to sign in.
#[derive(Clone, PartialEq, Eq)]
pub struct SignInCode(String);

impl std::fmt::Debug for SignInCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignInCode(******)")
    }
}

impl SignInCode {
    /// Reads a typed code: six digits; spaces and dashes people copy along are ignored.
    pub fn parse(field: &'static str, raw: &str) -> Result<SignInCode, Invalid> {
        let digits: String = raw.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Invalid::new(field, "the code is the 6 digits from the email"));
        }
        Ok(SignInCode(digits))
    }

    /// The code of the sign-in with `salt`.
    pub fn derive(server_key: &[u8], salt: &str) -> SignInCode {
        let mac = keyed_digest(server_key, b"satchel sign-in code\0", salt);
        // 64 bits modulo a million: the bias is below one in ten million.
        let n = u64::from_be_bytes(mac[..8].try_into().expect("8 bytes")) % 1_000_000;
        SignInCode(format!("{n:06}"))
    }

    /// The digits, for the email.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `typed` is this code, compared in constant time.
    pub fn matches(&self, typed: &SignInCode) -> bool {
        let diff = self.0.bytes().zip(typed.0.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        diff == 0 && self.0.len() == typed.0.len()
    }
}

/// What a portal sign-in link is for.
pub enum MagicSignInLink {}

impl LinkPurpose for MagicSignInLink {
    const DOMAIN: &'static [u8] = b"satchel sign-in link\0";
    const NAME: &'static str = "MagicLinkToken";
}

/// The secret in a magic sign-in link (`/portal/{merchant}/sign-in/{token}`): 256 bits.
pub type MagicLinkToken = LinkToken<MagicSignInLink>;

/// How long a sign-in form works after its page was shown: 2 hours. Older pages are answered
/// with the form again, with a fresh token, so the cost of expiry is one more click.
pub const FORM_TOKEN_LIFETIME_MS: i64 = 2 * 60 * 60 * 1000;

/// The token a sign-in form (dashboard password, portal email, code and magic-link button)
/// carries in a hidden field: `{issued_ms}.{HMAC(server key, issued_ms and the browser's form
/// cookie)}`. Another site can neither read it nor make one for the visitor's cookie, so a form
/// it posts (login CSRF: signing a visitor into the attacker's account) is refused even where
/// the browser sends no `Origin`.
pub struct FormToken;

impl FormToken {
    /// A fresh value for the browser's form cookie (256 random bits).
    pub fn new_cookie() -> String {
        random_token(32)
    }

    /// The token for a form shown at `now` to the browser holding `cookie`.
    pub fn issue(server_key: &[u8], cookie: &str, now: Millis) -> String {
        format!("{now}.{}", Self::mac(server_key, cookie, now))
    }

    /// Whether `presented` was issued to the browser holding `cookie`, at most
    /// [`FORM_TOKEN_LIFETIME_MS`] ago; compared in constant time.
    pub fn verify(server_key: &[u8], cookie: &str, presented: &str, now: Millis) -> bool {
        use subtle::ConstantTimeEq;
        let Some((issued, mac)) = presented.split_once('.') else { return false };
        let Ok(issued) = issued.parse::<Millis>() else { return false };
        // A little slack for clocks of several processes behind one balancer.
        let fresh = issued <= now.saturating_add(60_000) && now.saturating_sub(issued) <= FORM_TOKEN_LIFETIME_MS;
        let expected = Self::mac(server_key, cookie, issued);
        let same: bool = expected.as_bytes().ct_eq(mac.as_bytes()).into();
        fresh && same && !cookie.is_empty()
    }

    fn mac(server_key: &[u8], cookie: &str, issued: Millis) -> String {
        URL_SAFE_NO_PAD.encode(keyed_digest(server_key, b"satchel sign-in form\0", &format!("{issued}.{cookie}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_derived_from_salt_and_key() {
        let key = [3u8; 32];
        let salt = new_sign_in_salt();
        let code = SignInCode::derive(&key, &salt);
        assert_eq!(code.expose().len(), 6);
        assert!(code.expose().bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(code, SignInCode::derive(&key, &salt), "the outbox derives the same code later");
        let others: Vec<_> = (0..20).map(|_| SignInCode::derive(&key, &new_sign_in_salt())).collect();
        assert!(others.iter().any(|c| *c != code), "codes differ from salt to salt");
        let keys: Vec<_> = (0..20u8).map(|k| SignInCode::derive(&[k; 32], &salt)).collect();
        assert!(keys.iter().any(|c| *c != code), "another server key gives other codes");
        assert!(!format!("{code:?}").contains(code.expose()), "never printed");
    }

    #[test]
    fn typed_codes_are_read_leniently_and_compared_exactly() {
        let code = SignInCode::parse("code", " 123 456 ").unwrap();
        assert_eq!(code.expose(), "123456");
        assert_eq!(SignInCode::parse("code", "123-456").unwrap(), code);
        for bad in ["", "12345", "1234567", "12345a", "１２３４５６"] {
            assert!(SignInCode::parse("code", bad).is_err(), "{bad:?}");
        }
        assert!(code.matches(&SignInCode::parse("code", "123456").unwrap()));
        assert!(!code.matches(&SignInCode::parse("code", "123457").unwrap()));
    }

    #[test]
    fn magic_links_are_long_and_stored_hashed() {
        let key = [9u8; 32];
        let salt = new_sign_in_salt();
        let token = MagicLinkToken::derive(&key, &salt);
        assert_eq!(token.expose().len(), 43);
        assert_eq!(MagicLinkToken::parse(token.expose()).unwrap().hash(), token.hash());
        assert_ne!(token.hash().as_str(), token.expose());
        assert_ne!(token.expose(), MagicLinkToken::derive(&key, &new_sign_in_salt()).expose());
        assert!(MagicLinkToken::parse("short").is_none());
        assert!(MagicLinkToken::parse(&"a/".repeat(22)[..43]).is_none());
    }

    #[test]
    fn form_tokens_belong_to_one_cookie_and_expire() {
        let key = [5u8; 32];
        let (cookie, other) = (FormToken::new_cookie(), FormToken::new_cookie());
        let now = 1_700_000_000_000;
        let token = FormToken::issue(&key, &cookie, now);
        assert!(FormToken::verify(&key, &cookie, &token, now + 1000));
        assert!(!FormToken::verify(&key, &other, &token, now), "another browser's token");
        assert!(!FormToken::verify(&[6u8; 32], &cookie, &token, now), "another server's token");
        assert!(!FormToken::verify(&key, &cookie, &token, now + FORM_TOKEN_LIFETIME_MS + 1), "expired");
        assert!(FormToken::verify(&key, &cookie, &token, now + FORM_TOKEN_LIFETIME_MS));
        let (_, mac) = token.split_once('.').unwrap();
        let moved = format!("{}.{mac}", now + 5000);
        assert!(!FormToken::verify(&key, &cookie, &moved, now + 6000), "the time is signed too");
        for bad in ["", ".", "x.y", &format!("{now}."), &format!("{now}")] {
            assert!(!FormToken::verify(&key, &cookie, bad, now), "{bad:?}");
        }
        assert!(!FormToken::verify(&key, "", &FormToken::issue(&key, "", now), now), "no cookie, no form");
    }
}
