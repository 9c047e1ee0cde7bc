//! Saving the shop profile customers see (name, support email, accent colour, logo; read as
//! part of [`super::merchants::Merchant`]), webhook secrets
//! kept for a day after a rotation, and dashboard API keys waiting to be shown once.

use super::merchants::Merchant;
use super::{Db, DbError, found, new_id, with_pool};
use crate::domain::{ApiKey, Millis, ShopBrand, StoredBrand, now_millis, random_token};

/// How long a rotated webhook secret keeps verifying beside the new one.
pub const ROTATION_GRACE_MS: Millis = 24 * 3600 * 1000;

/// How long the page a new API key's form redirects to may show it.
pub const REVEAL_WINDOW_MS: Millis = 10 * 60 * 1000;

impl Merchant {
    /// What customers see of the shop, with URLs under `base` ("" on pages, the public URL in
    /// email).
    pub fn brand(&self, base: &str) -> ShopBrand {
        let stored = StoredBrand {
            name: &self.name,
            support_email: self.support_email.as_deref(),
            accent_colour: self.accent_colour.as_deref(),
            logo_sha256: self.logo_sha256.as_deref(),
            logo_type: self.logo_type.as_deref(),
        };
        ShopBrand::of(&stored, base)
    }
}

/// The blob key of a logo.
pub fn logo_key(sha256: &str) -> String {
    format!("brand/logo/{sha256}")
}

/// What the logo becomes when the profile is saved.
#[derive(Debug, Clone)]
pub enum LogoChange {
    /// Left as it is.
    Keep,
    /// No logo.
    Remove,
    /// A stored logo: its SHA-256 and type.
    Set(String, &'static str),
}

/// A profile to save: every field but the logo is replaced.
#[derive(Debug, Clone)]
pub struct ProfileChange {
    /// The shop's name.
    pub name: String,
    /// Where customers write for help (None: not shown).
    pub support_email: Option<String>,
    /// `#rrggbb` (None: Satchel's own colours).
    pub accent_colour: Option<String>,
    /// The logo.
    pub logo: LogoChange,
}

/// Saves a profile in one statement (a refused form never gets here, so nothing is half saved).
pub async fn save(db: &Db, merchant_id: &str, change: &ProfileChange) -> Result<(), DbError> {
    let (keep, sha, kind) = match &change.logo {
        LogoChange::Keep => (true, None, None),
        LogoChange::Remove => (false, None, None),
        LogoChange::Set(sha, kind) => (false, Some(sha.as_str()), Some(*kind)),
    };
    with_pool!(db, write pool => {
        sqlx::query(
            "UPDATE merchants SET name = $2, support_email = $3, accent_colour = $4, \
             logo_sha256 = CASE WHEN $5 THEN logo_sha256 ELSE $6 END, \
             logo_type = CASE WHEN $5 THEN logo_type ELSE $7 END WHERE id = $1",
        )
        .bind(merchant_id).bind(&change.name).bind(&change.support_email).bind(&change.accent_colour)
        .bind(keep).bind(sha).bind(kind)
        .execute(pool).await?;
    });
    Ok(())
}

/// A provider's secret from before the latest rotation, while it still verifies.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
struct Previous {
    previous_standard_webhook_secret: Option<String>,
    standard_webhook_secret_rotated_at: Option<Millis>,
    previous_stripe_webhook_secret: Option<String>,
    stripe_webhook_secret_rotated_at: Option<Millis>,
}

/// The previous secret of `provider` (`standard` or `stripe`) and when it stops verifying,
/// if it still does at `now`.
pub async fn previous_secret(
    db: &Db,
    merchant_id: &str,
    provider: &str,
    now: Millis,
) -> Result<Option<(String, Millis)>, DbError> {
    let row: Previous = with_pool!(db, pool => found(sqlx::query_as(
        "SELECT previous_standard_webhook_secret, standard_webhook_secret_rotated_at, \
         previous_stripe_webhook_secret, stripe_webhook_secret_rotated_at FROM merchants WHERE id = $1",
    ).bind(merchant_id).fetch_optional(pool).await?))?;
    let (secret, at) = if provider == "stripe" {
        (row.previous_stripe_webhook_secret, row.stripe_webhook_secret_rotated_at)
    } else {
        (row.previous_standard_webhook_secret, row.standard_webhook_secret_rotated_at)
    };
    Ok(secret.zip(at).map(|(s, at)| (s, at + ROTATION_GRACE_MS)).filter(|(_, until)| now < *until))
}

/// Replaces the Standard Webhooks secret with `new`; the current one keeps verifying for
/// [`ROTATION_GRACE_MS`] (a previous one still in its day is dropped: two at most).
pub async fn rotate_standard(db: &Db, merchant_id: &str, new: &str) -> Result<(), DbError> {
    with_pool!(db, write pool => {
        sqlx::query(
            "UPDATE merchants SET previous_standard_webhook_secret = standard_webhook_secret, \
             standard_webhook_secret_rotated_at = $3, standard_webhook_secret = $2 \
             WHERE id = $1 AND standard_webhook_secret <> $2",
        )
        .bind(merchant_id).bind(new).bind(now_millis()).execute(pool).await?;
    });
    Ok(())
}

/// Ends the grace period of a provider's previous secret at once (or, in tests, moves the
/// rotation `at` into the past).
pub async fn set_rotated_at(db: &Db, merchant_id: &str, provider: &str, at: Option<Millis>) -> Result<(), DbError> {
    let sql = if provider == "stripe" {
        "UPDATE merchants SET stripe_webhook_secret_rotated_at = $2 WHERE id = $1"
    } else {
        "UPDATE merchants SET standard_webhook_secret_rotated_at = $2 WHERE id = $1"
    };
    with_pool!(db, write pool => { sqlx::query(sql).bind(merchant_id).bind(at).execute(pool).await?; });
    Ok(())
}

/// Creates an API key for `merchant_id` from the dashboard, to be shown once to `user_id` by
/// [`reveal_key`]; returns the key's id.
pub async fn create_key_to_reveal(
    db: &Db,
    server_key: &[u8],
    merchant_id: &str,
    user_id: &str,
    name: &str,
) -> Result<String, DbError> {
    let salt = random_token(32);
    let key = ApiKey::derive(server_key, &salt);
    let (id, now) = (new_id(), now_millis());
    with_pool!(db, write pool => {
        sqlx::query(
            "INSERT INTO api_keys (id, merchant_id, name, prefix, key_hash, created_at, reveal_salt, reveal_to, \
             reveal_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&id).bind(merchant_id).bind(name).bind(key.prefix()).bind(key.hash().as_str()).bind(now)
        .bind(&salt).bind(user_id).bind(now + REVEAL_WINDOW_MS)
        .execute(pool).await?;
    });
    Ok(id)
}

/// The new key `id`, once: for the user who made it, within [`REVEAL_WINDOW_MS`]. The salt is
/// cleared by the same statement that reads it, so a reload (or a second tab) gets `None`.
pub async fn reveal_key(
    db: &Db,
    server_key: &[u8],
    merchant_id: &str,
    user_id: &str,
    id: &str,
) -> Result<Option<(String, ApiKey)>, DbError> {
    let now = now_millis();
    let waiting: Option<(String, String)> = with_pool!(db, pool => {
        sqlx::query_as(
            "SELECT name, reveal_salt FROM api_keys WHERE id = $1 AND merchant_id = $2 AND reveal_to = $3 \
             AND reveal_until > $4 AND reveal_salt IS NOT NULL AND revoked_at IS NULL",
        )
        .bind(id).bind(merchant_id).bind(user_id).bind(now)
        .fetch_optional(pool).await?
    });
    let Some((name, salt)) = waiting else { return Ok(None) };
    // Only the request that clears this very salt shows the key.
    let claimed = with_pool!(db, write pool => {
        sqlx::query("UPDATE api_keys SET reveal_salt = NULL, reveal_to = NULL, reveal_until = NULL \
                     WHERE id = $1 AND reveal_salt = $2")
            .bind(id).bind(&salt).execute(pool).await?.rows_affected()
    });
    let row = (claimed == 1).then_some((name, salt));
    Ok(row.map(|(name, salt)| (name, ApiKey::derive(server_key, &salt))))
}
