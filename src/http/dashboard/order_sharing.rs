//! The order page's "Link sharing" card: the networks the email link was downloaded from, the
//! lock, and the merchant's two ways out: "Unlock link" (`POST …/unlock-link`) and "Send a new
//! link" (`POST …/new-link`: the old link stops working, the new one is emailed). The work is
//! in [`crate::sharing`]; these handlers only parse and render.

use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::order::back;
use super::orders::when;
use super::sign_in::Empty;
use super::{PageResult, Verified};
use crate::db::orders::Order;
use crate::db::sharing::{self as db_sharing, NetworkRow};
use crate::domain::{SharingMode, SharingPolicy};
use crate::http::Error;
use crate::orders::Resent;
use crate::state::AppState;

/// Networks listed on the order page (the most recently seen).
const NETWORKS_SHOWN: i64 = 50;

/// One network on the card.
pub(super) struct NetworkView {
    pub network: String,
    pub agent: String,
    pub first_seen: String,
    pub last_seen: String,
    pub downloads: i64,
}

/// The card, as the order page's template shows it.
pub(super) struct SharingCard {
    /// The shop's policy in words.
    pub policy: String,
    /// "Locked on …" while the email link is locked.
    pub locked: Option<String>,
    /// "Suspected on …" once `sharing.suspected` went out.
    pub suspected: Option<String>,
    /// Counted afresh since (the last unlock or new link).
    pub reset: Option<String>,
    pub networks: Vec<NetworkView>,
    /// Networks kept in all (more than shown when over [`NETWORKS_SHOWN`]).
    pub total: i64,
    /// The order is revoked: no new link can be sent.
    pub revoked: bool,
}

fn policy_words(policy: &SharingPolicy) -> String {
    let (n, m) = (policy.max_networks, policy.window_hours);
    let hours = if m == 1 { "hour".to_owned() } else { format!("{m} hours") };
    match policy.mode {
        SharingMode::Off => "Off: downloads are not checked for sharing (turn it on in Settings).".to_owned(),
        SharingMode::Notify => format!("Notify when the email link is used from more than {n} networks in {hours}."),
        SharingMode::Lock => format!("Lock the email link when it is used from more than {n} networks in {hours}."),
    }
}

/// The card of `order` at `merchant_id`'s shop.
pub(super) async fn card(
    state: &AppState,
    merchant_id: &str,
    order: &Order,
    revoked: bool,
) -> Result<SharingCard, Error> {
    let policy = db_sharing::policy(&state.db, merchant_id).await?;
    let seen = db_sharing::of_order(&state.db, merchant_id, &order.id, NETWORKS_SHOWN).await?;
    let view = |n: NetworkRow| NetworkView {
        network: n.network,
        agent: n.agent,
        first_seen: when(n.first_seen),
        last_seen: when(n.last_seen),
        downloads: n.downloads,
    };
    Ok(SharingCard {
        policy: policy_words(&policy),
        locked: order.link_locked_at.map(|at| format!("Locked on {}", when(at))),
        suspected: seen.suspected_at.map(|at| format!("Sharing suspected on {}", when(at))),
        reset: seen.reset_at.map(when),
        networks: seen.networks.into_iter().map(view).collect(),
        total: seen.total,
        revoked,
    })
}

/// `POST /dashboard/orders/{id}/unlock-link`: the email link works again; networks are counted
/// afresh from now.
#[tracing::instrument(skip_all, fields(merchant_id = %form.user.merchant.id, order_id = %id))]
pub async fn unlock(State(state): State<AppState>, Path(id): Path<String>, form: Verified<Empty>) -> PageResult {
    crate::sharing::unlock(&state, &form.user.merchant.id, &id).await?;
    back(&id, "link-unlocked")
}

/// `POST /dashboard/orders/{id}/new-link`: a new email link, sent to the customer; the old
/// one stops working. Past the hourly resend limit the link is replaced all the same and the
/// page says when it can be emailed (429).
#[tracing::instrument(skip_all, fields(merchant_id = %form.user.merchant.id, order_id = %id))]
pub async fn new_link(State(state): State<AppState>, Path(id): Path<String>, form: Verified<Empty>) -> PageResult {
    match crate::sharing::rotate(&state, &form.user.merchant.id, &id).await? {
        Resent::Queued(_) => back(&id, "link-rotated"),
        Resent::Limited { message, .. } => {
            let why = format!(
                "The old link no longer works and the new one is above, but it could not be emailed now: {message}. \
                 Copy the link to the customer, or use “Resend email” later."
            );
            super::order::refused(&state, &form.user, &id, (StatusCode::TOO_MANY_REQUESTS, why)).await
        }
    }
}
