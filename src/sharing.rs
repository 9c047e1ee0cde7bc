//! The link-sharing brake (issue 17, item 2): each counted download through an order's email
//! link records the client's network; past the shop's allowance (more than N distinct networks
//! within M hours) `sharing.suspected` goes out, and under the "lock" policy the email link is
//! locked and `sharing.locked` goes out. The customer portal is never counted nor locked
//! (DESIGN.md rule 5). The merchant unlocks a link, or gives the order a new one (emailed).
//!
//! The download path pays nothing while the policy is off (the policy rides with the cached
//! order) and one upsert per counted download while it is on.

use crate::db::DbError;
use crate::db::orders::{self as db_orders, OrderDetail};
use crate::db::sharing::{self as db_sharing, Flagged};
use crate::domain::{
    DownloadToken, OrderStatus, SharingMode, SharingPolicy, agent_family, network_of, now_millis, verdict,
};
use crate::orders::{OrderError, Resent, resend_purchase_email};
use crate::state::AppState;

/// Records a counted download of `detail`'s email link by `client` (address, user agent) and
/// applies the shop's policy. Never fails the download: a failure is logged.
pub async fn counted(state: &AppState, detail: &OrderDetail, client: &(String, String)) {
    let policy = detail.sharing;
    if policy.mode == SharingMode::Off {
        return;
    }
    // An unknown address (no peer, say) is no network to count.
    let Some(network) = network_of(&client.0) else { return };
    let agent = agent_family(&client.1);
    let order = &detail.order;
    let now = now_millis();
    let window_start = policy.window_start(now);
    let recorded = db_sharing::record(&state.db, &order.id, (&network, &agent), now, window_start, policy.rows_kept());
    let seen = match recorded.await {
        Ok(seen) => seen,
        Err(e) => {
            tracing::warn!(order_id = %order.id, error = %e, "could not record the network of a download");
            return;
        }
    };
    let decided = verdict(&policy, &seen, now);
    if !decided.any() {
        return;
    }
    match db_sharing::flag(&state.db, &order.merchant_id, &order.id, now, window_start, decided.lock).await {
        Ok(flagged) => announce(state, &order.id, seen.networks, flagged).await,
        Err(e) => tracing::warn!(order_id = %order.id, error = %e, "could not flag a shared link"),
    }
}

async fn announce(state: &AppState, order_id: &str, networks: i64, flagged: Flagged) {
    if flagged.locked {
        tracing::info!(order_id, networks, "email link locked: downloaded from too many networks");
        // Every process must stop serving the link now, not when its cached order ages out.
        state.order_cache.forget_everywhere(&state.db).await;
    } else if flagged.suspected {
        tracing::info!(order_id, networks, "email link suspected of sharing");
    }
    if flagged.suspected || flagged.locked {
        state.events_out.wake();
    }
}

/// Unlocks the email link of one of `merchant_id`'s orders; networks are counted afresh from
/// now (those seen stay listed on the order page).
#[tracing::instrument(skip(state))]
pub async fn unlock(state: &AppState, merchant_id: &str, order_id: &str) -> Result<(), OrderError> {
    db_sharing::unlock(&state.db, merchant_id, order_id, now_millis()).await.map_err(OrderError::missing("order"))?;
    state.order_cache.forget_everywhere(&state.db).await;
    Ok(())
}

/// Gives one of `merchant_id`'s orders a new email link and emails it to the customer (as a
/// resent purchase email, within the resend limit): the old link answers like an unknown one
/// from now on. A revoked order is refused ([`OrderError::Revoked`]).
#[tracing::instrument(skip(state))]
pub async fn rotate(state: &AppState, merchant_id: &str, order_id: &str) -> Result<Resent, OrderError> {
    let detail = db_orders::get(&state.db, merchant_id, order_id).await.map_err(OrderError::missing("order"))?;
    if detail.order.status == OrderStatus::Revoked {
        return Err(OrderError::Revoked);
    }
    let salt = DownloadToken::new_salt();
    let hash = DownloadToken::derive(&state.secrets.key(), &salt).hash();
    let new = (salt.as_str(), hash.as_str());
    db_sharing::rotate(&state.db, merchant_id, order_id, new, now_millis())
        .await
        .map_err(OrderError::missing("order"))?;
    // The old token's cached order must go everywhere at once.
    state.order_cache.forget_everywhere(&state.db).await;
    resend_purchase_email(state, merchant_id, order_id).await
}

/// Saves a shop's policy. It applies to every order's email link at once: the cached orders
/// carry the policy, so every process forgets them.
#[tracing::instrument(skip(state))]
pub async fn set_policy(state: &AppState, merchant_id: &str, policy: &SharingPolicy) -> Result<(), DbError> {
    db_sharing::set_policy(&state.db, merchant_id, policy).await?;
    state.order_cache.forget_everywhere(&state.db).await;
    Ok(())
}
