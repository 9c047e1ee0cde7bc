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

/// HMAC-SHA256 under the server's key of `purpose` (a distinct prefix per kind of secret, so
/// one kind can never be passed off as another) followed by a stored salt: the secrets the
/// server can derive again later (download tokens, sign-in codes and links).
pub(crate) fn keyed_digest(server_key: &[u8], purpose: &[u8], salt: &str) -> [u8; 32] {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(server_key).expect("HMAC takes any key length");
    mac.update(purpose);
    mac.update(salt.as_bytes());
    mac.finalize().into_bytes().into()
}

/// The signing key's fingerprint: HMAC-SHA256 hex of a fixed label under the key. Processes
/// compare it through the database to learn whether they share a key; it tells nothing of the
/// key itself.
pub fn signing_key_fingerprint(server_key: &[u8]) -> String {
    hex::encode(keyed_digest(server_key, b"satchel signing key fingerprint\0", ""))
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

    /// The key made in the dashboard with `salt`: HMAC-SHA256 under the server's key, so the
    /// page the creating form redirects to can derive it once while nothing stored is the key.
    pub fn derive(server_key: &[u8], salt: &str) -> ApiKey {
        ApiKey(format!("sk_{}", URL_SAFE_NO_PAD.encode(keyed_digest(server_key, b"satchel api key\0", salt))))
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

/// What one kind of emailed link token is for: the HMAC domain that keeps it apart from every
/// other kind (a reset link is never an invite), and its name in debug output.
pub trait LinkPurpose {
    /// The HMAC domain, NUL-terminated.
    const DOMAIN: &'static [u8];
    /// The type's name in `Debug` (the value itself is never printed).
    const NAME: &'static str;
}

/// The secret in a link Satchel emails: HMAC-SHA256 of a random salt under the server's key,
/// in `P`'s own domain. The database keeps the salt and the token's SHA-256, so neither a copy
/// of it nor the key alone gives a link, and the server derives the token again to (re)send it.
pub struct LinkToken<P>(String, std::marker::PhantomData<P>);

impl<P: LinkPurpose> std::fmt::Debug for LinkToken<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}(********)", P::NAME)
    }
}

impl<P: LinkPurpose> LinkToken<P> {
    /// A fresh salt (256 random bits) for a new link.
    pub fn new_salt() -> String {
        random_token(32)
    }

    /// The token of the link with `salt`.
    pub fn derive(server_key: &[u8], salt: &str) -> Self {
        LinkToken(URL_SAFE_NO_PAD.encode(keyed_digest(server_key, P::DOMAIN, salt)), std::marker::PhantomData)
    }

    /// Reads a token from a URL: 43 base64url characters, else None (no lookup needed).
    pub fn parse(raw: &str) -> Option<Self> {
        link_token_shaped(raw).then(|| LinkToken(raw.to_owned(), std::marker::PhantomData))
    }

    /// The token, for the link.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What is stored to find the link's row again.
    pub fn hash(&self) -> SecretHash {
        SecretHash::of(&self.0)
    }
}

/// Whether `raw` has the shape of a link token: 43 base64url characters (256 bits). Anything
/// else cannot match, so the lookup is skipped.
pub fn link_token_shaped(raw: &str) -> bool {
    raw.len() == 43 && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The link of a purchase email.
pub enum OrderLink {}

impl LinkPurpose for OrderLink {
    const DOMAIN: &'static [u8] = b"satchel download token\0";
    const NAME: &'static str = "DownloadToken";
}

/// An order's download token in `/d/{token}`, one per order (its salt is the order's).
pub type DownloadToken = LinkToken<OrderLink>;

/// Checks a pasted Stripe webhook signing secret, refused under `field`: it starts with
/// `whsec_`. Stripe's API keys (`sk_live_…`, `sk_test_…`, `rk_…`) are the usual mix-up, and
/// storing one would both refuse every event and keep a live key where it does not belong, so
/// they get a message of their own.
pub fn stripe_webhook_secret(field: &'static str, raw: &str) -> Result<String, super::Invalid> {
    let secret = raw.trim();
    let api_key = ["sk_live_", "sk_test_", "rk_live_", "rk_test_", "pk_live_", "pk_test_"];
    if api_key.iter().any(|prefix| secret.starts_with(prefix)) {
        let message = "That is an API key; paste the webhook signing secret, which starts with whsec_";
        return Err(super::Invalid::new(field, message));
    }
    let body = secret.strip_prefix("whsec_").unwrap_or("");
    if body.len() < 8 || secret.len() > 255 || !body.bytes().all(|b| b.is_ascii_graphic()) {
        let message =
            "paste the webhook signing secret from Stripe: it starts with whsec_ (8 to 255 characters, no spaces)";
        return Err(super::Invalid::new(field, message));
    }
    Ok(secret.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let key = [7u8; 32];
        let a = DownloadToken::derive(&key, &DownloadToken::new_salt());
        let b = DownloadToken::derive(&key, &DownloadToken::new_salt());
        assert_ne!(a.expose(), b.expose());
        let salt = DownloadToken::new_salt();
        assert_eq!(DownloadToken::derive(&key, &salt).expose(), DownloadToken::derive(&key, &salt).expose());
        assert_ne!(DownloadToken::derive(&key, &salt).expose(), DownloadToken::derive(&[8u8; 32], &salt).expose());
        assert_eq!(a.expose().len(), 43); // 32 bytes = 256 bits
        assert_eq!(a.hash(), SecretHash::of(a.expose()));
        assert_ne!(a.hash().as_str(), a.expose());
        assert!(ApiKey::generate().expose().starts_with("sk_"));
    }

    #[test]
    fn stripe_secrets_start_with_whsec_and_api_keys_are_named() {
        assert_eq!(stripe_webhook_secret("s", " whsec_12345678 ").unwrap(), "whsec_12345678");
        let key = stripe_webhook_secret("stripe_webhook_secret", "sk_live_51Habc").unwrap_err();
        assert_eq!(key.field, "stripe_webhook_secret");
        assert_eq!(key.message, "That is an API key; paste the webhook signing secret, which starts with whsec_");
        assert_eq!(stripe_webhook_secret("s", "sk_test_abc").unwrap_err().message, key.message);
        for bad in
            ["", "whsec_", "whsec_1234567", "whsec 12345678", "whsec_1234 5678", "abcdefghijkl", "WHSEC_12345678"]
        {
            let refused = stripe_webhook_secret("s", bad).unwrap_err();
            assert!(refused.message.contains("starts with whsec_"), "{bad:?}: {refused}");
        }
        assert!(stripe_webhook_secret("s", &format!("whsec_{}", "a".repeat(250))).is_err());
    }
}
