//! `GET|HEAD /portal/{merchant}/files/{order}/{n}?e=…&s=…` and `GET …/link/{order}/{n}?e=…&s=…`:
//! a signed portal URL opens one file (streamed like `/d/…`: ranges, ETag, Content-Disposition)
//! or one external link. No cookie is needed (download managers have none); the signature
//! binds shop, order and file, and lasts 10 minutes. With storage offload a file is a redirect
//! to the store's presigned URL instead (like `/d/…`); "Download all" still streams from here.
//!
//! Portal downloads ignore the email link's expiry and download cap, and do not count against
//! the cap either: they are logged as download events, not counted.

use axum::extract::{Path, RawQuery, Request, State};
use tracing::field::Empty;

use super::open_signed;
use crate::domain::{DeliveryMode, PortalTarget};
use crate::http::order_links::{
    client_of, file_event, handed_over, link_event, offloaded, redirect_to, serve_file, served,
};
use crate::http::ranged;
use crate::http::{PageError, PageResult};
use crate::state::AppState;

/// `GET|HEAD /portal/{merchant}/files/{order}/{n}`
#[tracing::instrument(skip_all, fields(merchant_id = Empty, order_id = Empty, n = n))]
pub async fn file(
    State(state): State<AppState>,
    Path((slug, order_id, n)): Path<(String, String, i64)>,
    RawQuery(query): RawQuery,
    request: Request,
) -> PageResult {
    let target = PortalTarget::File(n);
    let (_, detail) = open_signed(&state, &slug, &order_id, target, query.as_deref()).await?;
    let file = detail.files.iter().find(|f| f.position == n).ok_or(PageError::LinkNotFound)?;
    let paid_at = detail.order.created_at;
    let answer = ranged::decide(request.headers(), &served(file, paid_at));
    if let Some(redirect) = offloaded(&state.blobs, request.method(), &answer, file).await {
        let event = file_event(&request, &detail.order.id, file, &answer, &redirect, false, false);
        state.downloads.record(handed_over(event, &answer, file)).await;
        return Ok(redirect);
    }
    let response = serve_file(&state.blobs, request.method(), &answer, file, paid_at).await;
    let event = file_event(&request, &detail.order.id, file, &answer, &response, false, false);
    state.downloads.record(event).await;
    Ok(response)
}

/// `GET /portal/{merchant}/link/{order}/{n}`: redirect to the item's external link.
#[tracing::instrument(skip_all, fields(merchant_id = Empty, order_id = Empty, n = n))]
pub async fn link(
    State(state): State<AppState>,
    Path((slug, order_id, n)): Path<(String, String, i64)>,
    RawQuery(query): RawQuery,
    request: Request,
) -> PageResult {
    let (_, detail) = open_signed(&state, &slug, &order_id, PortalTarget::Link(n), query.as_deref()).await?;
    let item = detail.items.iter().find(|i| i.position == n && i.delivery_mode == DeliveryMode::ExternalLink);
    let url = item.and_then(|i| i.external_url.clone()).ok_or(PageError::LinkNotFound)?;
    state.downloads.record(link_event(&detail.order.id, n, client_of(&request), false)).await;
    Ok(redirect_to(&url))
}
