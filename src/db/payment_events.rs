//! Payment events: every verified webhook is kept, with what became of it, for the merchant
//! to see (and to assign by hand when it made no order).

use super::orders::EventRecord;
use super::{Db, DbError, found, new_id, with_pool};
use crate::domain::{Millis, PaymentEventStatus, PaymentSource, now_millis};

/// Keeps a verified event that made no order (unknown product, bad email, unknown payment).
pub async fn record_event(
    db: &Db,
    merchant_id: &str,
    provider: PaymentSource,
    event: EventRecord<'_>,
    payment_id: Option<&str>,
    status: PaymentEventStatus,
    detail: &str,
) -> Result<bool, DbError> {
    let inserted = with_pool!(db, write pool => {
        sqlx::query(
            "INSERT INTO payment_events (id, merchant_id, provider, event_id, event_type, payment_id, status, detail, \
             payload, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (merchant_id, provider, event_id) DO NOTHING",
        )
        .bind(new_id()).bind(merchant_id).bind(provider).bind(event.event_id).bind(event.event_type)
        .bind(payment_id).bind(status).bind(detail).bind(event.payload).bind(now_millis())
        .execute(pool).await?.rows_affected()
    });
    Ok(inserted == 1)
}

/// A payment event as the merchant sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PaymentEventRow {
    /// Id.
    pub id: String,
    /// Who sent it.
    pub provider: PaymentSource,
    /// Provider's event id.
    pub event_id: String,
    /// Provider's event type.
    pub event_type: String,
    /// Payment id, when known.
    pub payment_id: Option<String>,
    /// What became of it.
    pub status: PaymentEventStatus,
    /// Why it is unmatched.
    pub detail: String,
    /// Raw body.
    pub payload: String,
    /// The order it made.
    pub order_id: Option<String>,
    /// Arrival.
    pub received_at: Millis,
}

/// The merchant's payment events with `status` (all when None), newest first.
pub async fn events(
    db: &Db,
    merchant_id: &str,
    status: Option<PaymentEventStatus>,
    limit: i64,
) -> Result<Vec<PaymentEventRow>, DbError> {
    Ok(with_pool!(db, pool => {
        sqlx::query_as(
            "SELECT id, provider, event_id, event_type, payment_id, status, detail, payload, order_id, received_at \
             FROM payment_events WHERE merchant_id = $1 AND ($2 IS NULL OR status = $2) ORDER BY received_at DESC LIMIT $3",
        )
        .bind(merchant_id).bind(status).bind(limit).fetch_all(pool).await?
    }))
}

/// One of the merchant's payment events, by its row id.
pub async fn event(db: &Db, merchant_id: &str, id: &str) -> Result<PaymentEventRow, DbError> {
    with_pool!(db, pool => found(sqlx::query_as(
        "SELECT id, provider, event_id, event_type, payment_id, status, detail, payload, order_id, received_at \
         FROM payment_events WHERE merchant_id = $1 AND id = $2",
    ).bind(merchant_id).bind(id).fetch_optional(pool).await?))
}

/// Events of one order (the payment and any refund).
pub async fn events_of_order(db: &Db, merchant_id: &str, order_id: &str) -> Result<Vec<PaymentEventRow>, DbError> {
    Ok(with_pool!(db, pool => {
        sqlx::query_as(
            "SELECT e.id, e.provider, e.event_id, e.event_type, e.payment_id, e.status, e.detail, e.payload, e.order_id, \
             e.received_at FROM payment_events e JOIN orders o ON o.merchant_id = e.merchant_id \
             AND o.provider = e.provider AND o.payment_id = e.payment_id \
             WHERE e.merchant_id = $1 AND o.id = $2 ORDER BY e.received_at",
        )
        .bind(merchant_id).bind(order_id).fetch_all(pool).await?
    }))
}
