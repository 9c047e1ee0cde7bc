//! `/d/{token}…`: the links of a purchase email: the order's page, its file downloads and its
//! external-link redirects.
//!
//! Unknown, tampered and revoked tokens get the same 404 page (no oracle, as DESIGN.md's table
//! of bad input says); an expired link or a used-up download count gets 410 naming the shop,
//! with a way to its customer portal. Refused download tries are logged with their answer, like served ones.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use tracing::field::Empty;

use crate::db::merchants;
use crate::db::orders::OrderDetail;
use crate::domain::{DeliveryMode, OrderStatus, SecretHash, now_millis};
use crate::download_log::DownloadEvent;
use crate::http::{PageError, PageResult};
use crate::state::AppState;

mod cap;
mod download;
mod locked;
mod offload;
mod page;
mod zip;
pub use download::{client_of, download, file_event, serve_file, served};
pub use offload::{handed_over, redirect as offloaded};
pub use page::page;
pub use zip::download_all;

/// Finds the order a token opens, whatever its state: 404 for an unknown or tampered token.
pub async fn find(state: &AppState, token: &str) -> PageResult<Arc<OrderDetail>> {
    if !token_shaped(token) {
        return Err(PageError::LinkNotFound);
    }
    let found = state.order_cache.get(&state.db, SecretHash::of(token).as_str()).await;
    let Some(detail) = found.map_err(PageError::internal)? else {
        return Err(PageError::LinkNotFound);
    };
    // The handlers' spans name the order (never the token).
    tracing::Span::current().record("order_id", detail.order.id.as_str());
    Ok(detail)
}

/// Whether the link of a found order still opens it (only paid and refunded orders, before the
/// link expires, open): a revoked order answers the 404 of an unknown token, an expired link
/// 410 naming the shop.
pub async fn admit(state: &AppState, detail: &OrderDetail) -> PageResult<()> {
    if detail.order.status == OrderStatus::Revoked {
        return Err(PageError::LinkNotFound);
    }
    locked::check(state, detail).await?;
    let expired_at = match detail.order.link_expires_at {
        Some(at) if at <= now_millis() => at,
        _ => return Ok(()),
    };
    let merchant_id = &detail.order.merchant_id;
    crate::orders::expired_link_hit(state, merchant_id, &detail.order.id, expired_at).await;
    let merchant = merchants::get(&state.db, merchant_id).await.ok();
    Err(PageError::link_expired(merchant.as_ref(), merchant_id))
}

/// Finds the order a token opens and admits it ([`find`], then [`admit`]).
pub async fn open(state: &AppState, token: &str) -> PageResult<Arc<OrderDetail>> {
    let detail = find(state, token).await?;
    admit(state, &detail).await?;
    Ok(detail)
}

/// Logs a download try that was refused with `error` (an expired, revoked or used-up link)
/// and hands the error back. The log keeps the latest refusals of an order only
/// ([`crate::db::downloads::REFUSED_KEPT`]), so a client hammering a dead link cannot grow it.
pub(crate) async fn refused(
    state: &AppState,
    order_id: &str,
    (file_position, item_position): (Option<i64>, Option<i64>),
    client: (String, String),
    error: PageError,
) -> PageError {
    let (ip, user_agent) = client;
    let event = DownloadEvent {
        order_id: order_id.to_owned(),
        file_position,
        item_position,
        at: now_millis(),
        ip,
        user_agent,
        status: error.status().as_u16(),
        range_start: None,
        bytes_requested: 0,
        counted: false,
        increment: false,
        release_number: None,
    };
    state.downloads.record(event).await;
    error
}

/// Whether `token` has the shape of a download token: 43 base64url characters (256 bits).
/// Anything else cannot match, so the lookup is skipped.
pub(crate) fn token_shaped(token: &str) -> bool {
    crate::domain::link_token_shaped(token)
}

/// `GET /d/{token}/link`: the first external link of the order.
#[tracing::instrument(skip_all, fields(order_id = Empty))]
pub async fn first_link(
    State(state): State<AppState>,
    Path(token): Path<String>,
    request: axum::extract::Request,
) -> PageResult {
    redirect(&state, &token, None, download::client_of(&request)).await
}

/// `GET /d/{token}/link/{n}`: the external link of the order's n-th product.
#[tracing::instrument(skip_all, fields(order_id = Empty, n = Empty))]
pub async fn nth_link(
    State(state): State<AppState>,
    Path((token, n)): Path<(String, i64)>,
    request: axum::extract::Request,
) -> PageResult {
    tracing::Span::current().record("n", n);
    redirect(&state, &token, Some(n), download::client_of(&request)).await
}

async fn redirect(state: &AppState, token: &str, n: Option<i64>, (ip, user_agent): (String, String)) -> PageResult {
    let detail = find(state, token).await?;
    let item = detail.items.iter().find(|i| {
        i.delivery_mode == DeliveryMode::ExternalLink && i.external_url.is_some() && n.is_none_or(|n| i.position == n)
    });
    let url = item.and_then(|i| i.external_url.clone()).ok_or(PageError::LinkNotFound)?;
    let position = item.map_or(0, |i| i.position);
    if let Err(error) = admit(state, &detail).await {
        let client = (ip, user_agent);
        return Err(refused(state, &detail.order.id, (None, Some(position)), client, error).await);
    }
    let client = (ip, user_agent);
    crate::sharing::counted(state, &detail, &client).await;
    state.downloads.record(link_event(&detail.order.id, position, client, true)).await;
    Ok(redirect_to(&url))
}

/// The download log's entry for following the external link of item `item_position`.
pub fn link_event(
    order_id: &str,
    item_position: i64,
    (ip, user_agent): (String, String),
    counted: bool,
) -> DownloadEvent {
    DownloadEvent {
        order_id: order_id.to_owned(),
        file_position: None,
        item_position: Some(item_position),
        at: now_millis(),
        ip,
        user_agent,
        status: 302,
        range_start: None,
        bytes_requested: 0,
        counted,
        increment: counted,
        release_number: None,
    }
}

/// A redirect to a merchant's external link that neither caches nor tells it where it came from.
pub fn redirect_to(url: &str) -> Response {
    (
        StatusCode::FOUND,
        [(header::LOCATION, url), (header::CACHE_CONTROL, "no-store"), (header::REFERRER_POLICY, "no-referrer")],
    )
        .into_response()
}
