//! The support tools of the dashboard's order page: giving a file's downloads back, and
//! extending an expired (or expiring) link. Revoking lives in [`super::access`].

use super::{OrderError, OrderEvent, emit};
use crate::db::{caps, merchants, orders};
use crate::domain::{Millis, now_millis};
use crate::state::AppState;

/// Gives file `position` of one of `merchant_id`'s orders all its downloads back: its count
/// goes to zero, so a capped file refused with 410 downloads again at once.
#[tracing::instrument(skip(state))]
pub async fn reset_downloads(
    state: &AppState,
    merchant_id: &str,
    order_id: &str,
    position: i64,
) -> Result<(), OrderError> {
    caps::reset_downloads(&state.db, merchant_id, order_id, position).await.map_err(OrderError::missing("file"))?;
    // The delivery page shows downloads left from the cached order.
    state.order_cache.forget_everywhere(&state.db).await;
    emit(OrderEvent::DownloadsReset { merchant_id: merchant_id.to_owned(), order_id: order_id.to_owned(), position });
    Ok(())
}

/// Until when [`extend_link`] makes an order's link work when done at `now`, for a shop whose
/// link policy is `link_expiry_seconds`: as long again as a new order's link, counted from
/// now; a shop whose links no longer expire gives a link that never expires.
pub fn extended_until(link_expiry_seconds: Option<i64>, now: Millis) -> Option<Millis> {
    link_expiry_seconds.map(|seconds| now.saturating_add(seconds.saturating_mul(1000)))
}

/// Whether "Extend link" is worth offering for a link expiring at `current`: it has expired,
/// or extending now would add at least half the policy's time (a fresh link gains nothing
/// much). A shop that no longer expires links can always make one permanent.
pub fn worth_extending(link_expiry_seconds: Option<i64>, current: Millis, now: Millis) -> bool {
    match (extended_until(link_expiry_seconds, now), link_expiry_seconds) {
        (Some(until), Some(seconds)) => current <= now || until - current >= seconds.saturating_mul(500),
        _ => true,
    }
}

/// Extends the link of one of `merchant_id`'s orders by the shop's link policy from now
/// ([`extended_until`]); a link already working longer keeps its expiry. Returns the new one.
#[tracing::instrument(skip(state))]
pub async fn extend_link(state: &AppState, merchant_id: &str, order_id: &str) -> Result<Option<Millis>, OrderError> {
    let merchant = merchants::get(&state.db, merchant_id).await?;
    let until = extended_until(merchant.link_expiry_seconds, now_millis());
    let until =
        orders::extend_link(&state.db, merchant_id, order_id, until).await.map_err(OrderError::missing("order"))?;
    state.order_cache.forget_everywhere(&state.db).await;
    emit(OrderEvent::LinkExtended { merchant_id: merchant_id.to_owned(), order_id: order_id.to_owned(), until });
    Ok(until)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extending_counts_the_shops_policy_from_now() {
        let day = 86_400;
        assert_eq!(extended_until(Some(day), 1_000), Some(1_000 + 86_400_000));
        assert_eq!(extended_until(None, 1_000), None);
        assert_eq!(extended_until(Some(i64::MAX), 1_000), Some(i64::MAX), "saturates");
    }

    #[test]
    fn extending_is_offered_once_it_would_give_real_time() {
        let (day, now) = (86_400, 10 * 86_400_000);
        assert!(worth_extending(Some(day), now - 1, now), "expired");
        assert!(!worth_extending(Some(day), now + 86_000_000, now), "fresh: gains minutes");
        assert!(worth_extending(Some(day), now + 40_000_000, now), "more than half used");
        assert!(worth_extending(None, now + 86_000_000, now), "can be made permanent");
    }
}
