//! `GET|HEAD /d/{token}/zip`: "Download all" on the delivery page, the same ZIP as the
//! customer portal's ([`crate::http::portal::zip::archive`]).
//!
//! Unlike the portal, the email link applies the order's download policy: the ZIP counts as
//! one download of each file. On a capped order every file must have a download left, or the
//! ZIP is refused (410) and nothing is used up. Like the portal's, it holds each item's latest
//! release only ([`crate::orders::versions::latest_only`]); earlier releases stay one by one.

use axum::extract::{Path, Request, State};
use axum::http::Method;
use tracing::field::Empty;

use super::{admit, cap, client_of, find, refused};
use crate::db::{merchants, releases};
use crate::http::portal::zip::{archive, archive_events};
use crate::http::{PageError, PageResult};
use crate::orders::versions::latest_only;
use crate::state::AppState;

/// `GET|HEAD /d/{token}/zip`
#[tracing::instrument(skip_all, fields(order_id = Empty))]
pub async fn download_all(State(state): State<AppState>, Path(token): Path<String>, request: Request) -> PageResult {
    let found = find(&state, &token).await?;
    let owned = releases::owned_by(&state.db, &[found.order.id.as_str()]).await.map_err(PageError::internal)?;
    let detail = latest_only(&found, &owned);
    if detail.files.is_empty() {
        return Err(PageError::LinkNotFound);
    }
    let head = request.method() == Method::HEAD;
    let mut admitted = admit(&state, &detail).await;
    if admitted.is_ok() && !head {
        admitted = cap::count_all(&state.db, &detail).await;
    }
    if let Err(error) = admitted {
        if !error.status().is_client_error() {
            return Err(error);
        }
        return Err(refused(&state, &detail.order.id, (None, None), client_of(&request), error).await);
    }
    let merchant = merchants::get(&state.db, &detail.order.merchant_id).await.map_err(PageError::internal)?;
    if !head {
        crate::sharing::counted(&state, &detail, &client_of(&request)).await;
        for event in archive_events(&detail, client_of(&request), true) {
            state.downloads.record(event).await;
        }
    }
    Ok(archive(&state.blobs, &merchant.slug, &detail, head))
}
