//! `GET /portal/{merchant}`: the customer's purchases from the shop, newest first, 20 a page;
//! the sign-in form when signed out.

use crate::domain::ShopBrand;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::sign_in::sign_in_form;
use super::{home_of, session_of, shop, signed_url};
use crate::db::merchants::Merchant;
use crate::db::orders::OrderDetail;
use crate::db::portal::{self, PageStart};
use crate::domain::{OrderStatus, PortalTarget, human_date, human_price, human_size};
use crate::http::pages::render;
use crate::http::{PageError, PageResult};
use crate::orders::contents::{DeliveredItem, DeliveredLink, delivered_items_with};
use crate::state::AppState;

/// Purchases on one page.
pub const PAGE_SIZE: usize = 20;

/// One order as the customer sees it in the portal.
pub struct Purchase {
    /// Short order reference, as in the purchase email.
    pub reference: String,
    /// Payment date.
    pub paid_on: String,
    /// Amount paid.
    pub total: String,
    /// Refunded (still downloadable unless revoked).
    pub refunded: bool,
    /// Access taken back by the shop: shown, with no links.
    pub revoked: bool,
    /// Products, with signed links.
    pub items: Vec<DeliveredItem>,
    /// Signed "download all" link, for orders of two files or more.
    pub zip_url: Option<String>,
    /// Files in the order and their total size, for the "download all" button.
    pub zip_label: String,
    /// A test order (placed in test mode, nothing paid), marked as such.
    pub test: bool,
}

impl Purchase {
    fn of(state: &AppState, merchant: &Merchant, detail: &OrderDetail) -> Purchase {
        let order = &detail.order;
        let status = order.status;
        let revoked = status == OrderStatus::Revoked;
        let items = if revoked {
            // Names only: a revoked order shows what it was, and no way to download it.
            delivered_items_with(detail, |_| String::new())
        } else {
            delivered_items_with(detail, |link| match link {
                DeliveredLink::File(n) => signed_url(state, merchant, &order.id, PortalTarget::File(n)),
                DeliveredLink::External(n) => signed_url(state, merchant, &order.id, PortalTarget::Link(n)),
            })
        };
        let total_size: i64 = detail.files.iter().map(|f| f.size).sum();
        Purchase {
            reference: order.id.rsplit('-').next().unwrap_or(&order.id).to_uppercase(),
            paid_on: human_date(order.created_at),
            total: human_price(order.amount_minor, &order.currency),
            refunded: status == OrderStatus::Refunded,
            revoked,
            items,
            zip_url: (!revoked && detail.files.len() > 1)
                .then(|| signed_url(state, merchant, &order.id, PortalTarget::Zip)),
            zip_label: format!("{} files, {}", detail.files.len(), human_size(total_size)),
            test: order.test,
        }
    }
}

#[derive(Template)]
#[template(path = "portal/purchases.html")]
struct PurchasesPage<'a> {
    merchant: &'a str,
    brand: ShopBrand,
    email: &'a str,
    purchases: Vec<Purchase>,
    home: String,
    older_href: Option<String>,
    paged: bool,
}

/// `?before={created_at}.{id}`: the page after that order.
#[derive(Deserialize)]
pub struct PageQuery {
    before: Option<String>,
}

fn parse_start(raw: &str) -> Option<PageStart> {
    let (at, id) = raw.split_once('.')?;
    Some(PageStart { created_at: at.parse().ok()?, id: id.to_owned() })
}

/// `GET /portal/{merchant}`
#[tracing::instrument(skip_all, fields(merchant_id = tracing::field::Empty))]
pub async fn home(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<PageQuery>,
    jar: CookieJar,
) -> PageResult {
    let merchant = shop(&state, &slug).await?;
    let customer = match session_of(&state, &jar, &merchant).await? {
        Some(session) => {
            portal::customer(&state.db, &merchant.id, &session.subject_id).await.map_err(PageError::internal)?
        }
        None => None,
    };
    let Some(customer) = customer else {
        return Ok(sign_in_form(&state, jar, &merchant));
    };
    let start = query.before.as_deref().and_then(parse_start);
    let page = portal::purchases(&state.db, &merchant.id, &customer.id, start.as_ref(), PAGE_SIZE as i64 + 1).await;
    let mut details = page.map_err(PageError::internal)?;
    let more = details.len() > PAGE_SIZE;
    details.truncate(PAGE_SIZE);
    let home = home_of(&merchant);
    let older_href = details
        .last()
        .filter(|_| more)
        .map(|last| format!("{home}?before={}.{}", last.order.created_at, last.order.id));
    let page = PurchasesPage {
        merchant: &merchant.name,
        brand: merchant.brand(""),
        email: &customer.email,
        purchases: details.iter().map(|d| Purchase::of(&state, &merchant, d)).collect(),
        home,
        older_href,
        paged: start.is_some(),
    };
    Ok(render(StatusCode::OK, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_starts_read_time_and_id() {
        let start = parse_start("1712345678901.0192-abc").unwrap();
        assert_eq!(start, PageStart { created_at: 1_712_345_678_901, id: "0192-abc".into() });
        assert!(parse_start("x.0192").is_none());
        assert!(parse_start("1712345678901").is_none());
    }
}
