//! Sessions of signed-in merchant users (dashboard) and customers (portal).
//!
//! The cookie carries a 256-bit random secret; only its SHA-256 is stored, so a copy of the
//! database signs nobody in. Expiry rolls forward with use, written at most once an hour.

use super::{Db, DbError, with_pool};
use crate::domain::{Millis, SecretHash, now_millis, random_token};

/// Who a session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// A merchant's dashboard user; `subject_id` is a `merchant_users` id.
    Merchant,
    /// A customer on the portal; `subject_id` is a `customers` id.
    Customer,
}

impl SessionKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Merchant => "merchant",
            SessionKind::Customer => "customer",
        }
    }
}

/// A live session.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Session {
    /// SHA-256 of the cookie's secret.
    pub id_hash: String,
    /// `merchant` or `customer`.
    pub kind: String,
    /// The business the session is for.
    pub merchant_id: String,
    /// The merchant user's or customer's id.
    pub subject_id: String,
    /// Token dashboard forms must echo back.
    pub csrf_token: String,
    /// Sign-in time.
    pub created_at: Millis,
    /// End of the session unless used again.
    pub expires_at: Millis,
}

/// How long a session lives without use: 30 days.
pub const SESSION_LIFETIME_MS: i64 = 30 * 24 * 3600 * 1000;

/// Expiry is written again only when it would move by more than this, so reading pages does
/// not cost a write each.
const ROLL_GRANULARITY_MS: i64 = 3600 * 1000;

/// Starts a session; returns the secret for the cookie (shown once, never stored).
pub async fn start(db: &Db, kind: SessionKind, merchant_id: &str, subject_id: &str) -> Result<String, DbError> {
    let secret = random_token(32);
    let now = now_millis();
    with_pool!(db, write pool => {
        sqlx::query(
            "INSERT INTO sessions (id_hash, kind, merchant_id, subject_id, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(SecretHash::of(&secret).as_str())
        .bind(kind.as_str())
        .bind(merchant_id)
        .bind(subject_id)
        .bind(random_token(32))
        .bind(now)
        .bind(now + SESSION_LIFETIME_MS)
        .execute(pool)
        .await?;
    });
    Ok(secret)
}

/// The live session behind a cookie's secret, its expiry rolled forward; None when unknown,
/// ended, expired or of another kind.
pub async fn find(db: &Db, kind: SessionKind, secret: &str) -> Result<Option<Session>, DbError> {
    let hash = SecretHash::of(secret);
    let now = now_millis();
    let found: Option<Session> = with_pool!(db, pool => {
        sqlx::query_as(
            "SELECT id_hash, kind, merchant_id, subject_id, csrf_token, created_at, expires_at \
             FROM sessions WHERE id_hash = $1 AND kind = $2 AND expires_at > $3",
        )
        .bind(hash.as_str())
        .bind(kind.as_str())
        .bind(now)
        .fetch_optional(pool)
        .await?
    });
    let Some(mut session) = found else { return Ok(None) };
    let rolled = now + SESSION_LIFETIME_MS;
    if rolled - session.expires_at > ROLL_GRANULARITY_MS {
        with_pool!(db, write pool => {
            sqlx::query("UPDATE sessions SET expires_at = $2 WHERE id_hash = $1")
                .bind(hash.as_str())
                .bind(rolled)
                .execute(pool)
                .await?;
        });
        session.expires_at = rolled;
    }
    Ok(Some(session))
}

/// Ends the session behind a cookie's secret (sign out). Unknown secrets are fine.
pub async fn end(db: &Db, secret: &str) -> Result<(), DbError> {
    with_pool!(db, write pool => {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(SecretHash::of(secret).as_str())
            .execute(pool)
            .await?;
    });
    Ok(())
}

/// Removes expired sessions; returns how many.
pub async fn sweep_expired(db: &Db) -> Result<u64, DbError> {
    let done = with_pool!(db, write pool => {
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now_millis()).execute(pool).await?.rows_affected()
    });
    Ok(done)
}
