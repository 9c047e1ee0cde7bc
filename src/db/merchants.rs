//! Merchants, their dashboard users and their settings.

use super::{Db, DbError, found, new_id, with_pool};
use crate::domain::{
    DeliveryMode, DownloadPolicy, Email, EmailStatus, Millis, PaymentEventStatus, Slug, now_millis, random_token,
};

/// A merchant as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Merchant {
    /// Id.
    pub id: String,
    /// URL name.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Whether `/buy/{product}` test checkouts work.
    pub test_mode: bool,
    /// Default link expiry for new orders, seconds.
    pub link_expiry_seconds: Option<i64>,
    /// Default download limit per file for new orders.
    pub max_downloads_per_file: Option<i64>,
    /// Whether a refund revokes access.
    pub revoke_on_refund: bool,
    /// Name on outgoing mail.
    pub sender_name: Option<String>,
    /// Address on outgoing mail.
    pub sender_email: Option<String>,
    /// Standard Webhooks secret (`whsec_…`), generated at creation.
    pub standard_webhook_secret: String,
    /// Stripe's endpoint secret, set by the merchant.
    pub stripe_webhook_secret: Option<String>,
    /// Where customers write for help (shop profile).
    pub support_email: Option<String>,
    /// Accent colour, `#rrggbb` (shop profile).
    pub accent_colour: Option<String>,
    /// SHA-256 of the logo (shop profile; its blob is `shop_profile::logo_key`).
    pub logo_sha256: Option<String>,
    /// The logo's sniffed type: `png`, `jpeg` or `webp`.
    pub logo_type: Option<String>,
    /// Creation time.
    pub created_at: Millis,
}

impl Merchant {
    /// The download policy new orders get.
    pub fn download_policy(&self) -> DownloadPolicy {
        DownloadPolicy {
            link_expiry_seconds: self.link_expiry_seconds,
            max_downloads_per_file: self.max_downloads_per_file,
        }
    }
}

/// What a merchant may change in their settings (None = leave as is).
#[derive(Debug, Default)]
pub struct SettingsChange {
    /// Test checkouts on or off.
    pub test_mode: Option<bool>,
    /// New download policy.
    pub download_policy: Option<DownloadPolicy>,
    /// Revoke on refund.
    pub revoke_on_refund: Option<bool>,
    /// Stripe's endpoint secret (Some(None) clears it).
    pub stripe_webhook_secret: Option<Option<String>>,
    /// Name on outgoing mail (Some(None) falls back to the server default).
    pub sender_name: Option<Option<String>>,
    /// Address on outgoing mail (Some(None) falls back to the server default).
    pub sender_email: Option<Option<String>>,
}

const COLUMNS: &str = "id, slug, name, test_mode, link_expiry_seconds, max_downloads_per_file, revoke_on_refund, \
     sender_name, sender_email, standard_webhook_secret, stripe_webhook_secret, support_email, accent_colour, \
     logo_sha256, logo_type, created_at";

/// A Standard Webhooks secret: `whsec_` + base64 of 24 random bytes.
pub fn new_webhook_secret() -> String {
    use base64::Engine;
    let bytes: [u8; 24] = rand::random();
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// Creates a merchant and its first dashboard user (argon2 password hash).
pub async fn create(db: &Db, slug: &Slug, name: &str, email: &Email, password_hash: &str) -> Result<Merchant, DbError> {
    let id = new_id();
    let now = now_millis();
    let secret = new_webhook_secret();
    with_pool!(db, pool, begin => {
        let mut tx = pool.begin_with(begin).await?;
        let taken: Option<(String,)> = sqlx::query_as("SELECT id FROM merchants WHERE slug = $1")
            .bind(slug.as_str()).fetch_optional(&mut *tx).await?;
        if taken.is_some() {
            return Err(DbError::Conflict(format!("a merchant named {} already exists", slug.as_str())));
        }
        let user: Option<(String,)> = sqlx::query_as("SELECT id FROM merchant_users WHERE email = $1")
            .bind(email.as_str()).fetch_optional(&mut *tx).await?;
        if user.is_some() {
            return Err(DbError::Conflict(format!("{} already signs in to a merchant", email.as_str())));
        }
        sqlx::query("INSERT INTO merchants (id, slug, name, standard_webhook_secret, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&id).bind(slug.as_str()).bind(name).bind(&secret).bind(now)
            .execute(&mut *tx).await?;
        sqlx::query("INSERT INTO merchant_users (id, merchant_id, email, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(new_id()).bind(&id).bind(email.as_str()).bind(password_hash).bind(now)
            .execute(&mut *tx).await?;
        tx.commit().await?;
    });
    get(db, &id).await
}

/// A merchant by id.
pub async fn get(db: &Db, id: &str) -> Result<Merchant, DbError> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM merchants WHERE id = $1"));
    with_pool!(db, pool => found(sqlx::query_as(sql).bind(id).fetch_optional(pool).await?))
}

/// The sign-in addresses of a merchant's dashboard users (stored normalized).
pub async fn user_emails(db: &Db, merchant_id: &str) -> Result<Vec<String>, DbError> {
    let rows: Vec<(String,)> = with_pool!(db, pool => {
        sqlx::query_as("SELECT email FROM merchant_users WHERE merchant_id = $1").bind(merchant_id).fetch_all(pool).await?
    });
    Ok(rows.into_iter().map(|(email,)| email).collect())
}

/// A merchant by slug or id (URLs accept both).
pub async fn find(db: &Db, slug_or_id: &str) -> Result<Merchant, DbError> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM merchants WHERE slug = $1 OR id = $1"));
    with_pool!(db, pool => found(sqlx::query_as(sql).bind(slug_or_id).fetch_optional(pool).await?))
}

/// A merchant as an operator names one on the command line: by slug, id, or the sign-in
/// email of one of its dashboard users (any case).
pub async fn find_named(db: &Db, name: &str) -> Result<Merchant, DbError> {
    let name = name.trim();
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM merchants WHERE slug = $1 OR id = $1 \
         OR id IN (SELECT merchant_id FROM merchant_users WHERE email = $2) LIMIT 1"
    ));
    let email = name.to_lowercase();
    with_pool!(db, pool => found(sqlx::query_as(sql).bind(name).bind(&email).fetch_optional(pool).await?))
}

/// Applies a settings change.
pub async fn update_settings(db: &Db, id: &str, change: &SettingsChange) -> Result<Merchant, DbError> {
    let current = get(db, id).await?;
    let policy = change.download_policy.unwrap_or_else(|| current.download_policy());
    let stripe = change.stripe_webhook_secret.clone().unwrap_or(current.stripe_webhook_secret.clone());
    // A replaced Stripe secret keeps verifying for a day (decisions.md, "Shop profile and
    // secrets"); a removed one stops at once, with any older one.
    let rotation = match (&current.stripe_webhook_secret, &stripe) {
        (Some(old), Some(new)) if old != new => Some((Some(old.clone()), Some(now_millis()))),
        (_, None) => Some((None, None)),
        _ => None,
    };
    let sender_name = change.sender_name.clone().unwrap_or(current.sender_name);
    let sender_email = change.sender_email.clone().unwrap_or(current.sender_email);
    with_pool!(db, write pool => {
        sqlx::query(
            "UPDATE merchants SET test_mode = $2, link_expiry_seconds = $3, max_downloads_per_file = $4, \
             revoke_on_refund = $5, stripe_webhook_secret = $6, sender_name = $7, sender_email = $8 WHERE id = $1",
        )
        .bind(id)
        .bind(change.test_mode.unwrap_or(current.test_mode))
        .bind(policy.link_expiry_seconds)
        .bind(policy.max_downloads_per_file)
        .bind(change.revoke_on_refund.unwrap_or(current.revoke_on_refund))
        .bind(stripe)
        .bind(sender_name)
        .bind(sender_email)
        .execute(pool)
        .await?;
        if let Some((previous, at)) = rotation {
            sqlx::query("UPDATE merchants SET previous_stripe_webhook_secret = $2, stripe_webhook_secret_rotated_at = $3 WHERE id = $1")
                .bind(id).bind(previous).bind(at).execute(pool).await?;
        }
    });
    get(db, id).await
}

/// A person who signs in to a merchant's dashboard.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MerchantUser {
    /// Id.
    pub id: String,
    /// The merchant they work for.
    pub merchant_id: String,
    /// Sign-in address.
    pub email: String,
    /// argon2 hash.
    pub password_hash: String,
}

/// The dashboard user signing in with `email` (addresses are stored normalized).
pub async fn user_by_email(db: &Db, email: &Email) -> Result<Option<MerchantUser>, DbError> {
    with_pool!(db, pool => Ok(sqlx::query_as(
        "SELECT id, merchant_id, email, password_hash FROM merchant_users WHERE email = $1",
    ).bind(email.as_str()).fetch_optional(pool).await?))
}

/// A merchant's dashboard users, oldest first.
pub async fn users(db: &Db, merchant_id: &str) -> Result<Vec<MerchantUser>, DbError> {
    with_pool!(db, pool => Ok(sqlx::query_as(
        "SELECT id, merchant_id, email, password_hash FROM merchant_users WHERE merchant_id = $1 ORDER BY created_at, id",
    ).bind(merchant_id).fetch_all(pool).await?))
}

/// A dashboard user by id.
pub async fn user(db: &Db, id: &str) -> Result<MerchantUser, DbError> {
    with_pool!(db, pool => found(sqlx::query_as(
        "SELECT id, merchant_id, email, password_hash FROM merchant_users WHERE id = $1",
    ).bind(id).fetch_optional(pool).await?))
}

/// A random password for a merchant created from the command line.
pub fn generate_password() -> String {
    random_token(15)
}

/// A merchant's shop at a glance, for the dashboard's first page.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct Overview {
    /// Products on sale.
    pub products: i64,
    /// Real orders ever made (test orders left out).
    pub orders: i64,
    /// Customers with at least one real order.
    pub customers: i64,
    /// Orders whose latest email waits for a retry or was given up on (what the orders page
    /// lists with `?email=trouble`; a successful resend takes an order off the list).
    pub emails_in_trouble: i64,
    /// Paid events that matched no product.
    pub unmatched_payments: i64,
}

/// Counts for [`Overview`], in one round trip.
pub async fn overview(db: &Db, id: &str) -> Result<Overview, DbError> {
    with_pool!(db, pool => Ok(sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM products WHERE merchant_id = $1 AND active AND delivery_mode <> $5) AS products, \
         (SELECT COUNT(*) FROM orders WHERE merchant_id = $1 AND NOT test) AS orders, \
         (SELECT COUNT(*) FROM customers c WHERE c.merchant_id = $1 AND EXISTS \
          (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND NOT o.test)) AS customers, \
         (SELECT COUNT(*) FROM orders o JOIN emails e ON e.id = (SELECT l.id FROM emails l WHERE l.order_id = o.id \
          ORDER BY l.created_at DESC, l.id DESC LIMIT 1) WHERE o.merchant_id = $1 AND e.status IN ($2, $3)) \
          AS emails_in_trouble, \
         (SELECT COUNT(*) FROM payment_events WHERE merchant_id = $1 AND status = $4) AS unmatched_payments",
    )
    .bind(id).bind(EmailStatus::Retrying).bind(EmailStatus::Failed).bind(PaymentEventStatus::Unmatched)
    .bind(DeliveryMode::None)
    .fetch_one(pool).await?))
}
