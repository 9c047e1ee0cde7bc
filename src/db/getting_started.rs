//! The Overview's "Getting started" list: what a shop has really done (each step checked
//! against its data), and whether the shop closed the list.

use super::{Db, DbError, with_pool};
use crate::domain::{DeliveryMode, DeliveryOutcome, PaymentSource, now_millis};

/// Which steps a shop has done, and whether it closed the list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Progress {
    /// A product on sale: not archived, with files or a link to deliver.
    pub product_ready: bool,
    /// A payment provider reached the shop's webhook endpoint with a signature that verified
    /// (the dashboard's own "Send test event" does not count), or made an order.
    pub provider_connected: bool,
    /// An order exists, test or real.
    pub ordered: bool,
    /// A customer asked to sign in to the portal: customers know where it is.
    pub portal_used: bool,
    /// The shop closed the list.
    pub closed: bool,
}

impl Progress {
    /// Whether every step is done.
    pub fn all_done(&self) -> bool {
        self.product_ready && self.provider_connected && self.ordered && self.portal_used
    }
}

/// The shop's progress, in one round trip.
pub async fn progress(db: &Db, merchant_id: &str) -> Result<Progress, DbError> {
    with_pool!(db, pool => Ok(sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM products WHERE merchant_id = $1 AND active AND delivery_mode <> $2) \
           AS product_ready, \
         (EXISTS (SELECT 1 FROM webhook_deliveries WHERE merchant_id = $1 AND verified AND outcome <> $3) \
          OR EXISTS (SELECT 1 FROM orders WHERE merchant_id = $1 AND provider IN ($4, $5))) AS provider_connected, \
         EXISTS (SELECT 1 FROM orders WHERE merchant_id = $1) AS ordered, \
         EXISTS (SELECT 1 FROM sign_in_codes WHERE merchant_id = $1) AS portal_used, \
         EXISTS (SELECT 1 FROM getting_started_closed WHERE merchant_id = $1) AS closed",
    )
    .bind(merchant_id).bind(DeliveryMode::None).bind(DeliveryOutcome::Test)
    .bind(PaymentSource::Standard).bind(PaymentSource::Stripe)
    .fetch_one(pool).await?))
}

/// Closes the list for the shop (`closed: true`) or opens it again.
pub async fn set_closed(db: &Db, merchant_id: &str, closed: bool) -> Result<(), DbError> {
    with_pool!(db, write pool => {
        if closed {
            sqlx::query(
                "INSERT INTO getting_started_closed (merchant_id, closed_at) VALUES ($1, $2) \
                 ON CONFLICT (merchant_id) DO NOTHING",
            )
            .bind(merchant_id).bind(now_millis()).execute(pool).await?;
        } else {
            sqlx::query("DELETE FROM getting_started_closed WHERE merchant_id = $1")
                .bind(merchant_id).execute(pool).await?;
        }
    });
    Ok(())
}
