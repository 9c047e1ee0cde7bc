//! Resending an order's purchase email (same links) to its customer, with a limit so a stuck
//! button cannot flood a customer's inbox.

use super::{OrderError, OrderEvent, emit};
use crate::db::emails::{self, EmailRow};
use crate::db::orders;
use crate::domain::OrderStatus;
use crate::state::AppState;

/// Resends allowed per order within [`RESEND_WINDOW_MS`].
pub const RESEND_LIMIT: i64 = 3;
/// The window of [`RESEND_LIMIT`]: one hour.
pub const RESEND_WINDOW_MS: i64 = 3_600_000;

/// What asking for a resend did.
#[derive(Debug)]
pub enum Resent {
    /// Queued: the new email.
    Queued(Box<EmailRow>),
    /// Resent too often lately: when to try again, and a sentence saying so.
    Limited {
        /// Seconds until another resend is allowed.
        retry_after_seconds: i64,
        /// What to tell the merchant.
        message: String,
    },
}

/// Queues another copy of an order's purchase email and wakes the outbox. A revoked order is
/// refused ([`OrderError::Revoked`]); past [`RESEND_LIMIT`] an hour the answer is
/// [`Resent::Limited`].
#[tracing::instrument(skip(state))]
pub async fn resend_purchase_email(state: &AppState, merchant_id: &str, order_id: &str) -> Result<Resent, OrderError> {
    let detail = orders::get(&state.db, merchant_id, order_id).await.map_err(OrderError::missing("order"))?;
    if detail.order.status == OrderStatus::Revoked {
        return Err(OrderError::Revoked);
    }
    match emails::resend(&state.db, merchant_id, order_id, RESEND_LIMIT, RESEND_WINDOW_MS)
        .await
        .map_err(OrderError::missing("order"))?
    {
        emails::Resend::Queued(email) => {
            state.mail.wake();
            let (merchant_id, order_id, email_id) = (merchant_id.to_owned(), order_id.to_owned(), email.id.clone());
            emit(OrderEvent::EmailQueued { merchant_id, order_id, email_id });
            Ok(Resent::Queued(email))
        }
        emails::Resend::Limited { retry_at } => {
            let seconds = ((retry_at - crate::domain::now_millis()) / 1000).max(1);
            let minutes = (seconds + 59) / 60;
            let message = format!(
                "this order's email was already resent {RESEND_LIMIT} times in the last hour; \
                 try again in {minutes} minute{}",
                if minutes == 1 { "" } else { "s" }
            );
            Ok(Resent::Limited { retry_after_seconds: seconds, message })
        }
    }
}
