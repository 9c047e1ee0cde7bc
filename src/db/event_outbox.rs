//! The events-out outbox: one `event_deliveries` row per event and subscribed endpoint, written
//! inside the transaction of the order operation the event tells of, so an event is queued if
//! and only if its operation committed.

use super::{DbError, WriteTx, on_tx};
use crate::domain::{Millis, order_event_payload};

/// An order's facts as an event carries them (ids and amounts: no email, no token).
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct OrderFacts {
    pub(crate) id: String,
    pub(crate) customer_id: String,
    pub(crate) provider: String,
    pub(crate) payment_id: String,
    pub(crate) amount_minor: i64,
    pub(crate) currency: String,
    pub(crate) status: String,
    pub(crate) test: bool,
    pub(crate) created_at: Millis,
    pub(crate) refunded_at: Option<Millis>,
    pub(crate) revoked_at: Option<Millis>,
}

/// Queues `event_type` (`order.created`, …) about `order_id` for each of the shop's enabled
/// endpoints subscribed to it, inside `tx`. Returns how many deliveries were queued.
pub(crate) async fn queue_order_event(
    tx: &mut WriteTx,
    merchant_id: &str,
    order_id: &str,
    event_type: &str,
    now: Millis,
) -> Result<u64, DbError> {
    let facts: OrderFacts = on_tx!(tx, conn => {
        sqlx::query_as(
            "SELECT id, customer_id, provider, payment_id, amount_minor, currency, status, test, created_at, \
             refunded_at, revoked_at FROM orders WHERE id = $1 AND merchant_id = $2",
        )
        .bind(order_id).bind(merchant_id).fetch_one(conn).await?
    });
    let (event_id, payload) = order_event_payload(event_type, now, &facts.into());
    // `events` is space-separated; `_` is a LIKE wildcard, so it is escaped.
    let pattern = format!("% {} %", event_type.replace('\\', "\\\\").replace('_', "\\_").replace('%', "\\%"));
    let queued = on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO event_deliveries (id, event_id, endpoint_id, merchant_id, event_type, payload, created_at, \
             next_attempt_at) SELECT $1 || '.' || id, $1, id, merchant_id, $2, $3, $4, $4 FROM webhook_endpoints \
             WHERE merchant_id = $5 AND enabled = TRUE AND (' ' || events || ' ') LIKE $6 ESCAPE '\\'",
        )
        .bind(&event_id).bind(event_type).bind(&payload).bind(now).bind(merchant_id).bind(&pattern)
        .execute(conn).await?.rows_affected()
    });
    Ok(queued)
}

impl From<OrderFacts> for crate::domain::OrderEventData {
    fn from(f: OrderFacts) -> Self {
        crate::domain::OrderEventData {
            order_id: f.id,
            customer_id: f.customer_id,
            provider: f.provider,
            payment_id: f.payment_id,
            amount_minor: f.amount_minor,
            currency: f.currency,
            status: f.status,
            test: f.test,
            created_at: f.created_at,
            refunded_at: f.refunded_at,
            revoked_at: f.revoked_at,
        }
    }
}
