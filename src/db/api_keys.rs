//! Merchants' API keys, stored as SHA-256 hashes.

use super::{Db, DbError, new_id, with_pool};
use crate::domain::{ApiKey, Millis, SecretHash, now_millis};

/// An API key's public facts (never the key).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKeyInfo {
    /// Id.
    pub id: String,
    /// Owner.
    pub merchant_id: String,
    /// What the merchant called it.
    pub name: String,
    /// First characters of the key.
    pub prefix: String,
    /// Creation time.
    pub created_at: Millis,
    /// Revocation time, if revoked.
    pub revoked_at: Option<Millis>,
}

/// Stores a new key for `merchant_id` and returns it (the only time it is seen).
pub async fn create(db: &Db, merchant_id: &str, name: &str) -> Result<(ApiKey, ApiKeyInfo), DbError> {
    let key = ApiKey::generate();
    let info = ApiKeyInfo {
        id: new_id(),
        merchant_id: merchant_id.to_owned(),
        name: name.to_owned(),
        prefix: key.prefix().to_owned(),
        created_at: now_millis(),
        revoked_at: None,
    };
    with_pool!(db, write pool => {
        sqlx::query("INSERT INTO api_keys (id, merchant_id, name, prefix, key_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&info.id).bind(merchant_id).bind(name).bind(&info.prefix).bind(key.hash().as_str()).bind(info.created_at)
            .execute(pool).await?;
    });
    Ok((key, info))
}

/// The merchant a presented key belongs to, if the key exists and is not revoked.
pub async fn authenticate(db: &Db, presented: &str) -> Result<Option<String>, DbError> {
    let hash = SecretHash::of(presented);
    let row: Option<(String,)> = with_pool!(db, pool => {
        sqlx::query_as("SELECT merchant_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL")
            .bind(hash.as_str()).fetch_optional(pool).await?
    });
    Ok(row.map(|(merchant_id,)| merchant_id))
}

/// A merchant's keys, newest first.
pub async fn list(db: &Db, merchant_id: &str) -> Result<Vec<ApiKeyInfo>, DbError> {
    Ok(with_pool!(db, pool => {
        sqlx::query_as("SELECT id, merchant_id, name, prefix, created_at, revoked_at FROM api_keys WHERE merchant_id = $1 ORDER BY created_at DESC")
            .bind(merchant_id).fetch_all(pool).await?
    }))
}

/// Revokes a key; it stops working at once.
pub async fn revoke(db: &Db, merchant_id: &str, key_id: &str) -> Result<(), DbError> {
    let done = with_pool!(db, write pool => {
        sqlx::query("UPDATE api_keys SET revoked_at = $3 WHERE id = $1 AND merchant_id = $2 AND revoked_at IS NULL")
            .bind(key_id).bind(merchant_id).bind(now_millis()).execute(pool).await?.rows_affected()
    });
    if done == 0 { Err(DbError::NotFound) } else { Ok(()) }
}
