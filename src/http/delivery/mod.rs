//! `/d/{token}…`: the customer's per-order delivery page, file downloads and link redirect.
//!
//! Unknown, tampered and revoked tokens all get the same 404 page (no oracle); an expired link
//! or a used-up download count gets 410 with a way back through the customer portal.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::db::merchants;
use std::sync::Arc;

use crate::db::orders::OrderDetail;
use crate::delivered::{DeliveredItem, delivered_items};
use crate::domain::{DeliveryMode, OrderStatus, SecretHash, human_date, human_date_time, now_millis};
use crate::download_log::DownloadEvent;
use crate::http::pages::render;

mod cap;
mod download;
pub use download::{client_of, download, file_event, serve_file, served};

#[derive(Template)]
#[template(path = "delivery/page.html")]
struct DeliveryPage {
    merchant: String,
    paid_on: String,
    expires_on: Option<String>,
    items: Vec<DeliveredItem>,
    portal_href: String,
}

#[derive(Template)]
#[template(path = "delivery/not_found.html")]
pub(crate) struct NotFoundPage;

#[derive(Template)]
#[template(path = "delivery/gone.html")]
struct GonePage {
    merchant: String,
    headline: &'static str,
    explanation: &'static str,
    portal_href: String,
}

/// Why a delivery request is refused.
pub enum Refusal {
    /// 404: unknown, tampered or revoked.
    NotFound,
    /// 410: the link expired.
    Expired {
        /// Merchant slug, for the portal link.
        merchant_id: String,
    },
    /// 410: the download count is used up.
    UsedUp {
        /// Merchant id, for the portal link.
        merchant_id: String,
    },
    /// 500.
    Internal(anyhow::Error),
}

impl From<crate::db::DbError> for Refusal {
    fn from(e: crate::db::DbError) -> Refusal {
        Refusal::Internal(e.into())
    }
}

impl Refusal {
    /// The page for this refusal.
    pub async fn into_page(self, state: &AppState) -> Response {
        let (merchant_id, headline, explanation) = match self {
            Refusal::NotFound => return render(StatusCode::NOT_FOUND, &NotFoundPage),
            Refusal::Internal(e) => return crate::http::Error::Internal(e).into_response(),
            Refusal::Expired { merchant_id } => (
                merchant_id,
                "This download link has expired",
                "Links in purchase emails from this shop work for a limited time.",
            ),
            Refusal::UsedUp { merchant_id } => (
                merchant_id,
                "This file's download limit is reached",
                "The link in your purchase email allows a limited number of downloads per file.",
            ),
        };
        let (merchant, slug) = match merchants::get(&state.db, &merchant_id).await {
            Ok(m) => (m.name, m.slug),
            Err(_) => (String::new(), merchant_id),
        };
        let page = GonePage { merchant, headline, explanation, portal_href: format!("/portal/{slug}") };
        render(StatusCode::GONE, &page)
    }
}

/// Finds the order a token opens: only paid or refunded ones, only before the link expires.
pub async fn open(state: &AppState, token: &str) -> Result<Arc<OrderDetail>, Refusal> {
    if !token_shaped(token) {
        return Err(Refusal::NotFound);
    }
    let Some(detail) = state.order_cache.get(&state.db, SecretHash::of(token).as_str()).await? else {
        return Err(Refusal::NotFound);
    };
    if detail.order.status == OrderStatus::Revoked {
        return Err(Refusal::NotFound);
    }
    if detail.order.link_expires_at.is_some_and(|at| at <= now_millis()) {
        return Err(Refusal::Expired { merchant_id: detail.order.merchant_id.clone() });
    }
    Ok(detail)
}

/// Whether `token` has the shape of a download token: 43 base64url characters (256 bits).
/// Anything else cannot match, so the lookup is skipped.
pub(crate) fn token_shaped(token: &str) -> bool {
    token.len() == 43 && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `GET /d/{token}`: what the order delivers.
pub async fn page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let detail = match open(&state, &token).await {
        Ok(detail) => detail,
        Err(refusal) => return refusal.into_page(&state).await,
    };
    let merchant = match merchants::get(&state.db, &detail.order.merchant_id).await {
        Ok(m) => m,
        Err(e) => return Refusal::from(e).into_page(&state).await,
    };
    let page = DeliveryPage {
        merchant: merchant.name,
        paid_on: human_date(detail.order.created_at),
        expires_on: detail.order.link_expires_at.map(human_date_time),
        items: delivered_items(&detail, &format!("/d/{token}")),
        portal_href: format!("/portal/{}", merchant.slug),
    };
    render(StatusCode::OK, &page)
}

/// `GET /d/{token}/link`: the first external link of the order.
pub async fn first_link(
    State(state): State<AppState>,
    Path(token): Path<String>,
    request: axum::extract::Request,
) -> Response {
    redirect(&state, &token, None, download::client_of(&request)).await
}

/// `GET /d/{token}/link/{n}`: the external link of the order's n-th product.
pub async fn nth_link(
    State(state): State<AppState>,
    Path((token, n)): Path<(String, i64)>,
    request: axum::extract::Request,
) -> Response {
    redirect(&state, &token, Some(n), download::client_of(&request)).await
}

async fn redirect(state: &AppState, token: &str, n: Option<i64>, (ip, user_agent): (String, String)) -> Response {
    let detail = match open(state, token).await {
        Ok(detail) => detail,
        Err(refusal) => return refusal.into_page(state).await,
    };
    let item = detail.items.iter().find(|i| {
        i.delivery_mode == DeliveryMode::ExternalLink && i.external_url.is_some() && n.is_none_or(|n| i.position == n)
    });
    let Some(item) = item else {
        return Refusal::NotFound.into_page(state).await;
    };
    let url = item.external_url.clone().unwrap_or_default();
    state.downloads.record(link_event(&detail.order.id, item.position, (ip, user_agent), true)).await;
    redirect_to(&url)
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
