//! The fingerprint of the signing key this database's processes use (never the key itself).

use super::{Db, DbError, with_pool};
use crate::domain::{Millis, now_millis};

/// The fingerprint on record and when it was recorded.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RecordedFingerprint {
    /// HMAC-SHA256 hex of a fixed label under the key.
    pub fingerprint: String,
    /// When it was recorded (first start, or the last deliberate replacement).
    pub recorded_at: Millis,
}

/// Records `fingerprint` when the database has none yet; returns the one on record (this one
/// on first start, whatever an earlier process recorded otherwise).
pub(crate) async fn record_or_get(db: &Db, fingerprint: &str) -> Result<RecordedFingerprint, DbError> {
    with_pool!(db, write pool => {
        sqlx::query(
            "INSERT INTO signing_key_fingerprint (id, fingerprint, recorded_at) VALUES (1, $1, $2) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(fingerprint)
        .bind(now_millis())
        .execute(pool)
        .await?;
    });
    let recorded = with_pool!(db, pool => {
        sqlx::query_as::<_, RecordedFingerprint>(
            "SELECT fingerprint, recorded_at FROM signing_key_fingerprint WHERE id = 1",
        )
        .fetch_one(pool)
        .await?
    });
    Ok(recorded)
}

/// Replaces the fingerprint on record (a deliberate change of key).
pub(crate) async fn replace(db: &Db, fingerprint: &str) -> Result<(), DbError> {
    with_pool!(db, write pool => {
        sqlx::query("UPDATE signing_key_fingerprint SET fingerprint = $1, recorded_at = $2 WHERE id = 1")
            .bind(fingerprint)
            .bind(now_millis())
            .execute(pool)
            .await?;
    });
    Ok(())
}
