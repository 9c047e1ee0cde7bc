//! Revoking and restoring a customer's access to an order, by hand (the API and the
//! dashboard offer the same two actions).

use super::{OrderError, OrderEvent, emit};
use crate::db::orders;
use crate::state::AppState;

/// Revokes access to one of `merchant_id`'s orders: its links answer 404 at once, in every
/// process (each one's order cache is emptied).
#[tracing::instrument(skip(state))]
pub async fn revoke(state: &AppState, merchant_id: &str, order_id: &str) -> Result<(), OrderError> {
    set_revoked(state, merchant_id, order_id, true).await?;
    emit(OrderEvent::Revoked { merchant_id: merchant_id.to_owned(), order_id: order_id.to_owned() });
    Ok(())
}

/// Restores access to a revoked order of `merchant_id`'s.
#[tracing::instrument(skip(state))]
pub async fn restore(state: &AppState, merchant_id: &str, order_id: &str) -> Result<(), OrderError> {
    set_revoked(state, merchant_id, order_id, false).await?;
    emit(OrderEvent::Restored { merchant_id: merchant_id.to_owned(), order_id: order_id.to_owned() });
    Ok(())
}

async fn set_revoked(state: &AppState, merchant_id: &str, order_id: &str, revoked: bool) -> Result<(), OrderError> {
    orders::set_revoked(&state.db, merchant_id, order_id, revoked).await.map_err(OrderError::missing("order"))?;
    // Its event was queued with the change: the delivery worker sends it now.
    state.events_out.wake();
    state.order_cache.forget_everywhere(&state.db).await;
    Ok(())
}

/// Tells the shop's endpoints that someone opened the expired link of order `order_id`
/// (`link.expired_hit`), at most once a day per order. Best effort: the visitor gets the
/// expired page whatever happens here.
#[tracing::instrument(skip(state))]
pub async fn expired_link_hit(state: &AppState, merchant_id: &str, order_id: &str, expired_at: crate::domain::Millis) {
    match crate::db::event_outbox::record_expired_hit(&state.db, merchant_id, order_id, expired_at).await {
        Ok(0) => {}
        Ok(_) => state.events_out.wake(),
        Err(e) => tracing::warn!(error = %e, "could not queue link.expired_hit"),
    }
}
