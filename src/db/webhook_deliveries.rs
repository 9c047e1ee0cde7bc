//! The webhook deliveries log: every delivery to a shop's endpoint, refused ones included,
//! with what it did. A delivery that makes an order is written in the order's transaction
//! ([`insert_on`]); the others on their own ([`insert`]). Trimmed by [`trim`].

use super::{Db, DbError, WriteTx, new_id, on_tx, with_pool};
use crate::domain::{DeliveryOutcome, Millis, PaymentSource};

/// A delivery to write.
#[derive(Debug, Clone, Copy)]
pub struct NewDelivery<'a> {
    /// The shop whose endpoint it reached.
    pub merchant_id: &'a str,
    /// Which endpoint: `standard` or `stripe`.
    pub provider: PaymentSource,
    /// Arrival.
    pub received_at: Millis,
    /// The event's type, when its body could be read.
    pub event_type: Option<&'a str>,
    /// The provider's event id, when verified.
    pub event_id: Option<&'a str>,
    /// Whether its signature verified.
    pub verified: bool,
    /// What it did.
    pub outcome: DeliveryOutcome,
    /// Why it was refused, or what an unmatched or ignored event lacked.
    pub detail: &'a str,
    /// The order it made or concerned.
    pub order_id: Option<&'a str>,
}

/// A delivery as the deliveries page shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Delivery {
    /// Id.
    pub id: String,
    /// Which endpoint.
    pub provider: PaymentSource,
    /// Arrival.
    pub received_at: Millis,
    /// Event type, when readable.
    pub event_type: Option<String>,
    /// Provider's event id, when verified.
    pub event_id: Option<String>,
    /// Whether it verified.
    pub verified: bool,
    /// What it did.
    pub outcome: DeliveryOutcome,
    /// Refusal reason or detail.
    pub detail: String,
    /// The order it made or concerned.
    pub order_id: Option<String>,
}

const INSERT: &str = "INSERT INTO webhook_deliveries (id, merchant_id, provider, received_at, event_type, event_id, \
     verified, outcome, detail, order_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

const COLUMNS: &str = "id, provider, received_at, event_type, event_id, verified, outcome, detail, order_id";

/// Writes a delivery on its own.
pub async fn insert(db: &Db, d: &NewDelivery<'_>) -> Result<(), DbError> {
    with_pool!(db, write pool => {
        sqlx::query(INSERT)
            .bind(new_id()).bind(d.merchant_id).bind(d.provider).bind(d.received_at).bind(d.event_type)
            .bind(d.event_id).bind(d.verified).bind(d.outcome).bind(d.detail).bind(d.order_id)
            .execute(pool).await?;
    });
    Ok(())
}

/// Writes a delivery inside a transaction under way (the order it made).
pub(crate) async fn insert_on(tx: &mut WriteTx, d: &NewDelivery<'_>) -> Result<(), DbError> {
    on_tx!(tx, conn => {
        sqlx::query(INSERT)
            .bind(new_id()).bind(d.merchant_id).bind(d.provider).bind(d.received_at).bind(d.event_type)
            .bind(d.event_id).bind(d.verified).bind(d.outcome).bind(d.detail).bind(d.order_id)
            .execute(conn).await?;
    });
    Ok(())
}

/// The shop's newest deliveries, at most `limit`, newest first.
pub async fn newest(db: &Db, merchant_id: &str, limit: i64) -> Result<Vec<Delivery>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM webhook_deliveries WHERE merchant_id = $1 \
         ORDER BY received_at DESC, id DESC LIMIT $2"
    ));
    with_pool!(db, pool => Ok(sqlx::query_as(sql).bind(merchant_id).bind(limit).fetch_all(pool).await?))
}

/// The shop's newest delivery that verified, if any (the Overview's "last event received").
pub async fn last_verified(db: &Db, merchant_id: &str) -> Result<Option<Delivery>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM webhook_deliveries WHERE merchant_id = $1 AND verified \
         ORDER BY received_at DESC, id DESC LIMIT 1"
    ));
    with_pool!(db, pool => Ok(sqlx::query_as(sql).bind(merchant_id).fetch_optional(pool).await?))
}

/// Deletes deliveries received before `older_than`, and each shop's beyond its newest `keep`;
/// returns how many.
pub async fn trim(db: &Db, keep: i64, older_than: Millis) -> Result<u64, DbError> {
    let done = with_pool!(db, write pool => {
        let old = sqlx::query("DELETE FROM webhook_deliveries WHERE received_at < $1")
            .bind(older_than).execute(pool).await?.rows_affected();
        let beyond = sqlx::query(
            "DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM (SELECT id, ROW_NUMBER() OVER \
             (PARTITION BY merchant_id ORDER BY received_at DESC, id DESC) AS n FROM webhook_deliveries) ranked \
             WHERE n > $1)",
        )
        .bind(keep).execute(pool).await?.rows_affected();
        old + beyond
    });
    Ok(done)
}
