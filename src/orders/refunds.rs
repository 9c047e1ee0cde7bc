//! Refunds reported by a payment provider, including the one that arrives before its payment
//! (kept as unmatched until the payment makes its order, which applies it in its own
//! transaction: see `db::orders::create`).

use super::{OrderError, OrderEvent, emit};
use crate::db::merchants::Merchant;
use crate::db::orders::{self, EventRecord};
use crate::db::payment_events;
use crate::domain::{DeliveryOutcome, PaymentEventStatus, PaymentSource};
use crate::state::AppState;

/// Applies a provider's refund of `payment_id` (its webhook event `event`): the order is
/// marked refunded (and revoked when the merchant chose "revoke on refund"), and its links
/// change at once in this process. A refund of a payment with no order yet is kept as
/// unmatched, and applied when the payment arrives. A retried event changes nothing: it must
/// not revoke again an order the merchant has restored since. Answers what it did: a refund
/// applied, kept as unmatched, or a duplicate.
#[tracing::instrument(skip_all, fields(merchant_id = %merchant.id, provider = %provider))]
pub async fn refund_payment(
    state: &AppState,
    merchant: &Merchant,
    provider: PaymentSource,
    payment_id: &str,
    event: EventRecord<'_>,
) -> Result<DeliveryOutcome, OrderError> {
    let order = orders::by_payment(&state.db, &merchant.id, provider, payment_id).await?;
    let (status, detail) = match &order {
        Some(_) => (PaymentEventStatus::Refund, String::new()),
        None => (PaymentEventStatus::Unmatched, format!("no order has payment id {payment_id}")),
    };
    // The event is stored first, so a retry is recognised.
    let first_time =
        payment_events::record_event(&state.db, &merchant.id, provider, event, Some(payment_id), status, &detail)
            .await?;
    if !first_time {
        return Ok(DeliveryOutcome::Duplicate);
    }
    if order.is_none() {
        emit(OrderEvent::RefundKept { merchant_id: merchant.id.clone(), payment_id: payment_id.to_owned() });
        return Ok(DeliveryOutcome::Unmatched);
    }
    apply(state, merchant, provider, payment_id).await?;
    Ok(DeliveryOutcome::Refund)
}

async fn apply(
    state: &AppState,
    merchant: &Merchant,
    provider: PaymentSource,
    payment_id: &str,
) -> Result<(), OrderError> {
    let refunded = orders::refund(&state.db, &merchant.id, provider, payment_id, merchant.revoke_on_refund).await?;
    state.order_cache.forget_everywhere(&state.db).await;
    if let Some(order_id) = refunded {
        emit(OrderEvent::Refunded { merchant_id: merchant.id.clone(), order_id });
        state.events_out.wake();
    }
    Ok(())
}
